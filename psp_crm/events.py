"""Live events: sent after commit, from services only, carrying ids and a verb (no patient data).

A failed push (Redis down, no layer) is logged and never fails the write that caused it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def enrolment_group(enrolment_id: int) -> str:
    return f"enrolment.{enrolment_id}"


def operator_group(operator_id: int) -> str:
    return f"operator.{operator_id}"


def program_control_group(program_id: int) -> str:
    return f"program.{program_id}.control"


def program_client_group(program_id: int) -> str:
    return f"program.{program_id}.client"


def _push(groups: list[str], message: dict) -> None:
    try:
        layer = get_channel_layer()
        if layer is None:
            return
        send = async_to_sync(layer.group_send)
        for group in groups:
            send(group, {"type": "live.event", **message})
    except Exception:  # a failed push must never lose the saved record
        logger.exception("live event %s could not be pushed", message.get("verb"))


def send_event_on_commit(verb: str, *, groups: Iterable[str], **ids: int | str | None) -> None:
    """Schedule a live event for after the current transaction commits."""
    message = {"verb": verb, **{k: v for k, v in ids.items() if v is not None}}
    group_list = sorted(set(groups))
    transaction.on_commit(lambda: _push(group_list, message))
