"""Writes of the domain. Every function takes the acting user first (``actor``), checks access,
validates, writes in one transaction, appends the audit row and schedules the live event."""
