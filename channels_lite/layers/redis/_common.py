"""What the two Redis layers share: channels_redis's options and the message bodies.

``RedisChannelLayer`` (lists and Lua scripts) and ``RedisPubSubChannelLayer``
(PUBLISH and SUBSCRIBE) move messages differently, but take the same options
from channels_redis and read them the same way, and seal and open message
bodies the same way. Both read them here, once, so that an option, a default
or an error message changes in one place.

It is a private base class rather than a helper object because users and
tests read the parsed options as attributes of the layer itself
(``layer.hosts``, ``layer.prefix``, ``layer.crypter``, ``layer.serializer``,
``layer.client_prefix``, ``layer.stats``). Each layer keeps its own
``__init__`` with channels_redis's signature and defines its public methods
itself, so the reference documents them on the layer; only private helpers
live here.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from channels_lite.exceptions import ForeignChannelError
from channels_lite.layers.base import BaseChannelLayer
from channels_lite.layers.redis._hosts import ShardRing, parse_hosts
from channels_lite.layers.redis._shards import LoopClients
from channels_lite.layers.redis.crypto import FernetEncryptor
from channels_lite.layers.redis.serializers import load_serializer

__all__ = ["RedisLayerBase"]


class RedisLayerBase(BaseChannelLayer):
    """Parse the options both Redis layers take, and seal and open bodies.

    ``scripts`` are the Lua scripts the layer's shards load. Subclasses set
    ``_logger`` to their module's logger, so what this class logs keeps the
    logger name users configure.
    """

    _logger: ClassVar[logging.Logger]

    def __init__(
        self,
        *,
        hosts: Sequence[Any] | None,
        prefix: str,
        expiry: int,
        group_expiry: int,
        capacity: int,
        channel_capacity: Mapping[Any, int] | None,
        symmetric_encryption_keys: Sequence[str | bytes] | None,
        serializer_format: object,
        scripts: dict[str, str],
    ) -> None:
        super().__init__(
            expiry=expiry, capacity=capacity, channel_capacity=channel_capacity
        )
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, not {prefix!r}")
        self.prefix = prefix
        self.group_expiry = group_expiry
        self.hosts = parse_hosts(hosts)
        self.ring = ShardRing([host.ident for host in self.hosts])
        self.serializer = load_serializer(serializer_format, expiry=expiry)
        self.crypter = (
            FernetEncryptor(symmetric_encryption_keys, ttl=int(expiry) + 10)
            if symmetric_encryption_keys
            else None
        )
        self.client_prefix = secrets.token_hex(6)
        self.stats: Counter[str] = Counter()
        self._clients = LoopClients(self.hosts, scripts)
        # How the queue name of this instance's process-local channels ends.
        self._own_queue_end = f".{self.client_prefix}!"

    def __repr__(self) -> str:
        hosts = ", ".join(host.label for host in self.hosts)
        return f"{type(self).__name__}(hosts=[{hosts}], prefix={self.prefix!r})"

    # Bodies

    def _encode(self, message: object) -> bytes:
        """Return ``message`` as the bytes sent through Redis."""
        self.require_valid_message(message)
        body = self.serializer.dumps(message)  # type: ignore[arg-type]
        return self.crypter.encrypt(body) if self.crypter else body

    def _decrypt(self, body: bytes) -> bytes | None:
        """Return the plain body, or None if no key decrypts it."""
        return self.crypter.decrypt(body) if self.crypter else body

    def _undecryptable(self, channel: str) -> None:
        """Count and log a message on ``channel`` that no key decrypts."""
        self.stats["undecryptable"] += 1
        self._logger.warning("Dropped a message on %s that no key decrypts", channel)

    # Names

    def _new_name(self, prefix: str) -> str:
        """Return a new, valid process-local channel name of this instance."""
        stem = prefix if prefix.endswith(".") else f"{prefix}."
        name = f"{stem}{self.client_prefix}!{secrets.token_hex(8)}"
        self.require_valid_channel_name(name)
        return name

    def _own_queue(self, channel: str) -> str:
        """Return the queue of process-local ``channel``; refuse another's.

        The messages of a channel another instance made go to that instance:
        reading them here would block, or steal them.
        """
        queue = self.non_local_name(channel)
        if not queue.endswith(self._own_queue_end):
            raise ForeignChannelError(channel)
        return queue

    # Shared steps of the extensions

    async def _delete_keys(self, pattern: str) -> None:
        """Delete the keys matching ``pattern`` on every host (SCAN, never KEYS)."""
        for shard in self._clients.current().shards:
            await shard.delete_matching(pattern)

    def _group_send_done(
        self, group: str, dropped: int, results: Sequence[object]
    ) -> None:
        """Count and log the members that missed a group_send; raise its error."""
        if dropped:
            self.stats["group_send_dropped"] += dropped
            self._logger.warning(
                "group_send to %r: %d member(s) at capacity missed the message",
                group,
                dropped,
            )
        for result in results:
            if isinstance(result, BaseException):
                raise result
