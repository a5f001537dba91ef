"""docs/topics/concepts.rst: its picture, and the scope and nesting it describes."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any, ClassVar

import pytest
from django.urls import path

from channels_lite import auth, routing
from channels_lite.generic.websocket import AsyncWebsocketConsumer
from channels_lite.routing import URLRouter
from channels_lite.security import websocket as security
from channels_lite.testing import WebsocketCommunicator
from tests.docs._examples import DOCS, example

PAGE = DOCS / "topics" / "concepts.rst"
PICTURE = DOCS / "images" / "concepts.svg"
SVG = "{http://www.w3.org/2000/svg}"
# The parts of the stack the picture and the page name, as the code calls them.
STACK = [
    "ProtocolTypeRouter",
    "AllowedHostsOriginValidator",
    "AuthMiddlewareStack",
    "URLRouter",
]


def test_picture_is_svg_naming_the_real_stack() -> None:
    root = ET.parse(PICTURE).getroot()
    assert root.tag == f"{SVG}svg"
    text = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    for name in STACK:
        assert name in text
        assert any(hasattr(m, name) for m in (auth, routing, security)), name
    assert "python -m channels_lite.serve" in text


def test_page_shows_the_picture_with_alt_text() -> None:
    page = PAGE.read_text()
    assert ".. image:: ../images/concepts.svg\n   :alt: " in page


def test_page_walks_the_stack_in_the_tutorials_order() -> None:
    source = example("chatsite/mysite/asgi.py").read_text()
    application = source[source.index("application = ") :]
    in_code = sorted(STACK, key=application.index)
    steps = re.findall(r"^\d\. :\w+:`~[\w.]+\.(\w+)`", PAGE.read_text(), re.M)
    assert steps == in_code == STACK


class ScopeProbe(AsyncWebsocketConsumer):
    """Send back the scope keys it was given."""

    seen: ClassVar[list[dict[str, Any]]] = []

    async def connect(self) -> None:
        self.seen.append(dict(self.scope))
        await self.accept()


@pytest.mark.django_db
async def test_the_stack_adds_what_the_page_says_to_the_scope() -> None:
    stack = security.AllowedHostsOriginValidator(
        auth.AuthMiddlewareStack(
            URLRouter(
                [path("ws/chat/<slug:room_name>/", ScopeProbe.as_asgi())],
            )
        )
    )
    communicator = WebsocketCommunicator(
        stack, "/ws/chat/lobby/", headers=[(b"origin", b"http://localhost")]
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.disconnect()
    [scope] = ScopeProbe.seen
    for key in ("type", "path", "query_string", "headers"):
        assert key in scope, key
    for key in ("cookies", "session", "user", "url_route"):
        assert key in scope, key
    assert scope["url_route"]["kwargs"] == {"room_name": "lobby"}
