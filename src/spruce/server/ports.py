"""A port of its own for every index: how gRPC clients, which ignore any path in a host, reach an index.

Why ports at all: a gRPC request names only its method (``/VectorService/Upsert``); the SDKs drop the path
of an index host (10.x dials ``http://h:5080/index/foo`` as ``h:5080``), send ``:authority`` as that
``host:port``, and 7.x's ``service-name`` metadata is empty when a host is given (all seen on the wire,
reference §3.4 and §8). So nothing in a gRPC request tells indexes apart except the port it arrives on.
Each index therefore listens on ``base + number``, where ``number`` is the catalog's never-reused
creation number (:class:`spruce.types.IndexConfig`): the port is stable across restarts, and a client
still holding a deleted index's port never reaches an index created after it. ``describe_index`` hands
out ``http://<host>:<that port>``, where REST and gRPC are both served (the connection's first bytes
decide, :mod:`spruce.server.protocol`), so ``pc.index(name=..., grpc=True)`` and every REST call work
through the same host. The main port keeps serving REST for every index at ``/index/<name>``.

Base 0 (the default under ``--port 0``, as the tests run) lets the OS pick each index's port: nothing is
stable there anyway. When a port cannot be bound (in use, above 65535), the index keeps the path-style
host on the main port, REST only, and a warning says why.

Sockets are bound here, synchronously, by whichever thread creates the index, before the create
returns: the kernel queues connections from then on, so a client that connects right after the
response is never refused, even before the event loop starts accepting (:meth:`IndexPorts.attach`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from socket import socket

from spruce.types import IndexConfig

__all__ = ["IndexPorts"]

log = logging.getLogger("spruce.server")

Serve = Callable[[socket], object]


class IndexPorts:
    """Which port serves which index, and the listening sockets behind them. Thread-safe."""

    def __init__(self, host: str, base: int | None, bind: Callable[[str, int], socket]) -> None:
        self.host = host
        self.base = base
        self._bind = bind
        self._mu = threading.Lock()
        self._by_name: dict[str, tuple[int, socket]] = {}
        self._by_port: dict[int, str] = {}
        self._serve: Serve | None = None
        self._stop: Serve | None = None
        self._unserved: list[socket] = []

    @classmethod
    def disabled(cls) -> IndexPorts:
        """No index ports: every index is served at ``/index/<name>`` on the main port only."""
        return cls("", None, _no_bind)

    @property
    def enabled(self) -> bool:
        return self.base is not None

    def open(self, cfg: IndexConfig) -> int | None:
        """Bind and listen on the index's port; the port, or ``None`` if disabled or it cannot be bound."""
        if self.base is None:
            return None
        with self._mu:
            if cfg.name in self._by_name:
                return self._by_name[cfg.name][0]
        wanted = self.base + cfg.number if self.base else 0
        try:
            sock = self._bind(self.host, wanted)
        except (OSError, OverflowError) as exc:
            log.warning(
                "index %s: cannot listen on port %d (%s); it is served at /index/%s on the main port only "
                "(REST; gRPC needs the index's own port)",
                cfg.name,
                wanted,
                getattr(exc, "strerror", None) or exc,
                cfg.name,
            )
            return None
        port: int = sock.getsockname()[1]
        with self._mu:
            self._by_name[cfg.name] = (port, sock)
            self._by_port[port] = cfg.name
            serve = self._serve
            if serve is None:
                self._unserved.append(sock)
        if serve is not None:
            serve(sock)
        return port

    def close(self, name: str) -> None:
        """Stop listening for a deleted index; its open connections find the index gone (NOT_FOUND)."""
        with self._mu:
            entry = self._by_name.pop(name, None)
            if entry is None:
                return
            port, sock = entry
            del self._by_port[port]
            stop = self._stop
            if sock in self._unserved:
                self._unserved.remove(sock)
                stop = None
        if stop is not None:
            stop(sock)
        else:
            sock.close()

    def port_of(self, name: str) -> int | None:
        with self._mu:
            entry = self._by_name.get(name)
        return entry[0] if entry else None

    def index_at(self, port: int | None) -> str | None:
        """The index a connection to local ``port`` serves (``None``: the main port, or a closed one)."""
        return self._by_port.get(port) if port is not None else None

    def attach(self, serve: Serve, stop: Serve) -> None:
        """Hand every socket opened so far, and from now on each new one, to ``serve`` (and deleted ones to
        ``stop``): both are called from any thread and must pass the socket to the event loop themselves.
        All index sockets go this one way, so that ``stop`` finds the listener of each (a socket given
        to uvicorn's own ``run(sockets=...)`` could not be closed alone)."""
        with self._mu:
            self._serve, self._stop = serve, stop
            pending, self._unserved = self._unserved, []
        for sock in pending:
            serve(sock)


def _no_bind(host: str, port: int) -> socket:  # pragma: no cover - never called: base is None
    raise OSError("index ports are disabled")
