from __future__ import annotations

import re

import channels_lite


def test_version_is_pep440() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?", channels_lite.__version__)


def test_default_channel_layer_alias() -> None:
    assert channels_lite.DEFAULT_CHANNEL_LAYER == "default"
