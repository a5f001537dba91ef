"""The limits a server reads from Django's settings (channels_lite._server.limits).

What the limits do to real connections is tested in tests/faults/test_serve.py.
"""

from __future__ import annotations

import gc
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

# daphne.server first: it installs the asyncio reactor the factory uses.
from channels_lite._server import (
    daphne as _daphne,  # noqa: F401
)
from channels_lite._server import limits as _limits
from channels_lite._server.limits import LimitedHTTPFactory, Limits


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


class FakeReactor:
    """Records callLater calls instead of scheduling them."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, Callable[..., Any], tuple[Any, ...]]] = []

    def callLater(self, delay: float, function: Callable[..., Any], *args: Any) -> None:
        self.calls.append((delay, function, args))

    def run_all(self) -> None:
        for _, function, args in self.calls:
            function(*args)


@dataclass
class FakeServer:
    limits: Limits

    def protocol_connected(self, protocol: object) -> None:
        """Daphne's requests report themselves; nothing to do here."""


def _factory(limits: Limits) -> tuple[LimitedHTTPFactory, FakeReactor]:
    factory = LimitedHTTPFactory(FakeServer(limits))
    reactor = FakeReactor()
    factory._reactor = reactor
    return factory, reactor


class TcpLikeTransport(StringTransport):
    """A connected TCP transport holds its protocol, as the reactor's do."""

    protocol: Any = None


def _connect(factory: LimitedHTTPFactory, port: int) -> tuple[Any, TcpLikeTransport]:
    protocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", port))
    assert protocol is not None
    transport = TcpLikeTransport()  # type: ignore[no-untyped-call]
    transport.protocol = protocol
    protocol.makeConnection(transport)
    return protocol, transport


def test_handshake_deadline_aborts_a_connection_without_a_request_head(
    caplog: pytest.LogCaptureFixture,
) -> None:
    factory, reactor = _factory(Limits(handshake_timeout=3))
    _, silent = _connect(factory, 1001)
    _, headed = _connect(factory, 1002)
    factory.head_received(headed)
    assert [delay for delay, _, _ in reactor.calls] == [3, 3]
    with caplog.at_level(logging.INFO, logger="channels_lite._server.limits"):
        reactor.run_all()
    assert (silent.disconnected, headed.disconnected) == (True, False)
    [record] = caplog.records
    assert "from 127.0.0.1:1001 that sent no complete request head" in record.message


def test_handshake_deadline_marks_the_head_when_headers_are_complete() -> None:
    factory, reactor = _factory(Limits(handshake_timeout=3))
    protocol, transport = _connect(factory, 1001)
    protocol.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\n")
    reactor.run_all()
    assert transport.disconnected

    factory, reactor = _factory(Limits(handshake_timeout=3))
    protocol, transport = _connect(factory, 1002)
    # The body may take longer: only the head counts.
    protocol.dataReceived(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n")
    reactor.run_all()
    assert not transport.disconnected


def test_handshake_deadline_does_not_keep_a_closed_connection_alive() -> None:
    factory, reactor = _factory(Limits(handshake_timeout=3))
    protocol, transport = _connect(factory, 1001)
    alive = weakref.ref(protocol)
    protocol.connectionLost(ConnectionDone())
    del protocol, transport
    gc.collect()
    # The pending deadline alone must not hold the connection's memory.
    assert alive() is None
    reactor.run_all()


def test_handshake_deadline_is_cancelled_once_the_head_is_in() -> None:
    factory = LimitedHTTPFactory(FakeServer(Limits(handshake_timeout=3)))
    clock = Clock()
    factory._reactor = clock
    protocol, transport = _connect(factory, 1001)
    assert len(clock.getDelayedCalls()) == 1
    protocol.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert clock.getDelayedCalls() == []
    clock.advance(5)
    assert not transport.disconnected


def test_handshake_deadline_cancelled_leaves_no_record_of_the_head() -> None:
    factory = LimitedHTTPFactory(FakeServer(Limits(handshake_timeout=3)))
    factory._reactor = Clock()
    protocol, transport = _connect(factory, 1001)
    protocol.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    # The cancelled deadline needs no record; only an unknown one would.
    assert transport not in factory._headed
    assert len(factory._deadlines) == 0


def test_handshake_deadline_off_schedules_nothing() -> None:
    factory, reactor = _factory(Limits(handshake_timeout=None))
    _connect(factory, 1001)
    assert reactor.calls == []


def test_connections_per_client_are_refused_past_the_cap(
    caplog: pytest.LogCaptureFixture,
) -> None:
    factory, _ = _factory(Limits(max_connections_per_client=2))
    _, first = _connect(factory, 1001)
    _connect(factory, 1002)
    with caplog.at_level(logging.WARNING, logger="channels_lite._server.limits"):
        assert factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1003)) is None
    assert "Refused a connection from 127.0.0.1: it holds 2" in caplog.text
    assert factory.buildProtocol(IPv4Address("TCP", "10.0.0.2", 1004)) is not None
    first.connected = False
    assert factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1005)) is not None


def test_connections_per_client_forget_addresses_that_hold_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_limits, "_SWEEP_EVERY", 2)
    factory, _ = _factory(Limits(max_connections_per_client=5))
    _, gone = _connect(factory, 1001)
    gone.connected = False
    protocol = factory.buildProtocol(IPv4Address("TCP", "10.0.0.2", 1002))
    assert protocol is not None
    protocol.makeConnection(StringTransport())  # type: ignore[no-untyped-call]
    assert len(factory._held("10.0.0.2")) == 1
    assert list(factory._by_client) == ["10.0.0.2"]


def test_connections_per_client_count_a_connection_a_websocket_took_over() -> None:
    # Daphne hands an upgraded connection's transport to a websocket
    # protocol and drops the HTTP one: the count must not drop with it.
    factory, _ = _factory(Limits(max_connections_per_client=1))
    protocol, transport = _connect(factory, 1001)
    assert len(factory._held("127.0.0.1")) == 1
    transport.protocol = object()
    alive = weakref.ref(protocol)
    del protocol
    gc.collect()
    assert alive() is None
    assert factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1002)) is None


class Buffered:
    def __init__(self, data: bytes, offset: int, temp: int) -> None:
        self.dataBuffer = data
        self.offset = offset
        self._tempDataLen = temp


class Wrapper:
    def __init__(self, transport: object) -> None:
        self.transport = transport


@pytest.mark.parametrize(
    ("transport", "pending"),
    [
        pytest.param(Buffered(b"x" * 10, 4, 7), 13, id="tcp"),
        pytest.param(Wrapper(Buffered(b"", 0, 5)), 5, id="tls-wrapped"),
        pytest.param(Wrapper(object()), None, id="unknown"),
        pytest.param(Wrapper(Wrapper(Wrapper(Buffered(b"", 0, 1)))), None, id="deep"),
    ],
)
def test_pending_counts_the_bytes_a_transport_holds(
    transport: object, pending: int | None
) -> None:
    assert _limits._pending(transport) == pending
