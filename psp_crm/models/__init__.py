"""The shared CRM model: every portal, the API and the engines use these."""

from .activities import Activity
from .audit import AuditEvent
from .devices import Device, DeviceEvent
from .diary import DiaryEntry
from .engagement import BadgeAward, Notification, PointsAward
from .enrolments import (
    Consent,
    Enrolment,
    EnrolmentGroupObjectPermission,
    EnrolmentUserObjectPermission,
)
from .interactions import Case, Interaction
from .organizations import Organization, Product
from .people import (
    Caregiver,
    ClientUser,
    Delegation,
    Doctor,
    Operator,
    Patient,
    ProviderStaff,
    User,
)
from .programs import (
    CarePathwayStep,
    Program,
    ProgramGroupObjectPermission,
    ProgramTemplate,
    ProgramUserObjectPermission,
    ServiceModule,
)
from .reports import Report, ReportAttachment, ReportReceipt
from .safety import AdverseEvent

__all__ = [
    "Activity",
    "AdverseEvent",
    "AuditEvent",
    "BadgeAward",
    "CarePathwayStep",
    "Caregiver",
    "Case",
    "ClientUser",
    "Consent",
    "Delegation",
    "Device",
    "DeviceEvent",
    "DiaryEntry",
    "Doctor",
    "Enrolment",
    "EnrolmentGroupObjectPermission",
    "EnrolmentUserObjectPermission",
    "Interaction",
    "Notification",
    "Operator",
    "Organization",
    "Patient",
    "PointsAward",
    "Product",
    "Program",
    "ProgramGroupObjectPermission",
    "ProgramTemplate",
    "ProgramUserObjectPermission",
    "ProviderStaff",
    "Report",
    "ReportAttachment",
    "ReportReceipt",
    "ServiceModule",
    "User",
]
