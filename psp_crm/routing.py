"""Websocket routes: one endpoint for every signed-in user."""

from django.urls import path

from psp_crm.realtime.consumers import LiveConsumer

websocket_urlpatterns = [path("ws/live/", LiveConsumer.as_asgi())]
