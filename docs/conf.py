"""Sphinx configuration for the channels_lite documentation."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from pathlib import Path

from sphinx.application import Sphinx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

import channels_lite  # noqa: E402

project = "channels_lite"
author = "channels_lite developers"
copyright = "2026, channels_lite developers"
release = channels_lite.__version__
version = ".".join(release.split(".")[:2])

extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
nitpicky = False
# Examples are source files pulled in with literalinclude, not pages.
exclude_patterns = ["_build", "examples"]
# A bare "::" block is plain text: Python samples must come from docs/examples
# through literalinclude, where tests/docs runs them.
highlight_language = "none"
html_theme = "alabaster"

REFERENCE_DIR = Path(__file__).resolve().parent / "reference" / "api"


def public_modules() -> list[str]:
    """Return every importable channels_lite module with no ``_`` in its path."""
    names = ["channels_lite"]
    for info in pkgutil.walk_packages(channels_lite.__path__, "channels_lite."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def write_reference_pages(app: Sphinx) -> None:
    """Write one autodoc page per public module that declares a non-empty ``__all__``.

    Pages are generated so that a module landing in the package is in the
    reference at once; files are rewritten only when their text changes, so
    incremental builds stay incremental.
    """
    REFERENCE_DIR.mkdir(parents=True, exist_ok=True)
    wanted: set[str] = set()
    for name in public_modules():
        if not getattr(importlib.import_module(name), "__all__", None):
            continue
        page = REFERENCE_DIR / f"{name}.rst"
        wanted.add(page.name)
        title = f"``{name}``"
        text = f"{title}\n{'=' * len(title)}\n\n.. automodule:: {name}\n"
        if not page.exists() or page.read_text() != text:
            page.write_text(text)
    for stale in REFERENCE_DIR.glob("*.rst"):
        if stale.name not in wanted:
            stale.unlink()


def _private(cls: type) -> bool:
    parts = [*cls.__module__.split("."), cls.__name__]
    return any(part.startswith("_") for part in parts)


def public_bases(
    app: Sphinx, name: str, obj: object, options: object, bases: list[type]
) -> None:
    """Show a private base class as the nearest public class it builds on.

    "Bases: RedisLayerBase" would send a reader to a class the reference
    does not document; what it promises is its public ancestor's API.
    """
    shown: list[type] = []
    for base in bases:
        if isinstance(base, type) and _private(base):
            base = next((c for c in base.__mro__[1:] if not _private(c)), object)
        if base not in shown:
            shown.append(base)
    bases[:] = shown


def setup(app: Sphinx) -> None:
    """Generate the per-module reference pages before Sphinx reads the sources."""
    app.connect("builder-inited", write_reference_pages)
    app.connect("autodoc-process-bases", public_bases)
