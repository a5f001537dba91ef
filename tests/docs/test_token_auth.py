"""The samples of docs/topics/token-authentication.rst."""

from __future__ import annotations

from types import ModuleType

import pytest
from django.contrib.auth.models import User
from django.core import signing
from django.test import override_settings

from channels_lite.types import Scope
from tests._asgi import Connection, websocket_scope
from tests.docs._examples import load_example


@pytest.fixture
def sample() -> ModuleType:
    return load_example("token_auth/asgi.py")


@pytest.fixture
def alice(transactional_db: None) -> User:
    return User.objects.create_user("alice", password="pw")


async def greeting(module: ModuleType, scope: Scope) -> str:
    conn = Connection(module.application, scope)
    await conn.send({"type": "websocket.connect"})
    assert await conn.receive() == {"type": "websocket.accept"}
    text: str = (await conn.receive())["text"]
    await conn.send({"type": "websocket.disconnect", "code": 1000})
    await conn.finish()
    return text


def bearer(token: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {token}".encode())]


async def test_issued_token_authenticates_api_client(
    sample: ModuleType, alice: User
) -> None:
    scope = websocket_scope(bearer(sample.issue_token(alice)), path="/ws/whoami/")
    assert await greeting(sample, scope) == "alice"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("not-a-token", id="garbage"),
        pytest.param(signing.dumps(1, salt="other-purpose"), id="wrong-salt"),
    ],
)
async def test_bad_token_is_anonymous(
    sample: ModuleType, alice: User, token: str
) -> None:
    scope = websocket_scope(bearer(token), path="/ws/whoami/")
    assert await greeting(sample, scope) == ""


async def test_expired_token_is_anonymous(
    sample: ModuleType, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = sample.issue_token(alice)
    monkeypatch.setattr(sample, "MAX_AGE", -1)
    scope = websocket_scope(bearer(token), path="/ws/whoami/")
    assert await greeting(sample, scope) == ""


@override_settings(ALLOWED_HOSTS=["example.com"])
async def test_foreign_browser_origin_is_refused(
    sample: ModuleType, alice: User
) -> None:
    headers = [*bearer(sample.issue_token(alice)), (b"origin", b"https://evil.org")]
    conn = Connection(sample.application, websocket_scope(headers, path="/ws/whoami/"))
    await conn.send({"type": "websocket.connect"})
    assert await conn.receive() == {"type": "websocket.close"}
    await conn.finish()
