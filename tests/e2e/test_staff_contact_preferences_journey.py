"""Staff contact-choices journey: Anna phones the provider and asks to be reminded earlier, in
English, and never by SMS. ops@curaplus.example changes it in the admin (a wrong reminder time is
refused on its field first); Anna then sees her new choices on her own preferences page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from psp_crm.models import AuditEvent, ChannelPreference, ContactPreferences, Patient

pytestmark = pytest.mark.browser


def _pick_patient(page, term: str) -> None:
    """Choose a patient in the admin's autocomplete (select2) field."""
    page.locator(".field-patient .select2-selection").click()
    page.locator(".select2-search__field").fill(term)
    page.locator(".select2-results__option", has_text=term).first.click()


def test_ops_changes_annas_contact_choices_and_she_sees_them(sign_in, second_page, live_server):
    anna = Patient.objects.get(user__email="anna.conti@example.com")
    page = sign_in("ops@curaplus.example")
    page.goto(f"{live_server.url}/admin/psp_crm/contactpreferences/add/")
    _pick_patient(page, "Conti")
    page.select_option("select[name=language]", "en")
    page.fill("input[name=quiet_start]", "22:00")
    page.fill("input[name=quiet_end]", "07:00")
    page.fill("input[name=reminder_time]", "06:30")
    page.locator("input[name=_save]").click()
    expect(page.locator(".field-reminder_time .errorlist")).to_contain_text(
        "outside the quiet hours"
    )
    assert not ContactPreferences.objects.filter(patient=anna).exists()

    page.fill("input[name=reminder_time]", "07:30")
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist .success")).to_be_visible()
    prefs = ContactPreferences.objects.get(patient=anna)
    assert (prefs.language, prefs.reminder_time.strftime("%H:%M")) == ("en", "07:30")

    page.goto(f"{live_server.url}/admin/psp_crm/channelpreference/add/")
    _pick_patient(page, "Conti")
    page.select_option("select[name=purpose]", "dose_reminder")
    page.select_option("select[name=channel]", "sms")
    page.uncheck("input[name=enabled]")
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist .success")).to_be_visible()
    assert not ChannelPreference.objects.get(patient=anna, purpose="dose_reminder").enabled
    assert (
        AuditEvent.objects.filter(
            patient=anna, verb__in=("contact_preferences.update", "channel_preference.set")
        ).count()
        == 2
    )

    mine = second_page("anna.conti@example.com")
    mine.get_by_role("link", name="Contact preferences").click()
    expect(mine.locator("input[name='contact-reminder_time']")).to_have_value("07:30")
    expect(mine.locator("select[name='contact-language']")).to_have_value("en")
    expect(mine.locator("input[name='grid-dose_reminder__sms']")).not_to_be_checked()
