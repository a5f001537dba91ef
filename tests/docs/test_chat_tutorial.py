"""The chat tutorial (docs/tutorial/index.rst): its steps and its finished project."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import pytest
from django.urls import path
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from channels_lite.routing import URLRouter
from channels_lite.testing import WebsocketCommunicator
from tests._net import HOST, free_port
from tests.docs._examples import example, load_example
from tests.docs._server import run_in, serving
from tests.docs._tutorial import TUTORIAL, follow_the_tutorial

# Seconds; generous for a loaded machine, reached only when something hangs.
TIMEOUT = 30


def step_router(step: ModuleType) -> URLRouter:
    """Route the tutorial's websocket path to the consumer of one step."""
    consumer = step.ChatConsumer
    return URLRouter([path("ws/chat/<slug:room_name>/", cast(Any, consumer.as_asgi()))])


async def join(router: URLRouter, room: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(router, f"/ws/chat/{room}/")
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def test_echo_step_answers_only_the_sender() -> None:
    router = step_router(load_example("chatsite_steps/echo_consumer.py"))
    alice = await join(router, "lobby")
    bob = await join(router, "lobby")
    await alice.send_to(text_data=json.dumps({"message": "hi"}))
    assert json.loads(await alice.receive_from()) == {"message": "hi"}
    assert await bob.receive_nothing()
    await alice.disconnect()
    await bob.disconnect()


async def test_sync_room_step_reaches_the_whole_room() -> None:
    router = step_router(load_example("chatsite_steps/sync_room_consumer.py"))
    alice = await join(router, "lobby")
    bob = await join(router, "lobby")
    carol = await join(router, "kitchen")
    await alice.send_to(text_data=json.dumps({"message": "hi"}))
    assert json.loads(await alice.receive_from()) == {"message": "hi"}
    assert json.loads(await bob.receive_from()) == {"message": "hi"}
    assert await carol.receive_nothing()
    for communicator in (alice, bob, carol):
        await communicator.disconnect()


def test_project_passes_system_checks() -> None:
    result = run_in(
        example("chatsite/"), "manage.py", "check", "--fail-level", "WARNING"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_project_tests_pass_as_the_page_says() -> None:
    result = run_in(
        example("chatsite/"), "-m", "pytest", "-p", "no:cacheprovider", "chat/tests.py"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b3 passed\b", result.stdout)


@pytest.mark.slow
def test_following_the_page_from_startproject_gives_passing_typed_tests(
    tmp_path: Path, reader_python: Path
) -> None:
    """A reader with the built wheel and the page's tools gets green, typed tests."""
    python = reader_python
    project = follow_the_tutorial(tmp_path, python)
    checked = run_in(
        project, "manage.py", "check", "--fail-level", "WARNING", python=python
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # startproject's admin/ route survives the page's mysite/urls.py.
    admin = run_in(
        project,
        "manage.py",
        "shell",
        "-c",
        "from django.urls import reverse; print(reverse('admin:index'))",
        python=python,
    )
    assert admin.stdout.split()[-1:] == ["/admin/"], admin.stdout + admin.stderr
    tested = run_in(
        project,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "chat/tests.py",
        python=python,
    )
    assert re.search(r"\b3 passed\b", tested.stdout), tested.stdout + tested.stderr
    # A cold mypy run with django-stubs takes a while on a loaded machine.
    cache = str(tmp_path / "mypy")
    typed = run_in(
        project,
        "-m",
        "mypy",
        "--cache-dir",
        cache,
        "chat",
        "mysite",
        timeout=300,
        python=python,
    )
    assert typed.returncode == 0, typed.stdout + typed.stderr
    # The page shows mypy's own words.
    assert f"   {typed.stdout.strip()}\n" in TUTORIAL.read_text()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Serve the finished project with ``manage.py runserver``, as the page says."""
    port = free_port()
    log = tmp_path_factory.mktemp("chatsite") / "runserver.log"
    args = ("manage.py", "runserver", f"{HOST}:{port}")
    with serving(example("chatsite/"), *args, port=port, log=log):
        yield port


@pytest.mark.e2e
def test_served_room_page_opens_the_room_socket(site: int) -> None:
    with urllib.request.urlopen(
        f"http://{HOST}:{site}/chat/lobby/", timeout=TIMEOUT
    ) as r:
        page = r.read().decode()
    assert '<script id="room-name" type="application/json">"lobby"</script>' in page
    assert "/ws/chat/${roomName}/" in page


@pytest.mark.e2e
async def test_served_room_delivers_to_everyone_in_it(site: int) -> None:
    url = f"ws://{HOST}:{site}/ws/chat/lobby/"
    origin = cast(Any, f"http://{HOST}:{site}")
    async with (
        asyncio.timeout(TIMEOUT),
        connect(url, origin=origin) as alice,
        connect(url, origin=origin) as bob,
    ):
        await alice.send(json.dumps({"message": "hello"}))
        assert json.loads(await bob.recv()) == {"message": "hello"}
        assert json.loads(await alice.recv()) == {"message": "hello"}


@pytest.mark.e2e
async def test_served_room_refuses_other_sites(site: int) -> None:
    url = f"ws://{HOST}:{site}/ws/chat/lobby/"
    evil = cast(Any, "https://evil.example")
    with pytest.raises(InvalidStatus) as refused:
        async with asyncio.timeout(TIMEOUT), connect(url, origin=evil):
            pass
    assert refused.value.response.status_code == 403


@pytest.mark.e2e
async def test_served_room_with_redis_down_says_try_again_later(
    tmp_path: Path,
) -> None:
    """Redis is named but not running: one log line and code 4013, not a 403."""
    port = free_port()
    log = tmp_path / "serve.log"
    # A free port: nothing listens there.
    env = {"REDIS_URL": f"redis://{HOST}:{free_port()}/0"}
    args = ("-m", "channels_lite.serve", "-b", HOST, "-p", str(port))
    with serving(
        example("chatsite/"),
        *args,
        "mysite.asgi:application",
        port=port,
        log=log,
        env=env,
    ):
        url = f"ws://{HOST}:{port}/ws/chat/lobby/"
        origin = cast(Any, f"http://{HOST}:{port}")
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(TIMEOUT), connect(url, origin=origin) as ws:
                await ws.recv()
    # Daphne sends no 1013 on request; 4013 stands in for it.
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4013
    output = log.read_text()
    assert "Traceback" not in output
    assert output.count("Channel layer unavailable on websocket /ws/chat/lobby/") == 1
