import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "change-me")

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_lite.layers.redis.RedisChannelLayer",
        "CONFIG": {
            # One URL per Redis server; two or more shard the layer.
            "hosts": ["redis://127.0.0.1:6379/0"],
            "prefix": "asgi",
            "expiry": 60,
            "group_expiry": 300,
            "capacity": 100,
            "channel_capacity": {"specific.*": 200},
            # Optional: encrypt message bodies; put a new key first to rotate.
            "symmetric_encryption_keys": [SECRET_KEY],
        },
    },
}
