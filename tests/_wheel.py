"""channels_lite as a user gets it: the built wheel in a fresh virtual environment.

The session fixtures in ``tests/conftest.py`` build the sdist and wheel once
and make the environments; every install is held to the lock of the test
environment itself (``tests/_toolchain.py``), so it is as reproducible.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

import channels_lite
from tests._toolchain import ROOT, environment_lock

VERSION = channels_lite.__version__
WHEEL = f"channels_lite-{VERSION}-py3-none-any.whl"
SDIST = f"channels_lite-{VERSION}.tar.gz"
# Seconds; a cold install on a loaded machine, reached only when it hangs.
INSTALL_TIMEOUT = 600


def run(*args: str | Path, cwd: Path) -> str:
    """Run a command with none of the test run's own settings; return its output.

    Raises AssertionError with the output when it fails.
    """
    private = {"PYTHONPATH", "VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE", "PIP_CONSTRAINT"}
    env = {k: v for k, v in os.environ.items() if k not in private}
    done = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def build(out: Path) -> Path:
    """Build the sdist, then the wheel from it, into ``out``, as for an upload."""
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT, cwd=out)
    return out


def fresh_env(directory: Path, *requirements: str | Path) -> Path:
    """Make a virtual environment holding ``requirements``; return its python."""
    venv.create(directory, with_pip=True)
    python = directory / "bin" / "python"
    lock = environment_lock()
    constraint = ["-c", str(lock)] if lock is not None else []
    run(
        python,
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        *constraint,
        *requirements,
        cwd=directory,
    )
    return python


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the directory holding this checkout's built sdist and wheel."""
    return build(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def wheel_python(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the python of a fresh environment with the wheel and nothing else."""
    return fresh_env(tmp_path_factory.mktemp("wheel-env"), dist / WHEEL)
