"""Fixtures for the fault tests: the e2e daphne and layer fixtures, reused."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import daphne_server
from tests.layers.conftest import (
    LAYER_FACTORIES,
    LayerFactory,
    inmemory_layer_factory,
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


@pytest.fixture(params=LAYER_FACTORIES)
def layer_factory(request: pytest.FixtureRequest) -> LayerFactory:
    """Return a factory of each layer whose full channels refuse sends."""
    factory: LayerFactory = request.getfixturevalue(request.param)
    return factory
