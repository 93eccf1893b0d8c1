"""The shared CRM model: every portal, the API and the engines use these."""

from .activities import Activity
from .analytics import AdherenceSnapshot, ProgramAnalyticsSettings, RiskModelVersion
from .audit import AuditEvent
from .devices import Device, DeviceEvent
from .diary import DiaryEntry
from .engagement import BadgeAward, PointsAward
from .enrolments import (
    Consent,
    Enrolment,
    EnrolmentGroupObjectPermission,
    EnrolmentUserObjectPermission,
)
from .interactions import CallScript, Case, Interaction
from .messaging import (
    Channel,
    ChannelPreference,
    ContactPreferences,
    InboundSms,
    Language,
    Message,
    MessageTemplate,
    Purpose,
)
from .notes import DoctorNote
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
from .scheduling import EnrolmentSchedule, OperatorAbsence

__all__ = [
    "Activity",
    "AdherenceSnapshot",
    "AdverseEvent",
    "AuditEvent",
    "BadgeAward",
    "CallScript",
    "CarePathwayStep",
    "Caregiver",
    "Case",
    "Channel",
    "ChannelPreference",
    "ClientUser",
    "Consent",
    "ContactPreferences",
    "Delegation",
    "Device",
    "DeviceEvent",
    "DiaryEntry",
    "Doctor",
    "DoctorNote",
    "Enrolment",
    "EnrolmentGroupObjectPermission",
    "EnrolmentSchedule",
    "EnrolmentUserObjectPermission",
    "InboundSms",
    "Interaction",
    "Language",
    "Message",
    "MessageTemplate",
    "Operator",
    "OperatorAbsence",
    "Organization",
    "Patient",
    "PointsAward",
    "Product",
    "Program",
    "ProgramAnalyticsSettings",
    "ProgramGroupObjectPermission",
    "ProgramTemplate",
    "ProgramUserObjectPermission",
    "ProviderStaff",
    "Purpose",
    "Report",
    "ReportAttachment",
    "ReportReceipt",
    "RiskModelVersion",
    "ServiceModule",
    "User",
]
