"""Classify the literal blocks of a Sphinx doctree for ``test_samples``."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx

from tests.docs._examples import EXAMPLES

PYTHON_LANGUAGES = frozenset(
    {"python", "python3", "py", "py3", "pycon", "ipython", "default", "pytb"}
)
"""Highlight languages whose blocks count as Python samples."""


@dataclass(frozen=True)
class Block:
    """One literal block of one page."""

    docname: str
    language: str
    text: str
    source: Path | None
    """The file ``literalinclude`` read the block from, or ``None`` if inline."""

    @property
    def example(self) -> str | None:
        """Return the path below ``docs/examples`` this block shows, if any."""
        if self.source is None or not self.source.is_relative_to(EXAMPLES):
            return None
        return self.source.relative_to(EXAMPLES).as_posix()

    @property
    def where(self) -> str:
        """Return ``page: first line`` to point a reader at the block."""
        first = self.text.strip().splitlines()[0] if self.text.strip() else ""
        return f"{self.docname}: {first[:60]!r}"


def looks_like_python(text: str) -> bool:
    """Return whether ``text`` parses as Python that does more than name a thing.

    A bare name or path (``mysite/asgi.py`` parses as a division) is not
    code; an assignment, import, definition or call is.
    """
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return False
    for statement in tree.body:
        if not isinstance(statement, ast.Expr):
            return True
        if any(isinstance(node, ast.Call) for node in ast.walk(statement)):
            return True
    return False


def iter_blocks(app: Sphinx) -> list[Block]:
    """Return every literal and doctest block of every page, in page order."""
    blocks: list[Block] = []
    for docname in sorted(app.env.found_docs):
        doctree = app.env.get_doctree(docname)
        default = _default_language(doctree, app.config.highlight_language)
        for node in doctree.findall(nodes.literal_block):
            source = node.get("source")
            blocks.append(
                Block(
                    docname=docname,
                    language=node.get("language", default),
                    text=node.astext(),
                    source=Path(source).resolve() if source else None,
                )
            )
        blocks.extend(
            Block(docname, "pycon", doctest.astext(), None)
            for doctest in doctree.findall(nodes.doctest_block)
        )
    return blocks


def _default_language(doctree: nodes.document, configured: str) -> str:
    """Return the language of a page's blocks that name none.

    Sphinx applies ``highlight_language`` and ``.. highlight::`` only when it
    writes output; a page that switches to Python anywhere counts as Python
    throughout, which errs on the side of checking.
    """
    languages = {node["lang"] for node in doctree.findall(addnodes.highlightlang)}
    python = languages & PYTHON_LANGUAGES
    return min(python) if python else configured


def is_uncovered_python(block: Block) -> bool:
    """Return whether ``block`` is Python that no test runs.

    Only files under ``docs/examples`` are run by tests, so Python anywhere
    else, inline or included from elsewhere, is uncovered.
    """
    if block.example is not None:
        return False
    if block.language in PYTHON_LANGUAGES:
        return True
    return block.language in {"none", "text"} and looks_like_python(block.text)
