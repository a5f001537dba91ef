"""The samples of docs/topics/testing.rst: the chat project's tests, handler errors."""

from __future__ import annotations

import re

import pytest

from tests.docs._examples import example, load_example
from tests.docs._server import run_in


def test_project_test_suite_passes() -> None:
    result = run_in(example("chatsite/"), "-m", "pytest", "-p", "no:cacheprovider")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b6 passed\b", result.stdout)


@pytest.mark.usefixtures("no_channel_layer")
async def test_handler_error_samples_pass() -> None:
    sample = load_example("testing/handler_errors.py")
    await sample.test_binary_frame_is_refused()
    await sample.test_binary_frame_closes_with_1011_in_production()
