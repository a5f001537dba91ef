"""Refuse WebSocket connections opened from origins the site does not trust.

A browser attaches the site's cookies to a WebSocket handshake whichever page
opened it, so without an ``Origin`` check any website could open a socket as
the logged-in user (cross-site WebSocket hijacking). Put ``OriginValidator``
or ``AllowedHostsOriginValidator`` outermost, around ``AuthMiddlewareStack``.

Allowed-origin patterns:

* ``"*"`` allows every origin, and connections without an ``Origin`` header.
* A bare host, ``"example.com"``, allows that host with any scheme and port;
  ``"example.com:8443"`` pins the port too.
* ``".example.com"`` allows ``example.com`` and every subdomain (Django's
  ``ALLOWED_HOSTS`` rule); ``"*.example.com"`` allows the subdomains only.
* A full origin, ``"https://example.com"`` or ``"https://.example.com:8443"``,
  also requires that scheme and port; a missing port means the scheme's
  default (80 for ``http``/``ws``, 443 for ``https``/``wss``). Origins of
  app schemes without a default port, such as ``"capacitor://localhost"``,
  match a pattern with that scheme and no port, or a bare host.

Hosts compare case-insensitively and ignore one trailing dot; IPv6 hosts
are written in brackets, ``"[::1]"``; international names may be written in
Unicode or punycode. An ``Origin: null`` (sandboxed frames, ``file:`` pages), a
malformed origin or several ``Origin`` headers match only ``"*"``.

A handshake without an ``Origin`` header is refused unless ``"*"`` is allowed
or ``allow_missing_origin=True`` is passed. Browsers always send ``Origin``
on WebSocket handshakes, so a missing header is never a cross-site browser
request; allowing it lets non-browser clients (scripts, mobile apps) connect
and is safe as long as those clients authenticate some other way.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import ParseResult, urlparse

from django.conf import settings
from django.utils.http import is_same_domain

from channels_lite.middleware import BaseMiddleware

if TYPE_CHECKING:
    from channels_lite.types import ASGIApp, Receive, Scope, Send

__all__ = ["AllowedHostsOriginValidator", "OriginValidator", "WebsocketDenier"]

logger = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


class WebsocketDenier:
    """Refuse every WebSocket handshake it receives.

    It closes the socket before accepting it, which the server turns into an
    HTTP 403 response; the inner application never runs. Unlike Channels'
    it is a plain ASGI application, not a consumer, so a refused handshake
    costs no channel-layer channel.
    """

    @classmethod
    def as_asgi(cls) -> WebsocketDenier:
        """Return an ASGI application, like a consumer's ``as_asgi``."""
        return cls()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Answer ``websocket.connect`` with ``websocket.close``."""
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close"})


class OriginValidator(BaseMiddleware):
    """Let WebSocket handshakes through only from ``allowed_origins``.

    See the module documentation for the pattern syntax and the handling of
    a missing ``Origin`` header. A refused connection is closed before it is
    accepted (HTTP 403) and the inner application is never called.
    Non-WebSocket scopes pass through untouched.
    """

    def __init__(
        self,
        application: ASGIApp,
        allowed_origins: Iterable[str],
        *,
        allow_missing_origin: bool = False,
    ) -> None:
        super().__init__(application)
        self.allowed_origins = list(allowed_origins)
        self.allow_missing_origin = allow_missing_origin

    @property
    def application(self) -> ASGIApp:
        """Return the inner application (Channels' name for ``inner``)."""
        return self.inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Call the inner application, or deny the WebSocket handshake."""
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        origins = [v for k, v in scope.get("headers", ()) if k.lower() == b"origin"]
        parsed = _parse_origin(origins)
        if self.valid_origin(parsed):
            return await self.inner(dict(scope), receive, send)
        self._log_refusal(scope, origins, parsed)
        return await WebsocketDenier()(scope, receive, send)

    def _log_refusal(
        self, scope: Scope, origins: list[bytes], parsed: ParseResult | None
    ) -> None:
        """Log a refused handshake with the reason and the setting to change.

        Refusing a page of this very machine (``localhost``, a loopback
        address) is a development or test setup missing a setting, not an
        attack, so it is a WARNING, as is any refusal under ``DEBUG``; other
        refusals are routine for a public site and stay at INFO.
        """
        local = parsed is not None and _is_loopback(parsed.hostname or "")
        logger.log(
            logging.WARNING if settings.DEBUG or local else logging.INFO,
            "Refused WebSocket %s from origin %r: %s",
            scope.get("path", ""),
            [o.decode("latin-1") for o in origins],
            self._refusal_hint(parsed),
        )

    def _refusal_hint(self, parsed_origin: ParseResult | None) -> str:
        """Say why ``parsed_origin`` was refused and what would allow it."""
        if parsed_origin is None:
            return (
                "the handshake has no Origin header; pass allow_missing_origin=True "
                "to accept clients that send none"
            )
        return (
            f"it matches none of allowed_origins {self.patterns()!r}; add it to "
            f"{type(self).__name__}'s allowed_origins to allow it"
        )

    def valid_origin(self, parsed_origin: ParseResult | None) -> bool:
        """Return whether a handshake with this (parsed) origin may connect.

        ``parsed_origin`` is ``None`` when the handshake had no ``Origin``
        header.
        """
        if parsed_origin is None:
            return self.allow_missing_origin or "*" in self.patterns()
        return self.validate_origin(parsed_origin)

    def validate_origin(self, parsed_origin: ParseResult) -> bool:
        """Return whether ``parsed_origin`` matches any allowed pattern."""
        return any(
            pattern == "*" or self.match_allowed_origin(parsed_origin, pattern)
            for pattern in self.patterns()
        )

    def patterns(self) -> list[str]:
        """Return the allowed-origin patterns in force for this connection."""
        return self.allowed_origins

    def match_allowed_origin(self, parsed_origin: ParseResult, pattern: str) -> bool:
        """Return whether ``parsed_origin`` matches the single ``pattern``."""
        origin_host = parsed_origin.hostname
        if not origin_host or parsed_origin.username or _bad_port(parsed_origin):
            return False
        # None for schemes without a default port (capacitor://, tauri://):
        # apps on those send such origins and Channels lets them match.
        origin_port = self.get_origin_port(parsed_origin)
        pattern = pattern.lower()
        has_scheme = "://" in pattern
        parsed_pattern = urlparse(pattern if has_scheme else "//" + pattern)
        if _bad_port(parsed_pattern):
            return False
        pinned_port = parsed_pattern.port
        pattern_host = parsed_pattern.hostname or ""
        if not _host_matches(origin_host, pattern_host):
            return False
        if has_scheme:
            return (
                parsed_pattern.scheme == parsed_origin.scheme
                and self.get_origin_port(parsed_pattern) == origin_port
            )
        return pinned_port is None or pinned_port == origin_port

    def get_origin_port(self, origin: ParseResult) -> int | None:
        """Return the origin's port, else its scheme's default, else ``None``.

        ``None`` also for a malformed port.
        """
        if _bad_port(origin):
            return None
        port = origin.port
        return port if port is not None else _DEFAULT_PORTS.get(origin.scheme)


def AllowedHostsOriginValidator(
    application: ASGIApp, *, allow_missing_origin: bool = False
) -> OriginValidator:
    """Return an ``OriginValidator`` that allows the ``ALLOWED_HOSTS`` hosts.

    Each entry is a bare-host pattern, so any scheme and port is allowed.
    Settings are read per connection. As in Django, an empty
    ``ALLOWED_HOSTS`` with ``DEBUG`` on allows ``.localhost``, ``127.0.0.1``
    and ``[::1]``.
    """
    return _AllowedHostsOriginValidator(
        application, (), allow_missing_origin=allow_missing_origin
    )


class _AllowedHostsOriginValidator(OriginValidator):
    """An ``OriginValidator`` whose patterns follow ``ALLOWED_HOSTS`` live."""

    def patterns(self) -> list[str]:
        hosts = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not hosts:
            hosts = [".localhost", "127.0.0.1", "[::1]"]
        return hosts

    def _refusal_hint(self, parsed_origin: ParseResult | None) -> str:
        if parsed_origin is None:
            return super()._refusal_hint(parsed_origin)
        hosts = list(settings.ALLOWED_HOSTS)
        hint = (
            f"its host {parsed_origin.hostname!r} is not in "
            f"settings.ALLOWED_HOSTS {hosts!r}; add it there to allow it"
        )
        if not settings.DEBUG and not any(h != "testserver" for h in hosts):
            # Django's test runner and pytest-django set DEBUG = False and add
            # "testserver", so the DEBUG-only localhost default is gone.
            hint += (
                " (with DEBUG = False, as under the test runner, an empty "
                "ALLOWED_HOSTS no longer allows localhost)"
            )
        return hint


def _is_loopback(host: str) -> bool:
    """Return whether ``host`` names this machine: localhost or a loopback IP."""
    host = host.removesuffix(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parse_origin(origins: list[bytes]) -> ParseResult | None:
    """Parse the ``Origin`` header values; ``None`` when there is none.

    Several headers, or an undecodable one, give an origin that matches no
    pattern but ``"*"``.
    """
    if not origins:
        return None
    if len(origins) > 1:
        return urlparse("null")
    return urlparse(origins[0].decode("latin-1").strip())


def _bad_port(parsed: ParseResult) -> bool:
    """Return whether ``parsed`` has a port that is not a number in range."""
    try:
        parsed.port  # noqa: B018 - the property validates the port
    except ValueError:
        return True
    return False


def _host_matches(host: str, pattern_host: str) -> bool:
    """Return whether ``host`` matches one pattern's host part.

    As for Django's ``Host`` check, one trailing dot (the DNS root) is
    ignored. Browsers send international names in their ASCII (punycode)
    form, so a pattern written in Unicode is encoded to match them; the
    origin itself is never re-encoded, a client could abuse the mapping.
    """
    host = host.removesuffix(".")
    try:
        pattern_host = _ascii_host(pattern_host.removesuffix("."))
    except UnicodeError:
        return False
    if pattern_host == "*":
        return True
    if pattern_host.startswith("*."):
        return host.endswith(pattern_host[1:])
    return is_same_domain(host, pattern_host)


def _ascii_host(host: str) -> str:
    """Return ``host`` with each non-ASCII label in IDNA (punycode) form."""
    if host.isascii():
        return host
    return ".".join(
        label if label.isascii() else label.encode("idna").decode("ascii")
        for label in host.split(".")
    )
