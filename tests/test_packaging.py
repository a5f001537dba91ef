"""The package builds, passes an index's checks, and works from its wheel alone.

The wheel goes into a fresh virtual environment with no dev extra and no
checkout on the path, held to the runtime versions of the environment's lock
(the ``dist`` and ``wheel_python`` fixtures of ``tests/_wheel.py``), and
serves a websocket through a channel layer there.
"""

from __future__ import annotations

import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests._toolchain import ROOT
from tests._wheel import SDIST, VERSION, WHEEL, run

pytestmark = pytest.mark.slow

SMOKE = textwrap.dedent(
    """
    import asyncio
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["channels_lite"],
        CHANNEL_LAYERS={
            "default": {"BACKEND": "channels_lite.layers.InMemoryChannelLayer"}
        },
    )
    django.setup()

    import channels_lite
    from channels_lite.generic.websocket import AsyncJsonWebsocketConsumer
    from channels_lite.routing import URLRouter
    from channels_lite.testing import WebsocketCommunicator
    from django.urls import path

    class Echo(AsyncJsonWebsocketConsumer):
        groups = ["room"]

        async def receive_json(self, content, **kwargs):
            await self.channel_layer.group_send("room", {"type": "room.say", **content})

        async def room_say(self, event):
            await self.send_json({"said": event["text"]})

    async def main():
        app = URLRouter([path("ws/", Echo.as_asgi())])
        communicator = WebsocketCommunicator(app, "/ws/")
        connected, _ = await communicator.connect()
        assert connected
        await communicator.send_json_to({"text": "hello"})
        print(await communicator.receive_json_from())
        await communicator.disconnect()

    asyncio.run(main())
    print(channels_lite.__file__)
    """
)


def test_build_makes_one_sdist_and_one_wheel(dist: Path) -> None:
    assert sorted(path.name for path in dist.iterdir()) == sorted([SDIST, WHEEL])


def test_distributions_pass_twine_check(dist: Path) -> None:
    output = run(
        sys.executable,
        "-m",
        "twine",
        "check",
        "--strict",
        dist / SDIST,
        dist / WHEEL,
        cwd=dist,
    )
    assert output.count("PASSED") == 2


def test_wheel_holds_every_module_and_the_type_marker(dist: Path) -> None:
    with zipfile.ZipFile(dist / WHEEL) as wheel:
        names = set(wheel.namelist())
    sources = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "channels_lite").rglob("*.py")
    }
    assert sources - names == set()
    assert "channels_lite/py.typed" in names
    assert {name.split("/")[0] for name in names} == {
        "channels_lite",
        f"channels_lite-{VERSION}.dist-info",
    }


def test_sdist_holds_what_its_tests_need(dist: Path) -> None:
    with tarfile.open(dist / SDIST) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md"} <= names
    assert "channels_lite/py.typed" in names
    assert "tests/conftest.py" in names


def test_wheel_serves_a_websocket_without_the_dev_extra(
    wheel_python: Path, tmp_path: Path
) -> None:
    python = wheel_python
    installed = run(python, "-m", "pip", "list", "--format=freeze", cwd=tmp_path)
    assert "pytest" not in installed.lower()
    assert f"channels-lite=={VERSION}" in installed.lower()
    (tmp_path / "smoke.py").write_text(SMOKE)
    output = run(python, "smoke.py", cwd=tmp_path).splitlines()
    assert output[0] == "{'said': 'hello'}"
    assert Path(output[1]).is_relative_to(python.parent.parent)


def test_wheel_passes_django_checks_in_a_new_project(
    wheel_python: Path, tmp_path: Path
) -> None:
    python = wheel_python
    run(python.parent / "django-admin", "startproject", "mysite", cwd=tmp_path)
    settings = tmp_path / "mysite" / "mysite" / "settings.py"
    text = settings.read_text().replace(
        "INSTALLED_APPS = [\n", 'INSTALLED_APPS = [\n    "channels_lite",\n', 1
    )
    settings.write_text(text + '\nASGI_APPLICATION = "mysite.asgi.application"\n')
    output = run(python, "manage.py", "check", cwd=tmp_path / "mysite")
    assert "no issues" in output
    usage = run(python, "manage.py", "runserver", "--help", cwd=tmp_path / "mysite")
    assert "--worker" in usage
