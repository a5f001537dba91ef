"""Fernet encryption of message bodies, with key rotation.

Keys are strings or bytes of any length; each is hashed with SHA-256 into a
Fernet key, as channels_redis does, so the same ``symmetric_encryption_keys``
setting reads the same way. The first key encrypts; every key decrypts, so a
key is rotated by putting the new one first, and the old one is removed once
``expiry`` seconds have passed. Keys should carry at least 32 bytes of entropy
(Django's ``SECRET_KEY`` does).

Channel and group names are not encrypted: only message bodies are.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from django.core.exceptions import ImproperlyConfigured

__all__ = ["FernetEncryptor", "derive_fernet_key"]


def derive_fernet_key(key: str | bytes) -> bytes:
    """Return the Fernet key made from an arbitrary secret ``key``."""
    raw = key.encode() if isinstance(key, str) else key
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest())


class FernetEncryptor:
    """Encrypt with the first key, decrypt with any, reject tokens too old.

    ``ttl`` (seconds) bounds the age of a token that :meth:`decrypt` accepts.
    :meth:`decrypt` returns ``None`` for a token no key can read.
    """

    def __init__(self, keys: Sequence[str | bytes], *, ttl: int | None = None) -> None:
        if isinstance(keys, str | bytes) or not keys:
            raise ImproperlyConfigured(
                "symmetric_encryption_keys must be a non-empty list of keys, "
                f"not {keys!r}"
            )
        try:
            from cryptography.fernet import Fernet, MultiFernet
        except ImportError as exc:
            raise ImproperlyConfigured(
                "symmetric_encryption_keys needs the cryptography package: "
                "pip install cryptography (the [cryptography] extra)"
            ) from exc
        self._fernet = MultiFernet([Fernet(derive_fernet_key(k)) for k in keys])
        self.ttl = ttl

    def encrypt(self, data: bytes) -> bytes:
        """Return ``data`` encrypted with the first key."""
        return self._fernet.encrypt(data)

    def decrypt(self, token: bytes) -> bytes | None:
        """Return the plaintext of ``token``, or None if no key can read it."""
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(token, ttl=self.ttl)
        except InvalidToken:
            return None
