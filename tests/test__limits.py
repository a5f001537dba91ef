"""The limits a server reads from Django's settings (channels_lite._limits).

What the limits do to real connections is tested in tests/faults/test_serve.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from channels_lite._limits import Limits


def test_limits_default_to_ten_seconds_four_mib_and_no_address_cap() -> None:
    assert Limits.from_settings() == Limits(
        handshake_timeout=10.0,
        max_send_buffer=4 * 1024 * 1024,
        max_connections_per_client=None,
    )


def test_limits_come_from_settings() -> None:
    with override_settings(
        CHANNELS_LITE_HANDSHAKE_TIMEOUT=2.5,
        CHANNELS_LITE_MAX_SEND_BUFFER=65536,
        CHANNELS_LITE_MAX_CONNECTIONS_PER_CLIENT=50,
    ):
        limits = Limits.from_settings()
    assert limits == Limits(
        handshake_timeout=2.5, max_send_buffer=65536, max_connections_per_client=50
    )


def test_limits_none_disables_a_limit() -> None:
    with override_settings(
        CHANNELS_LITE_HANDSHAKE_TIMEOUT=None, CHANNELS_LITE_MAX_SEND_BUFFER=None
    ):
        limits = Limits.from_settings()
    assert (limits.handshake_timeout, limits.max_send_buffer) == (None, None)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("CHANNELS_LITE_HANDSHAKE_TIMEOUT", 0, id="zero-timeout"),
        pytest.param("CHANNELS_LITE_HANDSHAKE_TIMEOUT", "10", id="string-timeout"),
        pytest.param("CHANNELS_LITE_HANDSHAKE_TIMEOUT", True, id="bool-timeout"),
        pytest.param("CHANNELS_LITE_MAX_SEND_BUFFER", 1.5, id="float-buffer"),
        pytest.param("CHANNELS_LITE_MAX_CONNECTIONS_PER_CLIENT", -1, id="negative-cap"),
        pytest.param("CHANNELS_LITE_MAX_CONNECTIONS_PER_CLIENT", 2.5, id="float-cap"),
    ],
)
def test_limits_refuse_invalid_settings(name: str, value: Any) -> None:
    with (
        override_settings(**{name: value}),
        pytest.raises(ImproperlyConfigured, match=f"{name} must be a positive"),
    ):
        Limits.from_settings()
