"""The samples of docs/topics/testing.rst: the chat project's own test suite."""

from __future__ import annotations

import re

from tests.docs._examples import example
from tests.docs._server import run_in


def test_project_test_suite_passes() -> None:
    result = run_in(example("chatsite/"), "-m", "pytest", "-p", "no:cacheprovider")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b6 passed\b", result.stdout)
