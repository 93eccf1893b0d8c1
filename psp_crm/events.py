"""Live events: sent after commit, from services only, carrying ids and a verb (no patient data).

A failed push (Redis down, no layer) is logged and never fails the write that caused it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

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


def is_client_group(group: str) -> bool:
    return group.startswith("program.") and group.endswith(".client")


def aggregate_message(message: dict) -> dict:
    """What a pharma client's socket may receive: that a program's aggregates changed, no ids."""
    return {"verb": "aggregates.changed", "program": message.get("program")}


def _push(groups: list[str], message: dict) -> None:
    """Append the event to the replay log, then fan it out; failures are logged, never raised."""
    from .realtime.replay import replay_log

    client_groups = [g for g in groups if is_client_group(g)]
    other_groups = [g for g in groups if not is_client_group(g)]
    batches = [(other_groups, message)]
    if client_groups:
        batches.append((client_groups, aggregate_message(message)))
    for batch_groups, batch_message in batches:
        if not batch_groups:
            continue
        try:
            event_id = replay_log().append(batch_groups, batch_message)
            batch_message = {**batch_message, "id": event_id}
        except Exception:  # the log is a convenience: a client that misses an event re-syncs
            logger.exception("live event %s could not be logged for replay", message.get("verb"))
        try:
            _run_outside_event_loop(_group_send_all, batch_groups, batch_message)
        except Exception:  # a failed push must never lose the saved record
            logger.exception("live event %s could not be pushed", message.get("verb"))


def _group_send_all(groups: list[str], message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    send = async_to_sync(layer.group_send)
    for group in groups:
        send(group, {"type": "live.event", **message})


def _run_outside_event_loop(func, *args) -> None:
    """async_to_sync refuses a thread that runs an event loop (e.g. sync code called from an
    async context): hand the call to a short-lived worker thread there."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        func(*args)
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(func, *args).result(timeout=10)


def send_event_on_commit(verb: str, *, groups: Iterable[str], **ids: int | str | None) -> None:
    """Schedule a live event for after the current transaction commits."""
    message = {"verb": verb, **{k: v for k, v in ids.items() if v is not None}}
    group_list = sorted(set(groups))
    transaction.on_commit(lambda: _push(group_list, message))
