"""A master found through Redis Sentinel: ``{"sentinels": [...], "master_name": ...}``.

The same clients as a single server (:mod:`.standalone`), made by
redis-py's :class:`~redis.asyncio.sentinel.Sentinel`, which asks the
Sentinels for the current master on every new connection and so follows a
failover.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel

from channels_lite.layers.redis._hosts import HostConfig
from channels_lite.layers.redis._topology.base import WAIT_CONNECTIONS
from channels_lite.layers.redis._topology.standalone import StandaloneShard

__all__ = ["SentinelShard"]

# redis-py annotates Sentinel's constructor only from 8.2 on. Calling it
# through a typed name checks cleanly whether the installed release types it
# or not, where an ignore comment is an error under one of the two.
_new_sentinel: Callable[..., Sentinel] = Sentinel


class SentinelShard(StandaloneShard):
    """The clients of one Sentinel-watched master in one event loop."""

    def __init__(
        self, config: HostConfig, scripts: dict[str, str], options: dict[str, Any]
    ) -> None:
        if config.master_name is None:
            raise ValueError(f"{config.label} is not a Sentinel entry")
        self.master_name = config.master_name
        self.sentinel = _new_sentinel(
            list(config.sentinels), sentinel_kwargs=config.sentinel_options or None
        )
        super().__init__(config, scripts, options)

    def _commands_client(self, options: dict[str, Any]) -> Redis:
        # Sentinel's pool is not bounded by the layer: commands never wait.
        return self._new_client(options)

    def _new_client(self, options: dict[str, Any]) -> Redis:
        options = {"max_connections": WAIT_CONNECTIONS, **options}
        client: Redis = self.sentinel.master_for(self.master_name, **options)
        return client

    async def _close_clients(self) -> None:
        """Close both pools and the connections to the Sentinels."""
        await super()._close_clients()
        for sentinel in self.sentinel.sentinels:
            await sentinel.aclose()
