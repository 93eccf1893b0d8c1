"""Adherence analytics (PDC, dose timing, MPR, persistence), program KPIs and risk profiles.

Definitions live in ``docs/analytics.md``; every function here reads many enrolments per query.
"""
