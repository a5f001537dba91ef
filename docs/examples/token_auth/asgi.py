from django.contrib.auth import get_user_model
from django.core import signing
from django.urls import path

from channels_lite.routing import ProtocolTypeRouter, URLRouter
from channels_lite.security.websocket import AllowedHostsOriginValidator
from channels_lite.token_auth import TokenAuthMiddlewareStack

SALT = "websocket-api"
MAX_AGE = 3600  # seconds a token stays valid


def issue_token(user):
    """Return a signed token naming ``user``; hand it to the API client."""
    return signing.dumps(user.pk, salt=SALT)


def user_for_token(token):
    """Return the active user a valid, unexpired token names, else None."""
    try:
        user_id = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:  # also catches SignatureExpired
        return None
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


async def whoami(scope, receive, send):
    """A tiny WebSocket app: accept, then say who is connected."""
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": scope["user"].get_username()})


application = ProtocolTypeRouter(
    {
        "websocket": AllowedHostsOriginValidator(
            TokenAuthMiddlewareStack(
                URLRouter([path("ws/whoami/", whoami)]),
                authenticate=user_for_token,
            ),
            # API clients send no Origin header; browsers always do.
            allow_missing_origin=True,
        ),
    }
)
