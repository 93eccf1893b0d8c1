"""allauth adapter: accounts are created by the provider, never by open sign-up."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter


class InvitationOnlyAccountAdapter(DefaultAccountAdapter):
    """Patients, doctors and operators are enrolled by the provider; nobody signs up alone."""

    def is_open_for_signup(self, request) -> bool:
        return False
