CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_lite.layers.redis.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": ["redis://127.0.0.1:6379/0"],
            "capacity": 100,
            # Sent to every channel of the process when its pub/sub
            # connection drops and when it is back: consumers with a
            # redis_disconnect / redis_reconnect handler can re-sync.
            "on_disconnect": "redis.disconnect",
            "on_reconnect": "redis.reconnect",
        },
    },
}
