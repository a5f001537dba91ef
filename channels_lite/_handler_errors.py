"""Whether a failing handler ends the application or only its connection.

A context variable rather than a setting, because only the test
communicators (:mod:`channels_lite.testing`) turn it on, and only for the
application they run; :mod:`channels_lite.generic.websocket` reads it when a
handler fails.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["handler_errors_raised"]

handler_errors_raised: ContextVar[bool] = ContextVar(
    "channels_lite.handler_errors_raised", default=False
)
"""Whether a failing websocket handler ends the application, as in Channels.

Off in production, where the consumer closes with 1011 and keeps serving;
the test communicators turn it on for the application they run, so that the
handler's exception reaches the test where Channels' communicators raise it.
"""
