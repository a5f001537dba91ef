import os

SECRET_KEY = "django-insecure-replace-me"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "channels_lite",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.staticfiles",
    "thumbnails",
]
ROOT_URLCONF = "mysite.urls"
USE_TZ = True
ASGI_APPLICATION = "mysite.asgi.application"

# A worker is another process: it needs a layer that processes share.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_lite.layers.redis.RedisChannelLayer",
        "CONFIG": {"hosts": [os.environ["REDIS_URL"]], "prefix": "mysite"},
    },
}
