"""URLs for the test suite's HTTP side."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
