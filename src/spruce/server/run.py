"""Running the app: the listening socket, uvicorn, graceful shutdown and closing the store.

The socket is bound here rather than by uvicorn so that it gets ``SO_REUSEADDR`` (a restart on the same
port right after a crash or SIGKILL works) and ``TCP_NODELAY`` (inherited by accepted sockets on Linux;
without it a header/body split write can wait ~40 ms for Nagle), and so that ``--port 0`` works: the port
actually bound is known before any index host is advertised.

Shutdown on SIGINT/SIGTERM: uvicorn stops accepting, lets in-flight requests finish, then the worker pool
is drained (an engine call that is still running completes) and only then is the store closed. A write is
acknowledged only after the engine made it durable, so a SIGKILL loses nothing acknowledged either.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor

import uvicorn

from spruce.api import ControlPlane
from spruce.server.app import SpruceApp
from spruce.server.config import Context, ServerConfig

__all__ = ["bind_socket", "serve"]

log = logging.getLogger("spruce.server")


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
    """uvicorn's server, minus re-raising the captured signal after a graceful shutdown.

    uvicorn re-raises SIGTERM once it has stopped serving, which would kill the process before the store
    is closed; we close the store first and then exit normally.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        handled = (signal.SIGINT, signal.SIGTERM)
        for sig in handled:
            signal.signal(sig, self.handle_exit)
        try:
            yield
        finally:
            # From here on the store is being drained and closed: a second signal must not interrupt that.
            for sig in handled:
                signal.signal(sig, signal.SIG_IGN)


def serve(db: ControlPlane, config: ServerConfig, sock: socket.socket) -> None:
    """Serve ``db`` on the bound ``sock`` until SIGINT/SIGTERM; then drain and close ``db``."""
    config.port = sock.getsockname()[1]
    pool = ThreadPoolExecutor(max_workers=config.threads, thread_name_prefix="spruce-worker")
    app = SpruceApp(Context(db, config), pool)
    uconfig = uvicorn.Config(
        app,
        loop="auto",
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level="warning",
        timeout_keep_alive=75,
        timeout_graceful_shutdown=30,
    )
    server = _Server(uconfig)
    print(f"spruce listening on {config.base_url()}", file=sys.stderr, flush=True)
    try:
        server.run(sockets=[sock])
    finally:
        log.info("draining in-flight work and closing the store")
        pool.shutdown(wait=True)
        db.close()
        sock.close()
        log.info("spruce stopped")
