"""The chat's pages: pick a room, then the room itself."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def index(request: HttpRequest) -> HttpResponse:
    """Render the form that picks a room and a name."""
    return render(request, "chat/index.html")


def room(request: HttpRequest, room_name: str) -> HttpResponse:
    """Render a room; its JavaScript connects the websocket."""
    return render(request, "chat/room.html", {"room_name": room_name})
