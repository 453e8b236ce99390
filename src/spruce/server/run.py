"""Running the app: the listening socket, uvicorn, graceful shutdown and closing the store.

The socket is bound here rather than by uvicorn so that it gets ``SO_REUSEADDR`` (a restart on the same
port right after a crash or SIGKILL works) and ``TCP_NODELAY`` (inherited by accepted sockets on Linux;
without it a header/body split write can wait ~40 ms for Nagle), and so that ``--port 0`` works: the port
actually bound is known before any index host is advertised.

Shutdown on SIGINT/SIGTERM ends in bounded time, whatever the backlog (a container orchestrator gives 30 s
before it kills): uvicorn stops accepting and lets in-flight requests finish for at most
``SHUTDOWN_GRACE_S``, background work (flushes, compactions, graph builds) is told to stop at once and is
abandoned at its next chunk (it is restartable by construction: nothing it wrote is visible before its
manifest commit), and the store is closed without flushing (the log holds every acknowledged write; the
next open replays it, and the size-triggered flush bounds how much there is). A watchdog ends the process
after ``SHUTDOWN_BUDGET_S`` if anything still holds it (a graph build inside faiss cannot be interrupted):
that exit is as safe as a SIGKILL, which loses nothing acknowledged either. A second SIGINT/SIGTERM exits
at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import uvicorn

from spruce.api import ControlPlane
from spruce.server.app import SpruceApp
from spruce.server.config import Context, ServerConfig
from spruce.server.grpc.calls import Calls
from spruce.server.ports import IndexPorts
from spruce.server.protocol import Timeouts, sniffing_protocol

__all__ = ["SHUTDOWN_BUDGET_S", "SHUTDOWN_GRACE_S", "bind_socket", "serve"]

log = logging.getLogger("spruce.server")
SHUTDOWN_GRACE_S = 3  # in-flight requests get this long to finish once a signal came
SHUTDOWN_BUDGET_S = 4.5  # the process is gone this long after the first signal, whatever runs


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket with SO_REUSEADDR and TCP_NODELAY."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except BaseException:
        sock.close()
        raise
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, minus re-raising the captured signal after a graceful shutdown, plus listeners
    for index ports that open and close while it runs (:mod:`spruce.server.ports`).

    uvicorn re-raises SIGTERM once it has stopped serving, which would kill the process before the store
    is closed; we close the store first and then exit normally.
    """

    stopping_since: float | None = None  # when the first SIGINT/SIGTERM came

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        handled = (signal.SIGINT, signal.SIGTERM)
        for sig in handled:
            signal.signal(sig, self._on_signal)
        yield  # (the handlers stay: a signal during the close that follows must still end the process)

    def _on_signal(self, sig: int, frame: Any) -> None:
        if self.stopping_since is not None:
            with contextlib.suppress(OSError):  # (stderr may be a pipe nobody reads any more)
                os.write(2, b"spruce: second signal, exiting now\n")
            os._exit(1)
        self.stopping_since = time.monotonic()
        # the watchdog first: whatever fails or blocks below, the process still ends within its budget
        threading.Thread(target=_watchdog, name="spruce-shutdown-watchdog", daemon=True).start()
        self.on_stop()
        self.handle_exit(sig, frame)

    def __init__(self, config: uvicorn.Config, ports: IndexPorts, on_stop: Any = lambda: None) -> None:
        super().__init__(config)
        self.ports = ports
        self.on_stop = on_stop
        self._listeners: dict[socket.socket, asyncio.base_events.Server] = {}
        self._starting: set[asyncio.Task[None]] = set()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's startup, then index ports opened from now on are served (and closed) as they come."""
        await super().startup(sockets=sockets)
        loop = asyncio.get_running_loop()
        self.ports.attach(
            serve=lambda sock: loop.call_soon_threadsafe(self._start_listener, sock),
            stop=lambda sock: loop.call_soon_threadsafe(self._stop_listener, sock),
        )

    def _start_listener(self, sock: socket.socket) -> None:
        task = asyncio.ensure_future(self._listen(sock))
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    async def _listen(self, sock: socket.socket) -> None:
        config = self.config
        protocol_class: Any = config.http_protocol_class  # uvicorn's own call passes these keywords too
        factory = functools.partial(
            protocol_class,
            config=config,
            server_state=self.server_state,
            app_state=self.lifespan.state,
        )
        listener = await asyncio.get_running_loop().create_server(
            factory, sock=sock, backlog=config.backlog, ssl=config.ssl
        )
        self._listeners[sock] = listener
        self.servers.append(listener)  # so that uvicorn's shutdown closes it with the others

    def _stop_listener(self, sock: socket.socket) -> None:
        listener = self._listeners.pop(sock, None)
        if listener is None:
            sock.close()
            return
        listener.close()
        if listener in self.servers:
            self.servers.remove(listener)


def serve(db: ControlPlane, config: ServerConfig, sock: socket.socket) -> None:
    """Serve ``db`` on the bound ``sock`` (and every index on its own port, unless disabled) until
    SIGINT/SIGTERM; then drain and close ``db``."""
    config.port = sock.getsockname()[1]
    ports = IndexPorts(config.host, config.index_port_base, bind_socket)
    for cfg in db.list_indexes():
        ports.open(cfg)
    pool = ThreadPoolExecutor(max_workers=config.threads, thread_name_prefix="spruce-worker")
    shared = bool(getattr(getattr(db, "store", None), "shared", False))
    staleness = float(getattr(getattr(db, "tuning", None), "read_staleness", 0.0))
    ctx = Context(
        db,
        config,
        ports,
        shared=shared,
        reads_sync=shared and staleness == 0,
        synced_read=getattr(db, "synced_read", None),  # (a ``Database``; any other ControlPlane: the pool)
    )
    app = SpruceApp(ctx, pool)
    uconfig = uvicorn.Config(
        app,
        loop="auto",
        http=sniffing_protocol(
            Calls(ctx, pool), Timeouts(config.header_timeout, config.body_timeout, config.idle_timeout)
        ),
        lifespan="off",
        access_log=False,
        log_level="warning",
        timeout_keep_alive=max(1, round(config.idle_timeout)),
        limit_concurrency=config.max_connections,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    uconfig.load()
    uconfig.ssl = config.tls  # (ours, with ALPN for gRPC: ``server.tls``; uvicorn's own has none)
    server = _Server(uconfig, ports, on_stop=db.stop_background)
    print(f"spruce listening on {config.base_url()}", file=sys.stderr, flush=True)
    try:
        server.run(sockets=[sock])  # index ports: served from startup on, see _Server.startup
    finally:
        log.info("closing the store (background work abandoned, the log holds every write)")
        pool.shutdown(wait=False, cancel_futures=True)
        since = server.stopping_since or time.monotonic()
        db.close(flush=False, wait=max(0.1, SHUTDOWN_BUDGET_S - 0.5 - (time.monotonic() - since)))
        sock.close()
        log.info("spruce stopped")


def _watchdog() -> None:
    """End the process if the shutdown overruns its budget (module docstring): as safe as a SIGKILL."""
    time.sleep(SHUTDOWN_BUDGET_S)
    log.warning("shutdown took over %.1f s; exiting with background work abandoned", SHUTDOWN_BUDGET_S)
    logging.shutdown()
    os._exit(0)
