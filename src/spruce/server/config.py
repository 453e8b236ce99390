"""Server settings and the per-process context handlers receive."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from spruce import limits
from spruce.api import ControlPlane
from spruce.deadline import DEFAULT_SECONDS
from spruce.server.ports import IndexPorts

__all__ = ["Context", "ServerConfig"]

_WILDCARDS = {"0.0.0.0", "::", ""}


@dataclass(slots=True)
class ServerConfig:
    """What ``spruce serve`` was told.

    ``port`` is the port actually bound (it may differ from the requested one when that was 0), because
    index hosts handed to clients must name a port they can reach. ``index_port_base``: index number
    ``n`` gets its own port ``base + n`` (0: a port the OS picks, for ``--port 0``); ``None`` serves every
    index on the main port only (``--index-ports none``). See :mod:`spruce.server.ports`.
    """

    host: str = "127.0.0.1"
    port: int = 5080
    advertise_host: str | None = None
    api_key: str | None = None
    read_only_api_key: str | None = None
    max_body_bytes: int = limits.UPSERT_MAX_BODY_BYTES
    threads: int = 8
    index_port_base: int | None = None
    request_timeout: float | None = DEFAULT_SECONDS  # each request's budget (``spruce.deadline``)
    idle_timeout: float = 30.0  # an idle keep-alive connection is closed after this
    header_timeout: float = 10.0  # a request's headers within this (``server.protocol``)
    body_timeout: float = 60.0  # its body within this of its headers
    max_connections: int = 1000  # beyond this, new requests get 503 (which clients retry)
    tls: ssl.SSLContext | None = None  # ``--tls-cert``/``--tls-key`` (``server.tls``)
    metrics_public: bool = False  # ``GET /metrics`` without an API key (``--metrics-public``)
    access_log: bool = True  # a line per request on the ``spruce.access`` logger (at INFO)
    slow_request: float = 1.0  # a request slower than this (s) is logged at WARNING, access log or not

    @property
    def scheme(self) -> str:
        return "https" if self.tls is not None else "http"

    def base_url(self, host_header: str = "") -> str:
        """``http(s)://<host>:<port>``: the control plane's URL, and the prefix of path-style index hosts.

        The advertised host is ``--advertise-host`` if given, else the bind address; a wildcard bind
        (``0.0.0.0``) falls back to the host the client used to reach us, else ``localhost``. The SDK
        refuses hosts with neither a dot nor ``localhost``, which is why ``localhost`` is the last resort.
        """
        return f"{self.scheme}://{self._advertised(host_header)}:{self.port}"

    def index_host(self, name: str, port: int | None, host_header: str = "") -> str:
        """The ``host`` describe_index hands out: the index's own port (REST and gRPC) when it has one,
        else ``<base_url>/index/<name>`` on the main port (REST only: gRPC clients drop the path)."""
        if port is None:
            return f"{self.base_url(host_header)}/index/{name}"
        return f"{self.scheme}://{self._advertised(host_header)}:{port}"

    def _advertised(self, host_header: str) -> str:
        host = self.advertise_host or (self.host if self.host not in _WILDCARDS else "")
        if not host:
            host = _hostname(host_header) or "localhost"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return host


def _hostname(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header.split("]", 1)[0][1:]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


@dataclass(slots=True)
class Context:
    """Everything a handler may touch besides its request: the database, the settings, and which port
    serves which index."""

    db: ControlPlane
    config: ServerConfig
    ports: IndexPorts = field(default_factory=IndexPorts.disabled)
    shared: bool = False  # the store is a bucket other processes serve too (``ObjectStore.shared``)
    # every read syncs with the bucket first (a shared store at ``read_staleness`` 0): a round trip that
    # must not hold the event loop, so a short read awaits it there (``synced_read``) and goes to the pool
    # only when that says there is more to do
    reads_sync: bool = False
    # ``Database.synced_read``: the read barrier of an index (by name) awaited on the event loop
    synced_read: Callable[[str], Awaitable[AbstractContextManager[None] | None]] | None = None
