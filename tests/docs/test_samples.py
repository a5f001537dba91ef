"""The guarantee that the documentation's code cannot rot.

Python shown in the docs must come from a file under ``docs/examples/``
(pulled in with ``literalinclude``), and every such file must be exercised by
a test in ``tests/docs/`` through ``example("...")`` or ``load_example("...")``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sphinx.application import Sphinx

from tests.docs._blocks import (
    Block,
    is_uncovered_python,
    iter_blocks,
    looks_like_python,
)
from tests.docs._examples import EXAMPLES

TESTS = Path(__file__).resolve().parent
LOADERS = frozenset({"example", "load_example", "load_settings"})


def exercised_examples() -> set[str]:
    """Return the example paths that tests in ``tests/docs`` name literally.

    A directory (``"tutorial/"``) stands for every file below it.
    """
    found: set[str] = set()
    for test_file in TESTS.rglob("*.py"):
        for node in ast.walk(ast.parse(test_file.read_text())):
            if (
                isinstance(node, ast.Call)
                and _called_name(node.func) in LOADERS
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def example_files() -> set[str]:
    """Return every file under ``docs/examples`` as a posix path below it."""
    return {
        path.relative_to(EXAMPLES).as_posix()
        for path in EXAMPLES.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def is_exercised(relpath: str, exercised: set[str]) -> bool:
    """Return whether ``relpath`` or a directory holding it is exercised."""
    return relpath in exercised or any(
        entry.endswith("/") and relpath.startswith(entry) for entry in exercised
    )


@pytest.fixture(scope="module")
def blocks(sphinx_app: Sphinx) -> list[Block]:
    return iter_blocks(sphinx_app)


def test_docs_python_blocks_come_from_examples(blocks: list[Block]) -> None:
    uncovered = [block.where for block in blocks if is_uncovered_python(block)]
    assert uncovered == [], (
        "Python in the docs must be a file under docs/examples shown with "
        f"literalinclude and run by a test in tests/docs: {uncovered}"
    )


def test_docs_included_examples_are_exercised(blocks: list[Block]) -> None:
    exercised = exercised_examples()
    unrun = sorted(
        {
            block.example
            for block in blocks
            if block.example is not None and not is_exercised(block.example, exercised)
        }
    )
    assert unrun == [], f"shown in the docs but run by no test in tests/docs: {unrun}"


def test_docs_example_files_are_all_exercised() -> None:
    exercised = exercised_examples()
    idle = sorted(p for p in example_files() if not is_exercised(p, exercised))
    assert idle == [], f"under docs/examples but run by no test in tests/docs: {idle}"


def test_docs_exercised_examples_exist() -> None:
    missing = sorted(p for p in exercised_examples() if not (EXAMPLES / p).exists())
    assert missing == []


def test_docs_examples_are_shown(blocks: list[Block]) -> None:
    shown = {block.example for block in blocks if block.example is not None}
    assert shown, "no page includes anything from docs/examples"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("pip install channels-lite", False, id="shell"),
        pytest.param("mysite/asgi.py", False, id="path"),
        pytest.param("channels_lite", False, id="bare-name"),
        pytest.param("Exception\n├── ChannelFull", False, id="tree"),
        pytest.param("ASGI_APPLICATION = 'mysite.asgi.application'", True, id="assign"),
        pytest.param("import channels_lite", True, id="import"),
        pytest.param("get_channel_layer()", True, id="call"),
    ],
)
def test_looks_like_python_separates_code_from_text(text: str, expected: bool) -> None:
    assert looks_like_python(text) is expected
