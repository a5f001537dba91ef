"""The package builds, passes an index's checks, and works from its wheel alone.

The wheel goes into a fresh virtual environment with no dev extra and no
checkout on the path, held to the runtime versions of the environment's lock,
and serves a websocket through a channel layer there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

import channels_lite
from tests._toolchain import environment_lock

ROOT = Path(__file__).resolve().parent.parent
VERSION = channels_lite.__version__
WHEEL = f"channels_lite-{VERSION}-py3-none-any.whl"
SDIST = f"channels_lite-{VERSION}.tar.gz"

pytestmark = pytest.mark.slow

# Runs inside the fresh environment: an echo consumer that also answers
# through a group, driven by the testing communicator.
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


def _run(*args: str | Path, cwd: Path) -> str:
    # Nothing of the test run's own environment may reach the child.
    private = {"PYTHONPATH", "VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE", "PIP_CONSTRAINT"}
    env = {k: v for k, v in os.environ.items() if k not in private}
    done = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the sdist, then the wheel from it, as an index upload would."""
    out = tmp_path_factory.mktemp("dist")
    _run(
        sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT, cwd=out
    )
    return out


def test_build_makes_one_sdist_and_one_wheel(dist: Path) -> None:
    assert sorted(path.name for path in dist.iterdir()) == sorted([SDIST, WHEEL])


def test_distributions_pass_twine_check(dist: Path) -> None:
    output = _run(
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


@pytest.fixture(scope="module")
def wheel_env(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a fresh environment holding the wheel and its runtime needs only."""
    env = tmp_path_factory.mktemp("wheel-env")
    venv.create(env, with_pip=True)
    lock = environment_lock()
    constraint = ["-c", str(lock)] if lock is not None else []
    _run(
        env / "bin" / "python",
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        *constraint,
        dist / WHEEL,
        cwd=env,
    )
    return env


def test_wheel_serves_a_websocket_without_the_dev_extra(
    wheel_env: Path, tmp_path: Path
) -> None:
    env = wheel_env
    python = env / "bin" / "python"
    installed = _run(python, "-m", "pip", "list", "--format=freeze", cwd=tmp_path)
    assert "pytest" not in installed.lower()
    assert f"channels-lite=={VERSION}" in installed.lower()
    (tmp_path / "smoke.py").write_text(SMOKE)
    output = _run(python, "smoke.py", cwd=tmp_path).splitlines()
    assert output[0] == "{'said': 'hello'}"
    assert Path(output[1]).is_relative_to(env)


def test_wheel_passes_django_checks_in_a_new_project(
    wheel_env: Path, tmp_path: Path
) -> None:
    env = wheel_env
    python = env / "bin" / "python"
    _run(env / "bin" / "django-admin", "startproject", "mysite", cwd=tmp_path)
    settings = tmp_path / "mysite" / "mysite" / "settings.py"
    text = settings.read_text().replace(
        "INSTALLED_APPS = [\n", 'INSTALLED_APPS = [\n    "channels_lite",\n', 1
    )
    settings.write_text(text + '\nASGI_APPLICATION = "mysite.asgi.application"\n')
    output = _run(python, "manage.py", "check", cwd=tmp_path / "mysite")
    assert "no issues" in output
    usage = _run(python, "manage.py", "runserver", "--help", cwd=tmp_path / "mysite")
    assert "--worker" in usage
