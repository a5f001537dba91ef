"""One module per Redis topology, behind one shard interface.

:class:`~channels_lite.layers.redis._topology.base.Shard` is what the layer
asks of a host; ``standalone.py``, ``sentinel.py`` and ``cluster.py``
implement it, and :func:`connect` picks one from a parsed host entry. A new
topology is a new module here and one line in :func:`connect`.
"""

from __future__ import annotations

from typing import Any

from channels_lite.layers.redis._hosts import HostConfig
from channels_lite.layers.redis._topology.base import (
    ScriptCall,
    Shard,
    connection_options,
)
from channels_lite.layers.redis._topology.cluster import ClusterShard
from channels_lite.layers.redis._topology.sentinel import SentinelShard
from channels_lite.layers.redis._topology.standalone import StandaloneShard

__all__ = ["ScriptCall", "Shard", "connect"]


def connect(
    config: HostConfig,
    scripts: dict[str, str],
    extra_options: dict[str, Any] | None = None,
) -> Shard:
    """Return the shard of ``config``'s topology, with ``scripts`` registered.

    Connections open on first use, in the running event loop.
    """
    options = connection_options(config, extra_options)
    if config.cluster_nodes:
        return ClusterShard(config, scripts, options)
    if config.master_name is not None:
        return SentinelShard(config, scripts, options)
    return StandaloneShard(config, scripts, options)
