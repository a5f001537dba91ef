"""Build channel layers in a test and close every one of them afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from channels_lite.layers import BaseChannelLayer

_Layer = TypeVar("_Layer", bound=BaseChannelLayer)


@contextlib.asynccontextmanager
async def building_layers(
    cls: Callable[..., _Layer], *, flush: bool = False, **defaults: Any
) -> AsyncIterator[Callable[..., _Layer]]:
    """Yield a factory of ``cls(**defaults, **options)``; close what it built.

    With ``flush=True`` each layer is flushed before it is closed.
    """
    built: list[_Layer] = []

    def build(**options: Any) -> _Layer:
        layer = cls(**{**defaults, **options})
        built.append(layer)
        return layer

    try:
        yield build
    finally:
        for layer in built:
            if flush:
                await layer.flush()
            await layer.close()
