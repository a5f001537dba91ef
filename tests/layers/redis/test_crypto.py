"""Fernet encryption of Redis layer message bodies."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from channels_lite.layers.redis.crypto import FernetEncryptor, derive_fernet_key


def test_encryptor_round_trips() -> None:
    encryptor = FernetEncryptor(["k" * 32])
    token = encryptor.encrypt(b"body")
    assert token != b"body"
    assert encryptor.decrypt(token) == b"body"


def test_encryptor_decrypts_with_any_key_and_encrypts_with_the_first() -> None:
    old = FernetEncryptor(["old" * 11])
    rotated = FernetEncryptor(["new" * 11, "old" * 11])
    assert rotated.decrypt(old.encrypt(b"x")) == b"x"
    assert old.decrypt(rotated.encrypt(b"y")) is None


def test_encryptor_rejects_foreign_tokens() -> None:
    assert FernetEncryptor(["a" * 32]).decrypt(b"not a token") is None


def test_derived_keys_accept_text_and_bytes_alike() -> None:
    assert derive_fernet_key("secret") == derive_fernet_key(b"secret")


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param("one-key", id="bare-string"),
        pytest.param([], id="empty"),
    ],
)
def test_encryptor_requires_a_list_of_keys(keys: object) -> None:
    with pytest.raises(ImproperlyConfigured, match="non-empty list"):
        FernetEncryptor(keys)  # type: ignore[arg-type]
