CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_lite.layers.InMemoryChannelLayer",
        "CONFIG": {
            "expiry": 60,
            "group_expiry": 86400,
            "capacity": 100,
            "channel_capacity": {
                "thumbnails": 1000,
                "specific.*": 20,
            },
        },
    },
}
