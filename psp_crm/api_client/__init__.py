"""The pharma client's JSON API (``/api/v1/client/``): aggregates only, small cells suppressed."""
