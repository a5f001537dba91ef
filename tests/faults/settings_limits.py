"""Test settings with tight connection limits (see channels_lite._server.limits).

The handshake timeout is one second and the send buffer one MiB, unbounded
when ``CHANNELS_LITE_FAULTS_UNBOUNDED`` is set;
``CHANNELS_LITE_FAULTS_PER_CLIENT``, when set, caps the connections per client
address.
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403

CHANNELS_LITE_HANDSHAKE_TIMEOUT = 1
CHANNELS_LITE_MAX_SEND_BUFFER = (
    None if "CHANNELS_LITE_FAULTS_UNBOUNDED" in os.environ else 1024 * 1024
)
CHANNELS_LITE_MAX_CONNECTIONS_PER_CLIENT = (
    int(os.environ["CHANNELS_LITE_FAULTS_PER_CLIENT"])
    if "CHANNELS_LITE_FAULTS_PER_CLIENT" in os.environ
    else None
)

# For ``manage.py runserver``; channels_lite.serve is given the application
# on its command line.
ASGI_APPLICATION = "tests.faults.asgi.application"
