"""The test environment holds exactly the versions of its lock (requirements/).

``scripts/setup`` installs the dev extra held to ``requirements/dev.txt``, and
each tox env names its own lock in ``PIP_CONSTRAINT``; ``tox -e latest`` sets
it empty and is the one unpinned environment.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests._toolchain import environment_lock


def _pins(lock: Path) -> dict[str, Version]:
    """Return the lock's pins that apply to this interpreter and platform."""
    pins: dict[str, Version] = {}
    for line in lock.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        (specifier,) = requirement.specifier
        pins[canonicalize_name(requirement.name)] = Version(specifier.version)
    return pins


def _closure(name: str, extras: set[str]) -> set[str]:
    """Return the installed distributions that ``name[extras]`` pulls in."""
    seen: set[str] = set()
    todo = [(name, extras)]
    while todo:
        current, wanted = todo.pop()
        for spec in metadata.requires(current) or []:
            requirement = Requirement(spec)
            marker = requirement.marker
            if marker is not None and not any(
                marker.evaluate({"extra": extra}) for extra in wanted or {""}
            ):
                continue
            key = canonicalize_name(requirement.name)
            if key == canonicalize_name(current):
                todo.append((current, set(requirement.extras)))
            elif key not in seen:
                seen.add(key)
                todo.append((key, set(requirement.extras)))
    return seen


@pytest.fixture
def pins() -> dict[str, Version]:
    lock = environment_lock()
    if lock is None:
        pytest.skip("an unpinned environment (tox -e latest)")
    return _pins(lock)


def test_installed_versions_are_the_locked_ones(pins: dict[str, Version]) -> None:
    assert "django" in pins
    installed: dict[str, Version | None] = {}
    for name in pins:
        try:
            installed[name] = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            installed[name] = None
    wrong = {name: (installed[name], pin) for name, pin in pins.items()}
    assert {k: v for k, v in wrong.items() if v[0] != v[1]} == {}


def test_every_dev_dependency_is_locked(pins: dict[str, Version]) -> None:
    needed = _closure("channels-lite", {"dev"})
    assert "pytest" in needed
    assert sorted(needed - set(pins)) == []
