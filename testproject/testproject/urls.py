"""The demo's HTTP routes: the chat pages and the admin (to log in)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("chat.urls")),
    path("admin/", admin.site.urls),
]
