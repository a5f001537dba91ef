CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_lite.layers.redis.RedisChannelLayer",
        "CONFIG": {
            # Any reachable nodes of the cluster: the client finds the others.
            "hosts": [
                {
                    "cluster": [
                        "redis://redis-a.internal:6379",
                        "redis://redis-b.internal:6379",
                    ],
                    "socket_connect_timeout": 2,
                }
            ],
            "group_expiry": 300,
        },
    },
}
