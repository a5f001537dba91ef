"""Find and run the documentation's code samples kept under ``docs/examples/``.

Pages show samples with ``literalinclude``; the tests in ``tests/docs/`` reach
them only through :func:`example`, :func:`load_example` and
:func:`load_settings`, always with a
literal path, so that ``test_samples`` can read which files are exercised
straight from the test sources.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
PACKAGE = "docs_examples"


def example(relpath: str) -> Path:
    """Return the path of ``docs/examples/<relpath>``, a file or a directory."""
    path = EXAMPLES / relpath
    if not path.exists():
        raise FileNotFoundError(f"No documentation example {relpath!r} in {EXAMPLES}")
    return path


def load_example(relpath: str) -> ModuleType:
    """Import ``docs/examples/<relpath>`` (a ``.py`` file) and return the module.

    The file is imported as ``docs_examples.<dotted path>``, so samples that
    sit together in a directory may import each other relatively, the way a
    Django app's ``routing.py`` imports its ``consumers.py``.
    """
    path = example(relpath)
    if path.suffix != ".py":
        raise ValueError(f"Only Python examples can be loaded, not {relpath!r}")
    _install_root_package()
    dotted = ".".join(path.relative_to(EXAMPLES).with_suffix("").parts)
    return importlib.import_module(f"{PACKAGE}.{dotted}")


def load_settings(relpath: str) -> dict[str, Any]:
    """Return the upper-case names a settings sample defines, for override_settings."""
    module = load_example(relpath)
    return {name: getattr(module, name) for name in dir(module) if name.isupper()}


def _install_root_package() -> None:
    if PACKAGE in sys.modules:
        return
    spec = importlib.machinery.ModuleSpec(PACKAGE, None, is_package=True)
    module = importlib.util.module_from_spec(spec)
    module.__path__ = [str(EXAMPLES)]
    sys.modules[PACKAGE] = module
