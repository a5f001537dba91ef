"""What both servers of ``channels_lite.serve`` enforce, read from settings.

Nothing here imports a server: :class:`Limits` is shared by the daphne
(:mod:`channels_lite._server.limits`) and the uvicorn
(:mod:`channels_lite._server.uvicorn`) implementations of the limits, and
:func:`release` by their version guards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

__all__ = ["CLOSE_POLICY_VIOLATION", "OVERFLOW_GRACE", "Limits", "dotted", "release"]

CLOSE_POLICY_VIOLATION = 1008
OVERFLOW_GRACE = 5.0
"""Seconds a client closed for not reading gets to read what was queued."""


def _setting(name: str, default: Any) -> Any:
    from django.conf import settings

    try:
        return getattr(settings, name, default)
    except ImproperlyConfigured:
        # Django is not set up (an application that does not use it).
        return default


def _positive(name: str, default: float | None, *, integer: bool = False) -> Any:
    """Return setting ``name``: a positive number (an int if ``integer``) or None."""
    value = _setting(name, default)
    if value is None:
        return None
    number = isinstance(value, int) or (not integer and isinstance(value, float))
    if isinstance(value, bool) or not number or value <= 0:
        kind = "integer" if integer else "number"
        raise ImproperlyConfigured(
            f"{name} must be a positive {kind} or None, not {value!r}"
        )
    return value


@dataclass(frozen=True)
class Limits:
    """The limits a server enforces; ``None`` disables one."""

    handshake_timeout: float | None = 10.0
    max_send_buffer: int | None = 4 * 1024 * 1024
    max_connections_per_client: int | None = None

    @classmethod
    def from_settings(cls) -> Limits:
        """Return the limits Django's settings ask for, or the defaults.

        Raises ImproperlyConfigured for a value that is not a positive
        number or None.
        """
        return cls(
            handshake_timeout=_positive(
                "CHANNELS_LITE_HANDSHAKE_TIMEOUT", cls.handshake_timeout
            ),
            max_send_buffer=_positive(
                "CHANNELS_LITE_MAX_SEND_BUFFER", cls.max_send_buffer, integer=True
            ),
            max_connections_per_client=_positive(
                "CHANNELS_LITE_MAX_CONNECTIONS_PER_CLIENT",
                cls.max_connections_per_client,
                integer=True,
            ),
        )


def release(version: str) -> tuple[int, ...]:
    """Return the release numbers of ``version`` ("4.3.0rc1" gives (4, 3, 0))."""
    match = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(part) for part in match.group().split(".")) if match else ()


def dotted(numbers: tuple[int, ...]) -> str:
    """Return ``numbers`` as a version string ((4, 3) gives "4.3")."""
    return ".".join(map(str, numbers))
