"""The getting-started project (docs/getting-started.rst), run as a reader would."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from channels_lite.routing import URLRouter
from channels_lite.testing import WebsocketCommunicator
from tests._net import HOST, free_port
from tests.docs._examples import DOCS, ROOT, example, load_example
from tests.docs._server import run_in, serving

# Seconds; generous for a loaded machine, reached only when something hangs.
TIMEOUT = 30


@pytest.mark.parametrize(
    "frame",
    [pytest.param("hello", id="text"), pytest.param(b"\x00\xff", id="bytes")],
)
async def test_echo_consumer_sends_frames_back(frame: str | bytes) -> None:
    routing = load_example("quickstart/echo/routing.py")
    communicator = WebsocketCommunicator(
        URLRouter(routing.websocket_urlpatterns), "/ws/echo/"
    )
    connected, _ = await communicator.connect()
    assert connected
    if isinstance(frame, str):
        await communicator.send_to(text_data=frame)
    else:
        await communicator.send_to(bytes_data=frame)
    assert await communicator.receive_from() == frame
    await communicator.disconnect()


async def test_sample_test_passes() -> None:
    tests = load_example("quickstart/echo/tests.py")
    await tests.test_echo_consumer_sends_text_back()


def test_project_passes_system_checks() -> None:
    result = run_in(
        example("quickstart/"), "manage.py", "check", "--fail-level", "WARNING"
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "page",
    [
        pytest.param("getting-started.rst", id="getting-started"),
        pytest.param("tutorial/index.rst", id="tutorial"),
    ],
)
def test_pages_that_run_tests_say_how_to_install_them(page: str) -> None:
    install = "   $ python -m pip install pytest pytest-django pytest-asyncio\n"
    assert install in (DOCS / page).read_text()


def test_every_page_serves_production_with_channels_lite_serve() -> None:
    """One production command everywhere: no page says to run plain daphne."""
    pages = [ROOT / "README.md", *DOCS.rglob("*.rst"), *DOCS.rglob("*.md")]
    plain_daphne = re.compile(r"^\s*\$ daphne\b|`daphne [\w.]+:\w+", re.MULTILINE)
    found = [
        f"{page.relative_to(ROOT)}: {hit.group().strip()}"
        for page in pages
        for hit in plain_daphne.finditer(page.read_text())
    ]
    assert found == []
    assert "$ python -m channels_lite.serve mysite.asgi:application" in (
        (DOCS / "getting-started.rst").read_text()
    )


@pytest.fixture(scope="module")
def serve_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Serve the project with ``python -m channels_lite.serve``, as the page says."""
    port = free_port()
    log = tmp_path_factory.mktemp("quickstart") / "serve.log"
    args = (
        "-m",
        "channels_lite.serve",
        "-b",
        HOST,
        "-p",
        str(port),
        "mysite.asgi:application",
    )
    with serving(example("quickstart/"), *args, port=port, log=log):
        yield port


@pytest.fixture(scope="module")
def runserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """Serve the project with ``manage.py runserver``, as the page says.

    Yield the port and the server's log.
    """
    port = free_port()
    log = tmp_path_factory.mktemp("quickstart") / "runserver.log"
    args = ("manage.py", "runserver", f"{HOST}:{port}")
    with serving(example("quickstart/"), *args, port=port, log=log):
        yield port, log


def _shape(line: str) -> str:
    """Return ``line`` with its date, numbers and addresses made generic."""
    line = re.sub(r"[A-Z][a-z]+ \d{2}, \d{4} - [\d:]+", "<date>", line)
    return re.sub(r"\d+(\.\d+)*", "<n>", line).strip()


@pytest.mark.e2e
def test_runserver_prints_what_the_page_shows(runserver: tuple[int, Path]) -> None:
    page = (DOCS / "getting-started.rst").read_text()
    shown = page.split("   $ python manage.py runserver\n", 1)[1]
    block = shown.split("\nThe ``Starting ASGI/Daphne``", 1)[0]
    expected = [_shape(line) for line in block.splitlines() if line.strip()]
    printed = [_shape(line) for line in runserver[1].read_text().splitlines()]
    # In order; Django's reminder of unapplied migrations may come between.
    remaining = iter(printed)
    missing = [line for line in expected if line not in remaining]
    assert missing == [], printed


@pytest.mark.e2e
async def test_runserver_serves_the_echo_socket(
    runserver: tuple[int, Path],
) -> None:
    url = f"ws://{HOST}:{runserver[0]}/ws/echo/"
    async with asyncio.timeout(TIMEOUT), connect(url) as ws:
        await ws.send("hello")
        assert await ws.recv() == "hello"


@pytest.mark.e2e
async def test_channels_lite_serve_serves_the_echo_socket(serve_port: int) -> None:
    url = f"ws://{HOST}:{serve_port}/ws/echo/"
    async with asyncio.timeout(TIMEOUT), connect(url) as ws:
        await ws.send("hello")
        assert await ws.recv() == "hello"
