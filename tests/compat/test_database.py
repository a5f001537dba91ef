"""Channels' "Database Access" page: the two helpers and their contracts."""

from __future__ import annotations

import pytest
from asgiref.sync import SyncToAsync
from django.contrib.auth.models import User

from channels_lite.db import (
    DatabaseSyncToAsync,
    aclose_old_connections,
    database_sync_to_async,
)


@database_sync_to_async
def count_users(prefix: str) -> int:
    return User.objects.filter(username__startswith=prefix).count()


def test_database_sync_to_async_is_a_sync_to_async() -> None:
    assert issubclass(DatabaseSyncToAsync, SyncToAsync)


@pytest.mark.django_db(transaction=True)
async def test_decorated_function_returns_its_result() -> None:
    await database_sync_to_async(User.objects.create_user)("alice")
    assert await count_users("ali") == 1


@pytest.mark.django_db(transaction=True)
async def test_aclose_old_connections_is_awaitable() -> None:
    await aclose_old_connections()
