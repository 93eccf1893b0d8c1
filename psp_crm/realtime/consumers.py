"""The one websocket endpoint, `/ws/live/`: session-authenticated, streams chosen by the server."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .replay import replay_log
from .streams import MEMBERSHIP_VERBS, streams_for

logger = logging.getLogger(__name__)

UNAUTHENTICATED = 4401


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Pushes ``{id, verb, ...ids}`` for every event on the streams the user may follow."""

    groups_joined: set[str]

    async def connect(self) -> None:
        self.groups_joined = set()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        await self.accept()
        await self._sync_groups()
        after = parse_qs(self.scope.get("query_string", b"").decode()).get("after", [""])[0]
        if after:
            await self._replay(after)
        await self.send_json({"type": "hello", "streams": len(self.groups_joined)})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", set()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def live_event(self, event: dict) -> None:
        """A message from the channel layer (``type: live.event``)."""
        message = {k: v for k, v in event.items() if k != "type"}
        await self.send_json({"type": "event", **message})
        if message.get("verb") in MEMBERSHIP_VERBS:
            await self._sync_groups()

    async def _sync_groups(self) -> None:
        wanted = await database_sync_to_async(streams_for)(self.scope["user"])
        for group in wanted - self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        for group in self.groups_joined - wanted:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = wanted

    async def _replay(self, after: str) -> None:
        try:
            missed = await database_sync_to_async(replay_log().since)(
                sorted(self.groups_joined), after
            )
        except Exception:  # the replay log being down must not kill the socket
            logger.exception("replay log unavailable")
            missed = None
        if missed is None:
            await self.send_json({"type": "resync"})
            return
        for message in missed:
            await self.send_json({"type": "event", "replayed": True, **message})
