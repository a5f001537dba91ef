from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "django-insecure-replace-me"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

# [start installed-apps]
INSTALLED_APPS = [
    "channels_lite",  # before django.contrib.staticfiles
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "echo",
]
# [end installed-apps]

ROOT_URLCONF = "mysite.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}
STATIC_URL = "static/"
USE_TZ = True

# [start asgi-application]
ASGI_APPLICATION = "mysite.asgi.application"
# [end asgi-application]
