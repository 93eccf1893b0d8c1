"""Which live streams (channel-layer groups) a user may follow, computed from the access policy.

The browser never names its groups: the consumer asks this module on connect. Events carry ids and
a verb only; the page re-fetches what changed through its permission-checked view.
"""

from __future__ import annotations

from .. import access
from ..events import enrolment_group, operator_group, program_client_group, program_control_group
from ..models import Operator, User

# Verbs after which a connected socket recomputes its streams (someone gained or lost access).
MEMBERSHIP_VERBS = frozenset(
    {"delegation.granted", "delegation.revoked", "enrolment.care_team_changed", "access.changed"}
)


def streams_for(user: User) -> set[str]:
    """Every group this user may follow, across all the roles they play."""
    roles = access.roles_of(user)
    groups: set[str] = set()
    if "provider_staff" in roles:
        programs = access.programs_for(user, "manage_program").values_list("pk", flat=True)
        groups.update(program_control_group(pk) for pk in programs)
    if "client" in roles:
        programs = access.programs_for(user, "view_program_kpis").values_list("pk", flat=True)
        groups.update(program_client_group(pk) for pk in programs)
    if "operator" in roles:
        operator = user.operator_profile
        groups.add(operator_group(operator.pk))
        if operator.role in Operator.PROGRAM_WIDE_ROLES:
            # A counsellor sees every patient of the programs she staffs.
            staffed = access.programs_for(user, "staff_program").values_list("pk", flat=True)
            groups.update(program_control_group(pk) for pk in staffed)
        elif operator.is_clinical:
            ids = access.enrolments_for(user, role="operator").values_list("pk", flat=True)
            groups.update(enrolment_group(pk) for pk in ids)
    for role in ("doctor", "patient", "caregiver"):
        if role in roles:
            ids = access.enrolments_for(user, role=role).values_list("pk", flat=True)
            groups.update(enrolment_group(pk) for pk in ids)
    return groups
