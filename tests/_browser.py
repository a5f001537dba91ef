"""Helpers for the Selenium tests: read what the page wrote to its console.

A page can be broken without any test step failing: an invalid ``pattern``
attribute is skipped by the browser with only a console error, and a missing
favicon is a 404 there. The browser tests fail on any such error.
"""

from __future__ import annotations

from typing import Any

# Chromium's level for console.error(), uncaught exceptions, invalid markup
# it ignores, and failed resource loads.
_ERROR_LEVEL = "SEVERE"


def log_the_console(options: Any) -> None:
    """Make chromedriver keep the console messages :func:`console_errors` reads."""
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})


def console_errors(driver: Any) -> list[str]:
    """Return the console errors logged since the last call (the log is drained)."""
    entries: list[dict[str, Any]] = driver.get_log("browser")
    return [str(e["message"]) for e in entries if e["level"] == _ERROR_LEVEL]
