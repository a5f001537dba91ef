from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, cast

import pytest
from django.apps import AppConfig
from django.core.checks import run_checks
from django.test import override_settings
from django.urls import path

from channels_lite.auth import AuthMiddlewareStack
from channels_lite.checks import (
    check_allowed_hosts,
    check_app_order,
    check_asgi_application,
    check_channel_layers,
)
from channels_lite.exceptions import InvalidChannelLayerError
from channels_lite.layers import channel_layers
from channels_lite.routing import ProtocolTypeRouter, URLRouter
from channels_lite.security.websocket import (
    AllowedHostsOriginValidator,
    OriginValidator,
    WebsocketDenier,
)

BASE_LAYER = "channels_lite.layers.base.BaseChannelLayer"
IN_MEMORY = "channels_lite.layers.InMemoryChannelLayer"


class DaphneStandIn(AppConfig):
    """Stands for daphne's app config, which installs Twisted's reactor on import.

    The ordering check only reads app names, and loading the real config
    would leave a reactor and its event loop behind in the test process.
    """

    name = "daphne"
    label = "daphne"


DAPHNE = "tests.test_checks.DaphneStandIn"

# ASGI applications for ASGI_APPLICATION to name in the ALLOWED_HOSTS check.
GUARDED = ProtocolTypeRouter(
    {"websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(WebsocketDenier()))}
)
GUARDED_ROUTE = ProtocolTypeRouter(
    {
        "websocket": URLRouter(
            [path("ws/", cast(Any, AllowedHostsOriginValidator(WebsocketDenier())))]
        )
    }
)
EXPLICIT_ORIGINS = OriginValidator(WebsocketDenier(), ["localhost"])
STATICFILES = "django.contrib.staticfiles"


def ids(messages: list[Any]) -> list[str]:
    return [message.id for message in messages]


@pytest.mark.parametrize(
    "installed_apps",
    [
        pytest.param(["channels_lite", STATICFILES], id="before-staticfiles"),
        pytest.param(["channels_lite"], id="no-staticfiles"),
        pytest.param([STATICFILES], id="not-installed"),
        pytest.param(["channels_lite", DAPHNE, STATICFILES], id="before-daphne"),
    ],
)
def test_check_app_order_accepts_good_orders(installed_apps: list[str]) -> None:
    with override_settings(INSTALLED_APPS=installed_apps):
        assert check_app_order() == []


def test_check_app_order_after_staticfiles_is_e001() -> None:
    with override_settings(INSTALLED_APPS=[STATICFILES, "channels_lite"]):
        [message] = check_app_order()
    assert message.id == "channels_lite.E001"
    assert message.is_serious()
    assert "'channels_lite' must come before 'django.contrib.staticfiles'" in str(
        message.msg
    )


def test_check_app_order_after_daphne_is_w001() -> None:
    with override_settings(INSTALLED_APPS=[DAPHNE, "channels_lite", STATICFILES]):
        [message] = check_app_order()
    assert message.id == "channels_lite.W001"
    assert not message.is_serious()
    assert "daphne's runserver is used" in str(message.msg)


def test_check_app_order_after_both_reports_both() -> None:
    with override_settings(INSTALLED_APPS=[DAPHNE, STATICFILES, "channels_lite"]):
        assert ids(check_app_order()) == ["channels_lite.E001", "channels_lite.W001"]


def test_check_asgi_application_accepts_test_settings() -> None:
    assert check_asgi_application() == []


def test_check_asgi_application_missing_is_w002() -> None:
    with override_settings(ASGI_APPLICATION=None):
        [message] = check_asgi_application()
    assert message.id == "channels_lite.W002"
    assert not message.is_serious()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(
            "tests.nonexistent.application",
            "Cannot import ASGI_APPLICATION module 'tests.nonexistent'",
            id="no-module",
        ),
        pytest.param(
            "tests.asgi.nonexistent",
            "Cannot find 'nonexistent' in ASGI_APPLICATION module",
            id="no-attribute",
        ),
        pytest.param("application", "must be a dotted path", id="not-dotted"),
        pytest.param("tests.settings.SECRET_KEY", "is not callable", id="not-callable"),
    ],
)
def test_check_asgi_application_bad_setting_is_e002(value: str, message: str) -> None:
    with override_settings(ASGI_APPLICATION=value):
        [error] = check_asgi_application()
    assert error.id == "channels_lite.E002"
    assert message in str(error.msg)


def test_check_asgi_application_failing_module_is_e002(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_asgi_for_checks.py").write_text("1 / 0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with override_settings(ASGI_APPLICATION="broken_asgi_for_checks.application"):
        [error] = check_asgi_application()
    assert error.id == "channels_lite.E002"
    assert "raised ZeroDivisionError" in str(error.msg)


@pytest.mark.parametrize(
    ("allowed_hosts", "application", "expected"),
    [
        pytest.param([], "GUARDED", ["channels_lite.W003"], id="empty"),
        pytest.param(
            ["testserver"], "GUARDED", ["channels_lite.W003"], id="test-runner"
        ),
        pytest.param([], "GUARDED_ROUTE", ["channels_lite.W003"], id="in-a-route"),
        pytest.param(["localhost"], "GUARDED", [], id="hosts-listed"),
        pytest.param([], "EXPLICIT_ORIGINS", [], id="own-origin-list"),
    ],
)
def test_check_allowed_hosts_warns_when_validator_refuses_tests(
    allowed_hosts: list[str], application: str, expected: list[str]
) -> None:
    with override_settings(
        ALLOWED_HOSTS=allowed_hosts,
        ASGI_APPLICATION=f"tests.test_checks.{application}",
    ):
        assert ids(check_allowed_hosts()) == expected


def test_check_allowed_hosts_leaves_a_broken_application_to_e002() -> None:
    with override_settings(ALLOWED_HOSTS=[], ASGI_APPLICATION="tests.nonexistent.a"):
        assert check_allowed_hosts() == []


def test_check_allowed_hosts_message_names_the_setting() -> None:
    with override_settings(
        ALLOWED_HOSTS=[], ASGI_APPLICATION="tests.test_checks.GUARDED"
    ):
        [warning] = check_allowed_hosts()
    assert "ALLOWED_HOSTS is empty" in str(warning.msg)
    assert "ALLOWED_HOSTS = ['localhost', '127.0.0.1']" in str(warning.hint)


def test_check_channel_layers_accepts_a_valid_setting() -> None:
    layers = {"default": {"BACKEND": BASE_LAYER, "CONFIG": {"capacity": 10}}}
    with override_settings(CHANNEL_LAYERS=layers):
        assert check_channel_layers() == []


def test_check_channel_layers_accepts_no_setting(settings: Any) -> None:
    del settings.CHANNEL_LAYERS
    assert check_channel_layers() == []


def test_check_channel_layers_accepts_none() -> None:
    with override_settings(CHANNEL_LAYERS=None):
        assert check_channel_layers() == []


def test_check_channel_layers_accepts_test_settings() -> None:
    assert check_channel_layers() == []


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({"capcity": 1}, id="typo"),
        pytest.param(
            {"expiry": 1, "hosts": ["redis://x"]}, id="option-of-another-layer"
        ),
    ],
)
def test_check_channel_layers_agrees_with_the_layer_manager(
    config: dict[str, Any],
) -> None:
    layers = {"default": {"BACKEND": IN_MEMORY, "CONFIG": config}}
    with override_settings(CHANNEL_LAYERS=layers):
        [error] = check_channel_layers()
        with pytest.raises(InvalidChannelLayerError, match="does not fit BACKEND"):
            channel_layers.make_backend("default")
    assert error.id == "channels_lite.E003"


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        pytest.param(
            [("default", BASE_LAYER)],
            "CHANNEL_LAYERS must be a dict of alias to layer settings, not list",
            id="not-a-dict",
        ),
        pytest.param(
            {"default": BASE_LAYER},
            "CHANNEL_LAYERS['default']: must be a dict with a 'BACKEND' key, not str",
            id="alias-not-a-dict",
        ),
        pytest.param(
            {"default": {"BACKEND": BASE_LAYER, "ROUTING": "x.routing"}},
            "has a ROUTING key",
            id="channels-1-routing",
        ),
        pytest.param(
            {"default": {"CONFIG": {}}},
            "CHANNEL_LAYERS['default']: has no 'BACKEND'",
            id="no-backend",
        ),
        pytest.param(
            {"default": {"BACKEND": "channels_lite.layers.Nope"}},
            "cannot import BACKEND 'channels_lite.layers.Nope'",
            id="backend-not-importable",
        ),
        pytest.param(
            {"default": {"BACKEND": "tests.test_checks.BASE_LAYER"}},
            "BACKEND 'tests.test_checks.BASE_LAYER' is not callable",
            id="backend-not-callable",
        ),
        pytest.param(
            {"default": {"BACKEND": BASE_LAYER, "CONFIG": {"capcity": 10}}},
            "CONFIG does not suit",
            id="unknown-option",
        ),
        pytest.param(
            {"default": {"BACKEND": BASE_LAYER, "TEST_CONFIG": {"capcity": 10}}},
            "TEST_CONFIG does not suit",
            id="unknown-test-option",
        ),
        pytest.param(
            {"default": {"BACKEND": BASE_LAYER, "CONFIG": [("capacity", 10)]}},
            "it must be a dict, not list",
            id="config-not-a-dict",
        ),
        pytest.param(
            {"default": {"BACKEND": BASE_LAYER, "CONFIG": {1: 10}}},
            "its keys must be strings",
            id="config-keys-not-strings",
        ),
    ],
)
def test_check_channel_layers_malformed_setting_is_e003(
    layers: object, message: str
) -> None:
    with override_settings(CHANNEL_LAYERS=layers):
        [error] = check_channel_layers()
    assert error.id == "channels_lite.E003"
    assert message in str(error.msg)


def test_check_channel_layers_names_channels_lite_layer_for_channels_redis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Not installed, as after a migration, even where it is.
    for name in ("channels_redis", "channels_redis.core"):
        monkeypatch.setitem(sys.modules, name, None)
    backend = "channels_redis.core.RedisChannelLayer"
    with override_settings(CHANNEL_LAYERS={"default": {"BACKEND": backend}}):
        [error] = check_channel_layers()
    assert error.id == "channels_lite.E003"
    assert str(error.msg).endswith("use 'channels_lite.layers.redis.RedisChannelLayer'")


def test_check_channel_layers_reports_each_bad_alias() -> None:
    layers = {
        "default": {"BACKEND": BASE_LAYER},
        "one": {},
        "two": {"BACKEND": "nope.Layer"},
    }
    with override_settings(CHANNEL_LAYERS=layers):
        messages = check_channel_layers()
    assert [str(m.msg).split(":")[0] for m in messages] == [
        "CHANNEL_LAYERS['one']",
        "CHANNEL_LAYERS['two']",
    ]


def unsigned_layer() -> object:
    """A layer factory whose signature inspect cannot read."""
    return object()


unsigned_layer.__signature__ = "unreadable"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param("builtins.dict", id="kwargs-all-the-way-up"),
        pytest.param("tests.test_checks.unsigned_layer", id="no-signature"),
    ],
)
def test_check_channel_layers_accepts_any_option_it_cannot_judge(backend: str) -> None:
    layers = {"default": {"BACKEND": backend, "CONFIG": {"anything": 1}}}
    with override_settings(CHANNEL_LAYERS=layers):
        assert check_channel_layers() == []


def make_layer(capacity: int = 1) -> object:
    """A layer factory function, as a BACKEND may name one."""
    return object()


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param({"capacity": 2}, [], id="known"),
        pytest.param({"capcity": 2}, ["channels_lite.E003"], id="unknown"),
    ],
)
def test_check_channel_layers_judges_factory_function_options(
    config: dict[str, Any], expected: list[str]
) -> None:
    backend = "tests.test_checks.make_layer"
    layers = {"default": {"BACKEND": backend, "CONFIG": config}}
    with override_settings(CHANNEL_LAYERS=layers):
        assert ids(check_channel_layers()) == expected


def test_checks_are_registered_with_django() -> None:
    with override_settings(CHANNEL_LAYERS=[], ASGI_APPLICATION=None):
        found = ids(run_checks())
    assert "channels_lite.E003" in found
    assert "channels_lite.W002" in found


def test_allowed_hosts_check_is_registered_with_django() -> None:
    with override_settings(
        ALLOWED_HOSTS=[], ASGI_APPLICATION="tests.test_checks.GUARDED"
    ):
        assert "channels_lite.W003" in ids(run_checks())
