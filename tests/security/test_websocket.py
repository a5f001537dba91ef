from __future__ import annotations

import logging
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, override_settings

from channels_lite.auth import AuthMiddlewareStack
from channels_lite.generic.websocket import AsyncWebsocketConsumer
from channels_lite.security.websocket import (
    AllowedHostsOriginValidator,
    OriginValidator,
    WebsocketDenier,
)
from channels_lite.testing import WebsocketCommunicator
from channels_lite.types import Scope
from tests._asgi import (
    Connection,
    Recorder,
    http_request,
    http_scope,
    websocket_connect,
    websocket_scope,
)

ACCEPT = {"type": "websocket.accept"}
DENY = {"type": "websocket.close"}


def origin_scope(*origins: str, cookie: str | None = None) -> Scope:
    headers = [(b"origin", origin.encode()) for origin in origins]
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    return websocket_scope(headers)


async def reply_for(allowed: list[str], *origins: str, **options: Any) -> Any:
    return await websocket_connect(
        OriginValidator(Recorder(), allowed, **options), origin_scope(*origins)
    )


@pytest.mark.parametrize(
    ("allowed", "origin", "expected"),
    [
        pytest.param(["example.com"], "https://example.com", ACCEPT, id="bare-host"),
        pytest.param(
            ["example.com"], "http://example.com:8000", ACCEPT, id="bare-any-port"
        ),
        pytest.param(
            ["EXAMPLE.com"], "https://example.COM", ACCEPT, id="case-insensitive"
        ),
        pytest.param(
            ["example.com"], "https://www.example.com", DENY, id="bare-no-sub"
        ),
        pytest.param(
            ["example.com"], "https://example.com.evil.org", DENY, id="suffix-attack"
        ),
        pytest.param(
            ["example.com"], "https://evilexample.com", DENY, id="prefix-attack"
        ),
        pytest.param(
            ["example.com:8443"],
            "https://example.com:8443",
            ACCEPT,
            id="bare-pinned-port",
        ),
        pytest.param(
            ["example.com:8443"],
            "https://example.com",
            DENY,
            id="bare-pinned-port-differs",
        ),
        pytest.param([".example.com"], "https://example.com", ACCEPT, id="dot-apex"),
        pytest.param([".example.com"], "https://a.b.example.com", ACCEPT, id="dot-sub"),
        pytest.param(
            [".example.com"], "https://badexample.com", DENY, id="dot-prefix-attack"
        ),
        pytest.param(
            ["*.example.com"], "https://chat.example.com", ACCEPT, id="star-sub"
        ),
        pytest.param(
            ["*.example.com"], "https://example.com", DENY, id="star-not-apex"
        ),
        pytest.param(
            ["*.example.com"], "https://badexample.com", DENY, id="star-prefix-attack"
        ),
        pytest.param(["https://example.com"], "https://example.com", ACCEPT, id="full"),
        pytest.param(
            ["https://example.com"],
            "https://example.com:443",
            ACCEPT,
            id="full-default-port",
        ),
        pytest.param(
            ["https://example.com"],
            "http://example.com",
            DENY,
            id="full-scheme-differs",
        ),
        pytest.param(
            ["https://example.com"],
            "https://example.com:8443",
            DENY,
            id="full-port-differs",
        ),
        pytest.param(
            ["http://example.com:80"],
            "http://example.com",
            ACCEPT,
            id="full-explicit-80",
        ),
        pytest.param(
            ["https://.example.com"], "https://x.example.com", ACCEPT, id="full-dot"
        ),
        pytest.param(
            ["https://*.example.com:8443"],
            "https://x.example.com:8443",
            ACCEPT,
            id="full-star-port",
        ),
        pytest.param(
            ["https://*.example.com:8443"],
            "https://x.example.com",
            DENY,
            id="full-star-port-differs",
        ),
        pytest.param(
            ["capacitor://localhost"],
            "capacitor://localhost",
            ACCEPT,
            id="app-scheme",
        ),
        pytest.param(
            ["capacitor://localhost"],
            "ionic://localhost",
            DENY,
            id="app-scheme-differs",
        ),
        pytest.param(["localhost"], "tauri://localhost", ACCEPT, id="app-scheme-bare"),
        pytest.param(
            ["localhost:8000"], "tauri://localhost", DENY, id="app-scheme-pinned-port"
        ),
        pytest.param(
            ["example.com"], "https://example.com.", ACCEPT, id="origin-root-dot"
        ),
        pytest.param(
            ["example.com."], "https://example.com", ACCEPT, id="pattern-root-dot"
        ),
        pytest.param(
            [".example.com"], "https://a.example.com.", ACCEPT, id="dot-root-dot"
        ),
        pytest.param(
            ["example.com"], "https://example.com..", DENY, id="two-root-dots"
        ),
        pytest.param(
            ["b\u00fccher.example"],
            "https://xn--bcher-kva.example",
            ACCEPT,
            id="idna-pattern",
        ),
        pytest.param(
            ["*.b\u00fccher.example"],
            "https://chat.xn--bcher-kva.example",
            ACCEPT,
            id="idna-star-pattern",
        ),
        pytest.param(
            ["xn--bcher-kva.example"],
            "https://b\u00fccher.example",
            DENY,
            id="unicode-origin",
        ),
        pytest.param(["[::1]"], "http://[::1]:8000", ACCEPT, id="ipv6"),
        pytest.param(["127.0.0.1"], "http://127.0.0.1:8000", ACCEPT, id="ipv4"),
        pytest.param(["*"], "https://anything.org", ACCEPT, id="star"),
        pytest.param(["https://*"], "https://anything.org", ACCEPT, id="scheme-star"),
        pytest.param(["https://*"], "http://anything.org", DENY, id="scheme-star-http"),
        pytest.param(["example.com"], "null", DENY, id="null-origin"),
        pytest.param(["*"], "null", ACCEPT, id="null-origin-star"),
        pytest.param(["example.com"], "example.com", DENY, id="no-scheme"),
        pytest.param(["example.com"], "http://example.com:99999", DENY, id="bad-port"),
        pytest.param(["example.com"], "http://user@example.com", DENY, id="userinfo"),
        pytest.param(
            ["example.com:xx"], "http://example.com", DENY, id="bad-pattern-port"
        ),
        pytest.param([], "https://example.com", DENY, id="nothing-allowed"),
    ],
)
async def test_origin_validator_matches_patterns(
    allowed: list[str], origin: str, expected: dict[str, str]
) -> None:
    assert await reply_for(allowed, origin) == expected


@pytest.mark.parametrize(
    ("allowed", "options", "expected"),
    [
        pytest.param(["example.com"], {}, DENY, id="refused-by-default"),
        pytest.param(["*"], {}, ACCEPT, id="star-allows"),
        pytest.param(
            ["example.com"], {"allow_missing_origin": True}, ACCEPT, id="opt-in"
        ),
    ],
)
async def test_origin_validator_missing_origin(
    allowed: list[str], options: dict[str, Any], expected: dict[str, str]
) -> None:
    assert await reply_for(allowed, **options) == expected


async def test_origin_validator_refuses_several_origin_headers() -> None:
    reply = await reply_for(
        ["example.com"], "https://example.com", "https://example.com"
    )
    assert reply == DENY


async def test_origin_validator_refusal_never_calls_inner_app() -> None:
    inner = Recorder()
    conn = Connection(
        OriginValidator(inner, ["example.com"]), origin_scope("https://evil.org")
    )
    await conn.send({"type": "websocket.connect"})
    assert await conn.receive() == DENY
    await conn.finish()
    assert inner.scopes == []


async def test_origin_validator_passes_http_scope_through_untouched() -> None:
    inner = Recorder()
    scope = http_scope([(b"origin", b"https://evil.org")])
    messages = await http_request(OriginValidator(inner, ["example.com"]), scope)
    assert messages[0]["status"] == 200
    assert inner.scopes[0] is scope


async def test_origin_validator_passes_copy_of_scope() -> None:
    inner = Recorder()
    scope = origin_scope("https://example.com")
    await websocket_connect(OriginValidator(inner, ["example.com"]), scope)
    assert inner.scopes[0] == scope
    assert inner.scopes[0] is not scope


def test_origin_validator_application_is_inner() -> None:
    inner = Recorder()
    validator = OriginValidator(inner, ("example.com",))
    assert validator.application is inner is validator.inner
    assert validator.allowed_origins == ["example.com"]


@pytest.fixture
def victim_cookie(transactional_db: None) -> str:
    user = User.objects.create_user("victim", password="pw")
    client = Client()
    client.force_login(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    return f"{settings.SESSION_COOKIE_NAME}={key}"


async def test_cross_site_hijack_with_valid_session_is_refused(
    victim_cookie: str,
) -> None:
    inner = Recorder()
    app = OriginValidator(AuthMiddlewareStack(inner), ["https://example.com"])
    scope = origin_scope("https://evil.org", cookie=victim_cookie)
    assert await websocket_connect(app, scope) == DENY
    assert inner.scopes == []


async def test_same_site_with_valid_session_is_accepted(victim_cookie: str) -> None:
    inner = Recorder()
    app = OriginValidator(AuthMiddlewareStack(inner), ["https://example.com"])
    scope = origin_scope("https://example.com", cookie=victim_cookie)
    assert await websocket_connect(app, scope) == ACCEPT
    assert inner.scopes[0]["user"].username == "victim"


@pytest.mark.parametrize(
    ("allowed_hosts", "debug", "origin", "expected"),
    [
        pytest.param(
            ["example.com"], False, "https://example.com", ACCEPT, id="listed"
        ),
        pytest.param(["example.com"], False, "https://evil.org", DENY, id="unlisted"),
        pytest.param(
            [".example.com"], False, "https://a.example.com", ACCEPT, id="dot"
        ),
        pytest.param(["*"], False, "https://evil.org", ACCEPT, id="star"),
        pytest.param([], True, "http://localhost:8000", ACCEPT, id="debug-localhost"),
        pytest.param(
            [], True, "http://app.localhost:8000", ACCEPT, id="debug-sub-localhost"
        ),
        pytest.param([], True, "http://127.0.0.1:8000", ACCEPT, id="debug-ipv4"),
        pytest.param([], True, "http://[::1]:8000", ACCEPT, id="debug-ipv6"),
        pytest.param([], True, "https://evil.org", DENY, id="debug-foreign"),
        pytest.param([], False, "http://localhost:8000", DENY, id="no-debug-empty"),
        pytest.param(
            ["example.com"], True, "http://localhost", DENY, id="debug-with-hosts"
        ),
    ],
)
async def test_allowed_hosts_origin_validator_follows_settings(
    allowed_hosts: list[str], debug: bool, origin: str, expected: dict[str, str]
) -> None:
    app = AllowedHostsOriginValidator(Recorder())
    with override_settings(ALLOWED_HOSTS=allowed_hosts, DEBUG=debug):
        assert await websocket_connect(app, origin_scope(origin)) == expected


def refusals(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [
        (r.levelno, r.getMessage())
        for r in caplog.records
        if r.name == "channels_lite.security.websocket"
    ]


@pytest.mark.parametrize(
    ("debug", "origin", "level"),
    [
        pytest.param(False, "http://localhost:8000", logging.WARNING, id="localhost"),
        pytest.param(False, "http://127.0.0.2:8000", logging.WARNING, id="ipv4-lo"),
        pytest.param(False, "http://[::1]:8000", logging.WARNING, id="ipv6-lo"),
        pytest.param(False, "https://evil.org", logging.INFO, id="foreign"),
        pytest.param(True, "https://evil.org", logging.WARNING, id="debug-foreign"),
    ],
)
async def test_refusal_is_a_warning_for_local_origins_and_under_debug(
    caplog: pytest.LogCaptureFixture, debug: bool, origin: str, level: int
) -> None:
    app = AllowedHostsOriginValidator(Recorder())
    with (
        caplog.at_level(logging.INFO),
        override_settings(ALLOWED_HOSTS=["example.com"], DEBUG=debug),
    ):
        assert await websocket_connect(app, origin_scope(origin)) == DENY
    [(logged_level, _)] = refusals(caplog)
    assert logged_level == level


async def test_refusal_names_the_origin_and_allowed_hosts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = AllowedHostsOriginValidator(Recorder())
    # What the test runner and pytest-django leave of a startproject setting.
    with override_settings(ALLOWED_HOSTS=["testserver"], DEBUG=False):
        await websocket_connect(app, origin_scope("http://localhost:8000"))
    [(_, message)] = refusals(caplog)
    assert message == (
        "Refused WebSocket /ws/ from origin ['http://localhost:8000']: "
        "its host 'localhost' is not in settings.ALLOWED_HOSTS ['testserver']; "
        "add it there to allow it (with DEBUG = False, as under the test runner, "
        "an empty ALLOWED_HOSTS no longer allows localhost)"
    )


async def test_refusal_by_origin_validator_names_allowed_origins(
    caplog: pytest.LogCaptureFixture,
) -> None:
    await reply_for(["example.com"], "http://localhost:8000")
    [(level, message)] = refusals(caplog)
    assert level == logging.WARNING
    assert message.endswith(
        "it matches none of allowed_origins ['example.com']; "
        "add it to OriginValidator's allowed_origins to allow it"
    )


async def test_refusal_without_origin_names_allow_missing_origin(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        await websocket_connect(AllowedHostsOriginValidator(Recorder()), origin_scope())
    [(_, message)] = refusals(caplog)
    assert "no Origin header; pass allow_missing_origin=True" in message


async def test_allowed_hosts_origin_validator_missing_origin_opt_in() -> None:
    refused = AllowedHostsOriginValidator(Recorder())
    allowed = AllowedHostsOriginValidator(Recorder(), allow_missing_origin=True)
    assert await websocket_connect(refused, origin_scope()) == DENY
    assert await websocket_connect(allowed, origin_scope()) == ACCEPT


async def test_websocket_denier_closes_before_accept() -> None:
    assert await websocket_connect(WebsocketDenier.as_asgi(), websocket_scope()) == DENY


async def test_websocket_denier_ends_quietly_on_early_disconnect() -> None:
    conn = Connection(WebsocketDenier(), websocket_scope())
    await conn.send({"type": "websocket.disconnect", "code": 1006})
    await conn.finish()
    assert conn.outbox.empty()


class CountingConsumer(AsyncWebsocketConsumer):
    """Accept every connection, counting how many reached the consumer."""

    connects = 0

    async def connect(self) -> None:
        type(self).connects += 1
        await self.accept()


@pytest.mark.parametrize(
    ("origin", "connected", "reached"),
    [
        pytest.param(b"https://evil.org", False, 0, id="cross-site"),
        pytest.param(b"https://example.com", True, 1, id="same-site"),
    ],
)
async def test_origin_validator_guards_consumer_with_session(
    victim_cookie: str, origin: bytes, connected: bool, reached: int
) -> None:
    CountingConsumer.connects = 0
    app = OriginValidator(
        AuthMiddlewareStack(CountingConsumer.as_asgi()), ["https://example.com"]
    )
    headers = [(b"origin", origin), (b"cookie", victim_cookie.encode())]
    communicator = WebsocketCommunicator(app, "/ws/", headers=headers)
    assert (await communicator.connect(timeout=10))[0] is connected
    if connected:
        await communicator.disconnect(timeout=10)
    assert CountingConsumer.connects == reached
