"""The chat's pages."""

from __future__ import annotations

from django.urls import URLPattern, path, re_path

from chat import views

urlpatterns: list[URLPattern] = [
    path("", views.index, name="index"),
    re_path(r"^chat/(?P<room_name>[A-Za-z0-9_-]{1,50})/$", views.room, name="room"),
]
