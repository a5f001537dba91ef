"""The Redis layer's ``hosts`` setting, and which host owns which name.

Every name (channel queue or group member queue) maps to one host by
rendezvous hashing over stable host identities, so senders and the receiver
of a process-local channel always agree, and adding a host moves only about
``1 / (n + 1)`` of the names.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured
from redis import retry as sync_retry

__all__ = ["HostConfig", "ShardRing", "parse_hosts"]


@dataclass(frozen=True)
class HostConfig:
    """One Redis host of the layer, as parsed from the ``hosts`` setting.

    ``ident`` is the stable identity sharding hashes (equal settings give equal
    identities in every process); ``label`` names the host in messages without
    its password.
    """

    ident: str
    label: str
    url: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    sentinels: tuple[tuple[str, int], ...] = ()
    master_name: str | None = None
    sentinel_options: dict[str, Any] = field(default_factory=dict)
    cluster_nodes: tuple[str, ...] = ()


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"***@{netloc}"))


def _parse_cluster(options: dict[str, Any]) -> HostConfig:
    nodes = options.pop("cluster")
    if isinstance(nodes, str | bytes) or not nodes:
        raise ImproperlyConfigured(
            f"'cluster' must list the URLs of startup nodes, not {nodes!r}"
        )
    urls = tuple(str(url) for url in nodes)
    return HostConfig(
        ident="cluster:" + ",".join(sorted(urls)),
        label="cluster " + ",".join(_redact(url) for url in urls),
        options=options,
        cluster_nodes=urls,
    )


def _parse_dict(entry: dict[str, Any]) -> HostConfig:
    options = dict(entry)
    if "cluster" in options:
        return _parse_cluster(options)
    if "master_name" in options:
        master = str(options.pop("master_name"))
        sentinels = tuple(
            (str(host), int(port)) for host, port in options.pop("sentinels", ())
        )
        if not sentinels:
            raise ImproperlyConfigured(
                f"The Sentinel entry for {master!r} needs a 'sentinels' list"
            )
        # Sentinel entries naming one master with different dbs are different
        # shards, and so are masters of one name watched by other Sentinels.
        db = options.get("db", 0)
        watchers = ",".join(f"{host}:{port}" for host, port in sorted(sentinels))
        return HostConfig(
            ident=f"sentinel:{master}/{db}@{watchers}",
            label=f"sentinel master {master!r} db {db} via {watchers}",
            options=options,
            sentinels=sentinels,
            master_name=master,
            sentinel_options=dict(options.pop("sentinel_kwargs", None) or {}),
        )
    if "address" in options:
        url = str(options.pop("address"))
        # A db option beside the address picks another database of that server.
        db = f" db {options['db']}" if "db" in options else ""
        return HostConfig(
            ident=url + db, label=_redact(url) + db, url=url, options=options
        )
    host = options.get("host", "localhost")
    label = f"{host}:{options.get('port', 6379)}/{options.get('db', 0)}"
    if "unix_socket_path" in options:
        label = f"unix:{options['unix_socket_path']}/{options.get('db', 0)}"
    return HostConfig(ident=label, label=label, options=options)


def _parse_entry(entry: object) -> HostConfig:
    if isinstance(entry, str):
        return HostConfig(ident=entry, label=_redact(entry), url=entry)
    if isinstance(entry, dict):
        return _parse_dict(entry)
    if isinstance(entry, tuple | list) and len(entry) == 2:
        host, port = entry
        return HostConfig(
            ident=f"{host}:{port}/0",
            label=f"{host}:{port}",
            options={"host": host, "port": int(port)},
        )
    raise ImproperlyConfigured(
        f"Each Redis host must be a URL, a (host, port) pair or a dict, not {entry!r}"
    )


def parse_hosts(hosts: object) -> list[HostConfig]:
    """Parse the ``hosts`` setting; ``None`` means ``redis://localhost:6379``."""
    if hosts is None or (isinstance(hosts, list | tuple) and not hosts):
        return [_parse_entry("redis://localhost:6379")]
    if isinstance(hosts, str | bytes) or not isinstance(hosts, Iterable):
        raise ImproperlyConfigured(
            f"hosts must be a list of Redis hosts, even for one host, not {hosts!r}"
        )
    configs = [_parse_entry(entry) for entry in hosts]
    for config in configs:
        retry = config.options.get("retry")
        # redis-py's asyncio connections accept the synchronous class but it
        # never retries there: its call_with_retry returns the coroutine.
        if isinstance(retry, sync_retry.Retry):
            raise ImproperlyConfigured(
                f"'retry' of {config.label} must be a "
                f"redis.asyncio.retry.Retry, not {retry!r}"
            )
    idents = [config.ident for config in configs]
    if len(set(idents)) != len(idents):
        raise ImproperlyConfigured(f"hosts lists the same Redis twice: {idents!r}")
    return configs


class ShardRing:
    """Map names to host indexes by rendezvous (highest random weight) hashing."""

    #: Names remembered per ring: hashing a name costs one digest per host.
    CACHE_SIZE = 65536

    def __init__(self, idents: Sequence[str]) -> None:
        self._seeds = [ident.encode() + b"\0" for ident in idents]
        # index(name): the index of the host that owns ``name``.
        self.index: Callable[[str], int] = (
            functools.lru_cache(maxsize=self.CACHE_SIZE)(self._owner)
            if len(self._seeds) > 1
            else _first
        )

    def __len__(self) -> int:
        return len(self._seeds)

    def _owner(self, name: str) -> int:
        raw = name.encode()
        weights = [
            hashlib.blake2b(seed + raw, digest_size=8).digest() for seed in self._seeds
        ]
        return max(range(len(weights)), key=weights.__getitem__)


def _first(name: str) -> int:
    return 0
