"""Side-by-side benchmarks of channels_lite against Django Channels.

Run ``python -m benchmarks`` (``--quick`` for a smoke run); see
:mod:`benchmarks.__main__` for the options.
"""

from __future__ import annotations

__all__: list[str] = []
