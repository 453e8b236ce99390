"""One port, two protocols: the connection's first bytes choose REST (HTTP/1.1) or gRPC (HTTP/2).

uvicorn is given :func:`sniffing_protocol`'s class as its ``http`` protocol. A new connection starts in
:class:`_Sniffer`, which only buffers until it can tell: the HTTP/2 client preface (``PRI * HTTP/2.0``,
what every gRPC client sends first over plaintext) hands the connection to
:class:`~spruce.server.grpc.transport.GrpcConnection`; anything else to uvicorn's own httptools protocol,
exactly as uvicorn would have built it. The transport's protocol is then swapped
(``transport.set_protocol``), so every later byte goes straight to the chosen protocol: the sniffing
costs one extra Python call on a connection's first packet and nothing per request after it (measured:
``benchmarks/README.md``, "gRPC vs REST").

Hostile or broken clients cannot hold a connection forever (slowloris): a connection must send its first
bytes within ``header_timeout``, every request's headers must be complete within ``header_timeout`` of its
first byte and its body within ``body_timeout`` of its headers; an idle keep-alive connection is closed
after uvicorn's ``timeout_keep_alive``, a gRPC connection with no call running after ``Timeouts.idle``
(the same ``--idle-timeout``, with a GOAWAY first). Such a connection is simply closed: no status is sent
(a 408 would make the SDK retry). How long the server works on a request is bounded separately
(``spruce.deadline``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from spruce.server.grpc.calls import Calls
from spruce.server.grpc.transport import GrpcConnection

__all__ = ["PREFACE", "Timeouts", "sniffing_protocol"]

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


@dataclass(frozen=True, slots=True)
class Timeouts:
    header: float = 10.0  # first bytes of a connection, and a request's headers, within this
    body: float = 60.0  # a request's whole body within this of its headers (2 MB at 35 KB/s)
    idle: float | None = 30.0  # a gRPC connection with no call for this long is closed (REST: uvicorn's)


class _Guard:
    """One timer per connection, closing it when it fires."""

    def __init__(self, loop: asyncio.AbstractEventLoop, transport: asyncio.BaseTransport) -> None:
        self._loop = loop
        self._transport = transport
        self._handle: asyncio.TimerHandle | None = None

    def arm(self, seconds: float) -> None:
        self.disarm()
        self._handle = self._loop.call_later(seconds, self._expire)

    def disarm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _expire(self) -> None:
        self._handle = None
        if not self._transport.is_closing():
            self._transport.close()


class _GuardedHttp(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with the header and body deadlines of the module docstring."""

    timeouts: Timeouts = Timeouts()
    _guard: _Guard | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._guard = _Guard(self.loop, transport)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._guard is not None:
            self._guard.arm(self.timeouts.header)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self._guard is not None:
            self._guard.arm(self.timeouts.body)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        if self._guard is not None:
            self._guard.disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._guard is not None:
            self._guard.disarm()
        super().connection_lost(exc)


class _Sniffer(asyncio.Protocol):
    """A connection whose protocol is not known yet (see the module docstring)."""

    calls: Calls  # set on the subclass :func:`sniffing_protocol` makes
    http: type[_GuardedHttp]  # likewise

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._args = (config, server_state, app_state, _loop)
        self._connections: set[Any] = server_state.connections
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._guard: _Guard | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass, only alike
        # Counted as a live connection, so a graceful shutdown closes it too (:meth:`shutdown`).
        self._connections.add(self)
        self._guard = _Guard(asyncio.get_running_loop(), transport)
        self._guard.arm(self.http.timeouts.header)  # a connection that never says what it is

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        if len(buffer) < len(PREFACE) and PREFACE.startswith(buffer):
            self._buffer = buffer  # "P", "PR", ...: could still be either; wait for more
            return
        assert self._transport is not None
        if self._guard is not None:
            self._guard.disarm()
        inner: asyncio.Protocol
        if buffer.startswith(PREFACE):
            inner = GrpcConnection(self.calls, self._connections, self.http.timeouts.idle)
        else:
            config, server_state, app_state, loop = self._args
            inner = self.http(config=config, server_state=server_state, app_state=app_state, _loop=loop)
        self._connections.discard(self)
        self._transport.set_protocol(inner)
        inner.connection_made(self._transport)
        inner.data_received(buffer)

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self)
        if self._guard is not None:
            self._guard.disarm()

    def shutdown(self) -> None:
        """Graceful shutdown of a connection that never sent a byte: just close it."""
        if self._transport is not None:
            self._transport.close()


def sniffing_protocol(calls: Calls, timeouts: Timeouts | None = None) -> type[asyncio.Protocol]:
    """The class to give uvicorn as ``http=``: REST to httptools (under ``timeouts``), gRPC to ``calls``."""
    http = type("SpruceHttp", (_GuardedHttp,), {"timeouts": timeouts or Timeouts()})
    return type("SpruceProtocol", (_Sniffer,), {"calls": calls, "http": http})
