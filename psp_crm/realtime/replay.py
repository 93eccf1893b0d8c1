"""The bounded replay log: every live event, kept for a while so a reconnecting client catches up.

One ordered log for all groups (a Redis stream when ``REDIS_URL`` is set, so every server process
shares it; a process-local deque otherwise). An event's id is its position in that log; a client
resumes from the last id it saw and receives, filtered to the groups it may follow, what it missed.
When its id is older than what the log still holds, the answer is "resync": re-render the page.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

STREAM_KEY = "psp:live:events"


def parse_id(event_id: str | None) -> tuple[int, int] | None:
    """``"1700000000000-3"`` → ``(1700000000000, 3)``; None for anything malformed."""
    if not event_id:
        return None
    ms, _, seq = str(event_id).partition("-")
    try:
        return int(ms), int(seq or 0)
    except ValueError:
        return None


class MemoryReplayLog:
    """A process-local log for the embedded default (one server process)."""

    def __init__(self, maxlen: int) -> None:
        self.entries: deque[tuple[tuple[int, int], str, list[str], dict[str, Any]]] = deque(
            maxlen=maxlen
        )
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    def append(self, groups: list[str], message: dict[str, Any]) -> str:
        with self.lock:
            key = (next(self.counter), 0)
            event_id = f"{key[0]}-0"
            self.entries.append((key, event_id, groups, message))
            return event_id

    def since(self, groups: Iterable[str], after: str) -> list[dict[str, Any]] | None:
        start = parse_id(after)
        if start is None:
            return None
        wanted = set(groups)
        with self.lock:
            entries = list(self.entries)
        if entries and entries[0][0] > start and len(entries) == self.entries.maxlen:
            return None  # the log no longer holds everything after ``after``
        return [
            {**message, "id": event_id}
            for key, event_id, event_groups, message in entries
            if key > start and wanted.intersection(event_groups)
        ]


class RedisReplayLog:
    """A Redis stream shared by every server process, trimmed to exactly ``maxlen`` entries."""

    def __init__(self, url: str, maxlen: int) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.maxlen = maxlen

    def append(self, groups: list[str], message: dict[str, Any]) -> str:
        fields = {"groups": json.dumps(groups), "message": json.dumps(message)}
        event_id = self.client.xadd(STREAM_KEY, fields, maxlen=self.maxlen, approximate=False)
        return event_id.decode() if isinstance(event_id, bytes) else str(event_id)

    def since(self, groups: Iterable[str], after: str) -> list[dict[str, Any]] | None:
        start = parse_id(after)
        if start is None:
            return None
        oldest = self.client.xrange(STREAM_KEY, count=1)
        if oldest:
            oldest_id = parse_id(oldest[0][0].decode())
            length = self.client.xlen(STREAM_KEY)
            if oldest_id is not None and oldest_id > start and length >= self.maxlen:
                return None
        wanted = set(groups)
        replay = []
        for raw_id, fields in self.client.xrange(
            STREAM_KEY, min=f"({start[0]}-{start[1]}", max="+"
        ):
            event_groups = json.loads(fields[b"groups"])
            if wanted.intersection(event_groups):
                replay.append({**json.loads(fields[b"message"]), "id": raw_id.decode()})
        return replay


_log: MemoryReplayLog | RedisReplayLog | None = None
_log_lock = threading.Lock()


def replay_log() -> MemoryReplayLog | RedisReplayLog:
    """The process's replay log, built from settings on first use."""
    global _log
    with _log_lock:
        if _log is None:
            maxlen = getattr(settings, "PSP_LIVE_REPLAY_MAXLEN", 10_000)
            url = getattr(settings, "REDIS_URL", "")
            _log = RedisReplayLog(url, maxlen) if url else MemoryReplayLog(maxlen)
        return _log


def reset_replay_log() -> None:
    """Forget the current log (tests switch settings between runs)."""
    global _log
    with _log_lock:
        _log = None
