"""Run blocking Django code (ORM, session stores) off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async

_P = ParamSpec("_P")
_R = TypeVar("_R")


async def run_in_thread(
    func: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs
) -> _R:
    """Call ``func`` in the thread-sensitive worker thread; return its result."""
    return await sync_to_async(func, thread_sensitive=True)(*args, **kwargs)
