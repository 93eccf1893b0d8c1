"""Message templates: the variables a purpose offers, validation, lookup order and rendering."""

from __future__ import annotations

import pytest
from django.urls import reverse

from psp_crm.demo.messaging import create_message_templates
from psp_crm.errors import DomainError
from psp_crm.messaging.templates import (
    VARIABLES,
    TemplateVariableMissing,
    find_template,
    render,
    template_variables,
    validate_template,
)
from psp_crm.models import Channel, MessageTemplate, Purpose
from tests.factories import ProgramFactory, build_world


def _template(program=None, language="it", body="x", **kw) -> MessageTemplate:
    return MessageTemplate.objects.create(
        program=program,
        purpose=kw.pop("purpose", Purpose.DOSE_REMINDER),
        channel=kw.pop("channel", Channel.SMS),
        language=language,
        body=body,
        **kw,
    )


@pytest.fixture
def no_templates(db):
    """Start from no templates at all (the demo world may have seeded defaults)."""
    MessageTemplate.objects.all().delete()


def test_every_purpose_offers_variables():
    assert set(VARIABLES) == set(Purpose.values)
    assert VARIABLES[Purpose.DOSE_REMINDER] == {"first_name", "program", "product", "dose", "time"}
    assert "report_title" in VARIABLES[Purpose.REPORT_NOTIFICATION]


def test_template_variables_parses_placeholders():
    assert template_variables("Hi {first_name}, {{literal}} {dose:>5}") == {"first_name", "dose"}
    assert template_variables("") == set()
    with pytest.raises(ValueError):
        template_variables("Hi {first_name")


def test_validate_accepts_offered_variables():
    validate_template("Dose of {product}", "Hi {first_name}, {dose} at {time}.", "dose_reminder")


def test_unknown_variable_is_named_with_what_the_purpose_offers():
    with pytest.raises(DomainError) as caught:
        validate_template("", "Hi {first_name}, see {doctor}.", Purpose.DOSE_REMINDER)
    message = caught.value.message_dict["body"][0]
    assert message.startswith("Unknown variable {doctor}: this purpose offers")
    assert "dose, first_name, product, program, time" in message


@pytest.mark.parametrize(
    "body",
    ["Hi {first_name", "Hi {}", "Hi {first_name.__class__}", "Hi {0}", "{dose:{time}}", "a } b"],
)
def test_malformed_placeholders_are_refused(body):
    with pytest.raises(DomainError) as caught:
        validate_template("", body, Purpose.DOSE_REMINDER)
    assert "placeholder" in caught.value.message_dict["body"][0]


def test_subject_errors_land_on_the_subject():
    with pytest.raises(DomainError) as caught:
        validate_template("{nope}", "fine", Purpose.GENERAL)
    assert set(caught.value.message_dict) == {"subject"}


def test_render_fills_subject_and_body():
    template = MessageTemplate(subject="Dose {dose}", body="Ciao {first_name}, {product}.")
    context = {"first_name": "Anna", "product": "Reumetrex", "dose": "15 mg"}
    assert render(template, context) == ("Dose 15 mg", "Ciao Anna, Reumetrex.")
    assert render("Plain {first_name} {{x}}", {"first_name": "Anna"}) == ("", "Plain Anna {x}")


def test_render_does_not_reinterpret_values():
    body = render("Note: {text}", {"text": "{first_name.__class__} {0}"})[1]
    assert body == "Note: {first_name.__class__} {0}"


def test_missing_variables_are_named():
    template = MessageTemplate(subject="{dose}", body="Hi {first_name}, {product}.")
    with pytest.raises(TemplateVariableMissing) as caught:
        render(template, {"first_name": "Anna"})
    assert caught.value.missing == ["dose", "product"]
    assert "{dose}, {product}" in caught.value.message_dict["body"][0]
    assert isinstance(caught.value, DomainError)


def test_find_template_prefers_program_then_default_then_italian(no_templates):
    program, other = ProgramFactory(), ProgramFactory()
    default_it = _template(language="it", body="default it")
    program_it = _template(program=program, language="it", body="program it")
    assert find_template(program, Purpose.DOSE_REMINDER, Channel.SMS, "en") == program_it
    default_en = _template(language="en", body="default en")
    assert find_template(program, Purpose.DOSE_REMINDER, Channel.SMS, "en") == default_en
    program_en = _template(program=program, language="en", body="program en")
    assert find_template(program, Purpose.DOSE_REMINDER, Channel.SMS, "en") == program_en
    assert find_template(other, Purpose.DOSE_REMINDER, Channel.SMS, "en") == default_en
    assert find_template(None, Purpose.DOSE_REMINDER, Channel.SMS, "it") == default_it
    assert find_template(None, Purpose.DOSE_REMINDER, Channel.PUSH, "it") is None


def test_inactive_templates_are_ignored(no_templates):
    _template(body="off", is_active=False)
    assert find_template(None, Purpose.DOSE_REMINDER, Channel.SMS, "it") is None


def test_demo_templates_cover_every_purpose_channel_and_language(no_templates):
    created = create_message_templates()
    assert created == len(Purpose.values) * len(Channel.values) * 2
    assert create_message_templates() == 0
    for template in MessageTemplate.objects.all():
        validate_template(template.subject, template.body, template.purpose)
    dose = find_template(None, Purpose.DOSE_REMINDER, Channel.SMS, "it")
    assert "{product}" in dose.body and dose.body.startswith("Ciao {first_name}")


# --- the admin form -----------------------------------------------------------------------------


def test_admin_form_shows_an_unknown_variable_on_the_field(client, db):
    world = build_world()
    client.force_login(world.staff)
    url = reverse("admin:psp_crm_messagetemplate_add")
    data = {
        "purpose": Purpose.DOSE_REMINDER,
        "channel": Channel.SMS,
        "language": "it",
        "subject": "",
        "body": "Ciao {first_name}, vedi {doctor}.",
        "is_active": "on",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Unknown variable {doctor}" in errors["body"][0]
    assert not MessageTemplate.objects.filter(body=data["body"]).exists()
    data["body"] = "Ciao {first_name}, prendi {product}."
    data["program"] = world.program.pk
    response = client.post(url, data)
    assert response.status_code == 302
    assert MessageTemplate.objects.filter(program=world.program, body=data["body"]).exists()


def test_admin_hides_other_providers_program_templates(client, db):
    world = build_world()
    theirs = _template(program=world.other_program, body="theirs")
    client.force_login(world.staff)
    response = client.get(reverse("admin:psp_crm_messagetemplate_change", args=[theirs.pk]))
    assert response.status_code == 302  # the admin redirects a missing object to the index
