"""Websocket routes. The live-updates consumer arrives with the live-updates issue."""

websocket_urlpatterns: list = []
