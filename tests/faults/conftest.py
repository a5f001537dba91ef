"""Fixtures for the fault tests: the e2e daphne and layer fixtures, reused."""

from __future__ import annotations

from tests.e2e.conftest import daphne_server
from tests.layers.conftest import (
    inmemory_layer_factory,
    layer_factory,
    redis_cluster_layer_factory,
    redis_layer_factory,
)

__all__ = [
    "daphne_server",
    "inmemory_layer_factory",
    "layer_factory",
    "redis_cluster_layer_factory",
    "redis_layer_factory",
]
