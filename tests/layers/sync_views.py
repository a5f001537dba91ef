"""A sync view that sends to a channel layer group, as a project's view would."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path

from channels_lite.layers import get_channel_layer


def notify(request: HttpRequest) -> HttpResponse:
    """Tell the ``room`` group about this request."""
    layer = get_channel_layer()
    if layer is None:
        return HttpResponse("no layer", status=503)
    async_to_sync(layer.group_send)(
        "room", {"type": "chat.message", "n": int(request.GET["n"])}
    )
    return HttpResponse("sent")


urlpatterns: list[URLPattern] = [path("notify/", notify)]
