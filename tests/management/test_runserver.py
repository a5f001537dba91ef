"""Tests for ``manage.py runserver``: daphne, static files, reloading, errors."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests._net import free_port
from tests.management.conftest import Command, get, wait_for_http

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

StartCommand = Callable[..., Command]


def _serve(start_command: StartCommand, *args: str, **kwargs: object) -> str:
    port = free_port()
    command = start_command(
        "runserver", f"127.0.0.1:{port}", "--noreload", *args, **kwargs
    )
    wait_for_http(command, f"http://127.0.0.1:{port}/")
    return f"127.0.0.1:{port}"


def test_runserver_serves_http_through_daphne(start_command: StartCommand) -> None:
    address = _serve(start_command)
    status, headers, body = get(f"http://{address}/")
    assert (status, body) == (200, b"hello")
    assert headers["Server"] == "daphne"


def test_runserver_serves_websockets(start_command: StartCommand) -> None:
    address = _serve(start_command)
    with connect(f"ws://{address}/ws/", open_timeout=10) as websocket:
        websocket.send("hi")
        assert websocket.recv(timeout=10) == "hi"


@pytest.mark.parametrize(
    "args",
    [pytest.param((), id="debug"), pytest.param(("--insecure",), id="insecure")],
)
def test_runserver_serves_static_files(
    start_command: StartCommand, args: tuple[str, ...]
) -> None:
    env = {} if not args else {"RUNSERVER_TEST_DEBUG": "0"}
    address = _serve(start_command, *args, env=env)
    status, _, body = get(f"http://{address}/static/channels_lite_tests/hello.txt")
    assert (status, body) == (200, b"hello, static world\n")


@pytest.mark.parametrize(
    ("args", "env"),
    [
        pytest.param(("--nostatic",), {}, id="nostatic"),
        pytest.param((), {"RUNSERVER_TEST_DEBUG": "0"}, id="no-debug"),
    ],
)
def test_runserver_leaves_static_files_alone(
    start_command: StartCommand, args: tuple[str, ...], env: dict[str, str]
) -> None:
    address = _serve(start_command, *args, env=env)
    status, _, _ = get(f"http://{address}/static/channels_lite_tests/hello.txt")
    assert status == 404


def test_runserver_noasgi_runs_django_wsgi_server(
    start_command: StartCommand,
) -> None:
    address = _serve(
        start_command, "--noasgi", env={"RUNSERVER_TEST_ASGI_APPLICATION": ""}
    )
    status, headers, body = get(f"http://{address}/")
    static = get(f"http://{address}/static/channels_lite_tests/hello.txt")
    assert (status, body) == (200, b"hello")
    assert headers["Server"].startswith("WSGIServer")
    assert static[0] == 200


def test_runserver_worker_option_runs_channel_consumers(
    start_command: StartCommand,
) -> None:
    address = _serve(start_command, "--worker", "tasks")
    with connect(f"ws://{address}/ws/", open_timeout=10) as websocket:
        websocket.send("ping")
        assert websocket.recv(timeout=10) == "pong"


def test_runserver_reloads_changed_code(
    start_command: StartCommand, tmp_path: Path
) -> None:
    module = tmp_path / "reloading_app.py"
    module.write_text(_reloading_app("one"))
    port = free_port()
    command = start_command(
        "runserver",
        f"127.0.0.1:{port}",
        env={
            "PYTHONPATH": str(tmp_path),
            "RUNSERVER_TEST_ASGI_APPLICATION": "reloading_app.application",
        },
    )
    url = f"http://127.0.0.1:{port}/"
    wait_for_http(command, url)
    assert get(url)[2] == b"one"
    _rewrite_until_reloaded(command, module)
    _wait_for_body(url, b"two")


def _reloading_app(version: str) -> str:
    return (
        "async def application(scope, receive, send):\n"
        "    await receive()\n"
        "    await send({'type': 'http.response.start', 'status': 200,"
        " 'headers': []})\n"
        f"    await send({{'type': 'http.response.body', 'body': b'{version}'}})\n"
    )


def _rewrite_until_reloaded(command: Command, module: Path) -> None:
    # The reloader only notices files it saw before they changed, and it
    # looks once a second: keep changing the file until it has noticed.
    deadline = time.monotonic() + 60
    while "changed, reloading" not in command.text():
        assert time.monotonic() < deadline, f"never reloaded:\n{command.text()}"
        module.write_text(_reloading_app("two"))
        time.sleep(1)


def _wait_for_body(url: str, body: bytes) -> None:
    deadline = time.monotonic() + 60
    while True:
        # The old server goes away while the new one starts: connections fail.
        with contextlib.suppress(OSError):
            if get(url)[2] == body:
                return
        assert time.monotonic() < deadline, f"{url} never answered {body!r}"
        time.sleep(0.2)


@pytest.mark.parametrize(
    ("application", "message"),
    [
        pytest.param("", "ASGI_APPLICATION is not set", id="missing"),
        pytest.param(
            "tests.management.no_such_module.application",
            "Cannot import ASGI_APPLICATION module",
            id="unimportable",
        ),
        pytest.param(
            "tests.management.server_app.no_such_app",
            "Cannot find 'no_such_app'",
            id="missing-attribute",
        ),
        pytest.param(
            "tests.management.server_app.urlpatterns",
            "is not callable",
            id="not-callable",
        ),
    ],
)
def test_runserver_explains_a_bad_asgi_application(
    start_command: StartCommand, application: str, message: str
) -> None:
    command = start_command(
        "runserver",
        f"127.0.0.1:{free_port()}",
        env={"RUNSERVER_TEST_ASGI_APPLICATION": application},
    )
    assert command.wait() == 1
    output = command.text()
    assert "CommandError" in output or "Error:" in output
    assert message in output
    assert "Set ASGI_APPLICATION in your settings" in output
