"""The tutorial's chat project under docs/examples/tutorial.

The chat app runs over real websockets in ``tests/e2e/test_daphne.py``; here
its source is held to the promise that only the imports differ from Channels'
tutorial.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.docs._examples import example

TUTORIAL_FILES = sorted(example("tutorial/").rglob("*.py"))


def imported_modules(source: Path) -> list[str]:
    tree = ast.parse(source.read_text(), filename=str(source))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(path, id=path.relative_to(example("tutorial/")).as_posix())
        for path in TUTORIAL_FILES
    ],
)
def test_tutorial_imports_channels_lite_not_channels(source: Path) -> None:
    stray = [
        name
        for name in imported_modules(source)
        if name == "channels" or name.startswith("channels.")
    ]
    assert stray == []


def test_tutorial_has_both_consumer_flavours() -> None:
    consumers = {
        path.parent.parent.name: imported_modules(path)
        for path in TUTORIAL_FILES
        if path.name == "consumers.py"
    }
    assert consumers == {
        "part_2": ["json", "asgiref.sync", "channels_lite.generic.websocket"],
        "part_3": ["json", "channels_lite.generic.websocket"],
    }
