"""The ASGI application named by the test settings' ASGI_APPLICATION."""

from __future__ import annotations

from django.core.asgi import get_asgi_application

application = get_asgi_application()
