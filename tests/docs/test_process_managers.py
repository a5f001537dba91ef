"""docs/topics/deployment.rst, "Process managers and nginx": the sample files.

The systemd units pass ``systemd-analyze verify``; their commands, run as
written in the sample projects, serve the chat and do the worker's job and
exit cleanly on SIGTERM within the units' stop timeout. The supervisor file
runs the very same commands, and nginx proxies to the servers' ports.
"""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import json
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
from django.test import override_settings
from websockets.asyncio.client import connect

from channels_lite.layers import get_channel_layer
from tests._net import HOST, free_port, wait_listening
from tests.docs._examples import example
from tests.docs._server import START_TIMEOUT, running

SERVER_UNIT = example("deployment/mysite-server@.service")
WORKER_UNIT = example("deployment/mysite-worker.service")
SUPERVISOR = example("deployment/supervisor.conf")
NGINX = example("deployment/nginx.conf")
# Where the samples put the project and its virtual environment.
PROJECT_DIR = "/srv/mysite"
PYTHON = "/srv/mysite/.venv/bin/python"
PORTS = (8001, 8002)
# Seconds; generous for a loaded machine, reached only when something hangs.
TIMEOUT = 30


def unit_settings(unit: Path) -> dict[str, list[str]]:
    """Return each ``Key=value`` of a systemd unit, values in order."""
    found: dict[str, list[str]] = {}
    for line in unit.read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def unit_environment(unit: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in unit_settings(unit)["Environment"])


def unit_command(unit: Path, instance: str = "") -> list[str]:
    [command] = unit_settings(unit)["ExecStart"]
    return shlex.split(command.replace("%i", instance))


def supervisor_programs() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(inline_comment_prefixes=None)
    parser.read_string(SUPERVISOR.read_text())
    return parser


def supervisor_commands(program: str) -> dict[str, list[str]]:
    """Return each process name of ``program`` and its expanded command."""
    section = supervisor_programs()[f"program:{program}"]
    start = int(section.get("numprocs_start", "0"))
    commands = {}
    for number in range(start, start + int(section.get("numprocs", "1"))):
        names = {"program_name": program, "process_num": number}
        name = section.get("process_name", "%(program_name)s") % names
        commands[name] = shlex.split(section["command"] % names)
    return commands


def supervisor_environment(program: str) -> dict[str, str]:
    value = supervisor_programs()[f"program:{program}"]["environment"]
    pairs = (item.split("=", 1) for item in value.split(","))
    return {key: raw.strip('"') for key, raw in pairs}


@pytest.mark.parametrize(
    ("unit", "project"),
    [
        pytest.param(SERVER_UNIT, "chatsite/", id="server"),
        pytest.param(WORKER_UNIT, "worker_project/", id="worker"),
    ],
)
def test_systemd_accepts_the_units(unit: Path, project: str, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    # This machine's project and Python stand for /srv/mysite.
    text = unit.read_text().replace(PYTHON, sys.executable)
    (tmp_path / unit.name).write_text(text.replace(PROJECT_DIR, str(example(project))))
    name = unit.name.replace("@.", f"@{PORTS[0]}.")
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"./{name}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_supervisor_runs_what_systemd_runs() -> None:
    servers = supervisor_commands("mysite-server")
    assert servers == {
        f"mysite-server-{port}": unit_command(SERVER_UNIT, str(port)) for port in PORTS
    }
    [worker] = supervisor_commands("mysite-worker").values()
    assert worker == unit_command(WORKER_UNIT)
    for program, unit in (
        ("mysite-server", SERVER_UNIT),
        ("mysite-worker", WORKER_UNIT),
    ):
        assert supervisor_environment(program) == unit_environment(unit)
        section = supervisor_programs()[f"program:{program}"]
        assert section["directory"] == unit_settings(unit)["WorkingDirectory"][0]
        assert section["stopsignal"] == "TERM"
        assert section["stopwaitsecs"] == unit_settings(unit)["TimeoutStopSec"][0]


def test_nginx_proxies_websockets_to_the_servers() -> None:
    conf = NGINX.read_text()
    assert re.findall(r"^\s*server (\S+);$", conf, re.MULTILINE) == [
        f"127.0.0.1:{port}" for port in PORTS
    ]
    for directive in (
        "proxy_pass http://mysite;",
        "proxy_http_version 1.1;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_set_header Host $host;",
        "map $http_upgrade $connection_upgrade {",
    ):
        assert directive in conf
    # Every server command trusts the proxy's X-Forwarded-For.
    assert "--proxy-headers" in unit_command(SERVER_UNIT, "8001")


def run_as_the_unit(
    unit: Path, project: str, log: Path, redis_url: str, port: str = ""
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    """Start the unit's command in the sample project, the way systemd would."""
    command = unit_command(unit, port)
    assert command[0] == PYTHON
    env = {**unit_environment(unit), "REDIS_URL": redis_url}
    return running(example(project), *command[1:], log=log, env=env)


def stops_in_time(process: subprocess.Popen[bytes], unit: Path) -> int:
    """Send SIGTERM as ``systemctl stop`` does; return the exit status."""
    process.send_signal(signal.SIGTERM)
    return process.wait(float(unit_settings(unit)["TimeoutStopSec"][0]))


@pytest.mark.e2e
@pytest.mark.redis
async def test_server_unit_command_serves_the_chat(
    redis_url: str, tmp_path: Path
) -> None:
    port = free_port()
    with run_as_the_unit(
        SERVER_UNIT, "chatsite/", tmp_path / "log", redis_url, str(port)
    ) as process:
        assert wait_listening(process, port, timeout=START_TIMEOUT)
        url = f"ws://{HOST}:{port}/ws/chat/lobby/"
        origin = cast(Any, f"http://{HOST}:{port}")
        async with (
            asyncio.timeout(TIMEOUT),
            connect(url, origin=origin) as alice,
            connect(url, origin=origin) as bob,
        ):
            await alice.send(json.dumps({"message": "hello"}))
            assert json.loads(await bob.recv()) == {"message": "hello"}
            # Stopped with a client connected: it must still exit cleanly.
            assert await asyncio.to_thread(stops_in_time, process, SERVER_UNIT) == 0


@pytest.mark.e2e
@pytest.mark.redis
async def test_worker_unit_command_does_the_work(
    redis_url: str, tmp_path: Path
) -> None:
    layers = {
        "default": {
            "BACKEND": "channels_lite.layers.redis.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url], "prefix": "mysite"},
        }
    }
    with (
        run_as_the_unit(
            WORKER_UNIT, "worker_project/", tmp_path / "log", redis_url
        ) as process,
        override_settings(CHANNEL_LAYERS=layers),
    ):
        layer = get_channel_layer()
        assert layer is not None
        reply_to = await layer.new_channel()
        await layer.send(
            "thumbnails",
            {"type": "thumbnail.make", "image": "cat.png", "reply_to": reply_to},
        )
        async with asyncio.timeout(TIMEOUT):
            answer = await layer.receive(reply_to)
        await layer.close()
        assert answer == {"type": "thumbnail.done", "thumbnail": "cat.thumb.png"}
        assert await asyncio.to_thread(stops_in_time, process, WORKER_UNIT) == 0
