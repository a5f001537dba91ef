"""Which lock in requirements/ the running test environment was installed from."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def environment_lock() -> Path | None:
    """Return this environment's lock, or None where it is unpinned.

    ``scripts/setup`` installs from ``requirements/dev.txt``; each tox env
    names its lock in ``PIP_CONSTRAINT``, which ``tox -e latest`` sets empty.
    """
    named = os.environ.get("PIP_CONSTRAINT")
    if named is None:
        return ROOT / "requirements" / "dev.txt"
    return Path(named) if named.strip() else None
