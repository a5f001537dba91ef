"""docs/topics/architecture.rst: every file and folder it names exists.

The page is a map of the package; a module that moves without the page
following makes this fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PAGE = ROOT / "docs" / "topics" / "architecture.rst"
PACKAGE = ROOT / "channels_lite"
# A path: words, dots and slashes, ending in ".py" or in "/".
NAMED = re.compile(r"(?<![\w<>/.-])([\w.]+(?:/[\w.]+)*(?:\.py|/))(?![\w<>])")


def _named() -> list[str]:
    return sorted(set(NAMED.findall(PAGE.read_text())))


def test_the_page_names_the_modules_it_maps() -> None:
    named = _named()
    assert "channels_lite/_server/" in named
    assert "layers/redis/_topology/" in named
    assert "_dispatch.py" in named


@pytest.mark.parametrize("name", _named())
def test_every_named_file_exists(name: str) -> None:
    if "/" in name.rstrip("/"):
        # A path from the repository root or from the package.
        assert (ROOT / name).exists() or (PACKAGE / name).exists()
    else:
        # A bare file name, named within the package it lives in.
        assert any(PACKAGE.rglob(name.rstrip("/"))), name
