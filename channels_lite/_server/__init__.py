"""Daphne (with Twisted and Autobahn) and uvicorn, adapted to serve channels_lite well.

Everything here works around the servers' behaviour through their private
internals, so it lives in one place, guarded by the releases it was tested
with (:data:`~channels_lite._server.daphne.SUPPORTED_DAPHNE`, and
:data:`~channels_lite._server.uvicorn.SUPPORTED_UVICORN` for uvicorn):

- :mod:`~channels_lite._server.daphne`: :class:`GracefulServer` (graceful
  shutdown, the shutdown watchdog, dropping replies to closing websockets)
  and the command line of ``python -m channels_lite.serve``;
- :mod:`~channels_lite._server.shutdown`: stopping application instances and
  channel layers within bounds, and the shutdown watchdog, without daphne;
- :mod:`~channels_lite._server.config`: the :class:`Limits` both servers read
  from Django's settings;
- :mod:`~channels_lite._server.uvicorn`: the same limits and shutdown for
  ``serve --server uvicorn``, through uvicorn's protocol classes and server
  (guarded by :data:`~channels_lite._server.uvicorn.SUPPORTED_UVICORN`), and
  :mod:`~channels_lite._server.uvicorn_cli` its command line;
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
