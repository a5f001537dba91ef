CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_lite.layers.redis.RedisChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "sentinels": [
                        ("sentinel-1.internal", 26379),
                        ("sentinel-2.internal", 26379),
                        ("sentinel-3.internal", 26379),
                    ],
                    "master_name": "channels",
                    "sentinel_kwargs": {"socket_timeout": 1},
                }
            ],
            "group_expiry": 300,
        },
    },
}
