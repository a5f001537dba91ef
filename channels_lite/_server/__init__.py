"""Daphne, Twisted and Autobahn, patched to serve channels_lite well.

Everything here works around daphne's behaviour through its private
internals, so it lives in one place, guarded by the daphne releases it was
tested with (:data:`~channels_lite._server.daphne.SUPPORTED_DAPHNE`):

- :mod:`~channels_lite._server.daphne`: :class:`GracefulServer` (graceful
  shutdown, the shutdown watchdog, dropping replies to closing websockets)
  and the command line of ``python -m channels_lite.serve``;
- :mod:`~channels_lite._server.shutdown`: stopping application instances and
  channel layers within bounds, without daphne;
- :mod:`~channels_lite._server.limits`: what one client may make the server
  hold (handshake deadline, unread websocket data, connections per address);
- :mod:`~channels_lite._server.reactor_workers`: a
  :class:`~channels_lite.worker.Worker` on the reactor's loop, for
  ``runserver --worker``.

Importing :mod:`~channels_lite._server.daphne` or
:mod:`~channels_lite._server.limits` imports daphne, which installs Twisted's
asyncio reactor: this package's ``__init__`` imports none of them, and
public modules import them only where a server is about to run.
"""
