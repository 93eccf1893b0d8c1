"""Demo message templates (provider-wide defaults, Italian and English) and contact choices.

The demo world builder calls ``create_message_templates()`` once and
``create_demo_contact_choices(patient)`` for the named patients. Both are idempotent.
"""

from __future__ import annotations

from ..messaging.templates import validate_template
from ..models import Channel, Consent, MessageTemplate, Patient, Purpose

# (subject, body) per purpose and language. Short texts suit SMS and push; e-mail and in-app
# use the same words with a subject.
_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    Purpose.DOSE_REMINDER: {
        "it": (
            "Promemoria dose",
            "Ciao {first_name}, è ora della dose di {product} ({dose}). "
            "Rispondi OK quando l'hai presa.",
        ),
        "en": (
            "Dose reminder",
            "Hi {first_name}, it is time for your dose of {product} ({dose}). "
            "Reply OK once you have taken it.",
        ),
    },
    Purpose.ACTIVITY_CONFIRMATION: {
        "it": (
            "Conferma l'appuntamento: {activity}",
            "Ciao {first_name}, {activity} è previsto il {date} tra le {window} "
            "(programma {program}). Confermalo o chiedi di cambiarlo nell'app o nel portale.",
        ),
        "en": (
            "Please confirm: {activity}",
            "Hi {first_name}, {activity} is planned on {date} between {window} "
            "({program} program). Confirm it or ask to change it in the app or the portal.",
        ),
    },
    Purpose.ACTIVITY_RESCHEDULED: {
        "it": (
            "Appuntamento spostato: {activity}",
            "Ciao {first_name}, {activity} è stato spostato al {date} alle {time} "
            "(fascia {window}). Confermalo o chiedi di cambiarlo nell'app o nel portale.",
        ),
        "en": (
            "Appointment moved: {activity}",
            "Hi {first_name}, {activity} has moved to {date} at {time} ({window}). "
            "Confirm it or ask to change it in the app or the portal.",
        ),
    },
    Purpose.REPORT_NOTIFICATION: {
        "it": (
            "Nuova risposta da {author}",
            "Ciao {first_name}, {author} ha risposto: “{report_title}”. "
            "Leggi la risposta nell'app del programma {program}.",
        ),
        "en": (
            "New reply from {author}",
            "Hi {first_name}, {author} replied: “{report_title}”. Read it in the {program} app.",
        ),
    },
    Purpose.CASE_UPDATE: {
        "it": (
            "Aggiornamento della tua richiesta",
            "Ciao {first_name}, la tua richiesta “{case}” è ora: {status}.",
        ),
        "en": (
            "Update on your request",
            "Hi {first_name}, your request “{case}” is now: {status}.",
        ),
    },
    Purpose.GENERAL: {
        "it": ("Un messaggio dal team di {program}", "{text}"),
        "en": ("A message from the {program} team", "{text}"),
    },
}
# SMS words where the patient answers by replying (``services.appointments.answer_in_sms``).
_SMS_TEXTS: dict[str, dict[str, str]] = {
    Purpose.ACTIVITY_CONFIRMATION: {
        "it": "Ciao {first_name}, {activity} il {date} tra le {window} (programma {program}). "
        "Rispondi SI per confermare o NO per cambiarlo.",
        "en": "Hi {first_name}, {activity} on {date} between {window} ({program} program). "
        "Reply YES to confirm or NO to change it.",
    },
    Purpose.ACTIVITY_RESCHEDULED: {
        "it": "Ciao {first_name}, {activity} è stato spostato al {date} alle {time} "
        "(fascia {window}). Rispondi SI per confermare o NO per cambiarlo.",
        "en": "Hi {first_name}, {activity} has moved to {date} at {time} ({window}). "
        "Reply YES to confirm or NO to change it.",
    },
}


def create_message_templates() -> int:
    """Provider-wide default templates for every purpose × channel in Italian and English.

    Existing defaults are left as they are (staff may have edited them); returns how many
    were created.
    """
    created = 0
    for purpose, languages in _TEXTS.items():
        for language, (subject, body) in languages.items():
            validate_template(subject, body, purpose)
            for channel in Channel.values:
                text = body
                if channel == Channel.SMS:
                    text = _SMS_TEXTS.get(purpose, {}).get(language, body)
                    validate_template(subject, text, purpose)
                _row, made = MessageTemplate.objects.get_or_create(
                    program=None,
                    purpose=purpose,
                    channel=channel,
                    language=language,
                    defaults={"subject": subject, "body": text},
                )
                created += made
    return created


def create_demo_contact_choices(patient: Patient) -> Consent | None:
    """Give a patient with a login the push-notification consent (once)."""
    if not patient.user_id:
        return None
    consent, _made = Consent.objects.get_or_create(
        patient=patient,
        kind=Consent.Kind.CHANNEL_PUSH,
        withdrawn_at__isnull=True,
        defaults={"document_version": "app v1.0"},
    )
    return consent
