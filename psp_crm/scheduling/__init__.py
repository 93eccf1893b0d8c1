"""The scheduling engine: care pathways → activities over a rolling horizon.

- ``rules``: what makes a pathway step valid (RRULE, anchors, windows, cycles).
- ``expansion``: the occurrences of a step (numbered from 1, like the demo seed).
- ``assignment``: who performs an activity (role, staffing, territory, skills, capacity).
- ``engine``: set-based materialization and re-planning, idempotent by a database constraint.
"""
