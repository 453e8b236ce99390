"""One port, two protocols: the connection's first bytes choose REST (HTTP/1.1) or gRPC (HTTP/2).

uvicorn is given :func:`sniffing_protocol`'s class as its ``http`` protocol. A new connection starts in
:class:`_Sniffer`, which only buffers until it can tell: the HTTP/2 client preface (``PRI * HTTP/2.0``,
what every gRPC client sends first over plaintext) hands the connection to
:class:`~spruce.server.grpc.transport.GrpcConnection`; anything else to uvicorn's own httptools protocol,
exactly as uvicorn would have built it. The transport's protocol is then swapped
(``transport.set_protocol``), so every later byte goes straight to the chosen protocol: the sniffing
costs one extra Python call on a connection's first packet and nothing per request after it (measured:
``benchmarks/README.md``, "gRPC vs REST").
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from spruce.server.grpc.calls import Calls
from spruce.server.grpc.transport import GrpcConnection

__all__ = ["PREFACE", "sniffing_protocol"]

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


class _Sniffer(asyncio.Protocol):
    """A connection whose protocol is not known yet (see the module docstring)."""

    calls: Calls  # set on the subclass :func:`sniffing_protocol` makes

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

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass, only alike
        # Counted as a live connection, so a graceful shutdown closes it too (:meth:`shutdown`).
        self._connections.add(self)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        if len(buffer) < len(PREFACE) and PREFACE.startswith(buffer):
            self._buffer = buffer  # "P", "PR", ...: could still be either; wait for more
            return
        assert self._transport is not None
        inner: asyncio.Protocol
        if buffer.startswith(PREFACE):
            inner = GrpcConnection(self.calls, self._connections)
        else:
            config, server_state, app_state, loop = self._args
            inner = HttpToolsProtocol(
                config=config, server_state=server_state, app_state=app_state, _loop=loop
            )
        self._connections.discard(self)
        self._transport.set_protocol(inner)
        inner.connection_made(self._transport)
        inner.data_received(buffer)

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self)

    def shutdown(self) -> None:
        """Graceful shutdown of a connection that never sent a byte: just close it."""
        if self._transport is not None:
            self._transport.close()


def sniffing_protocol(calls: Calls) -> type[asyncio.Protocol]:
    """The class to give uvicorn as ``http=``: REST to httptools, gRPC to ``calls``."""
    return type("SpruceProtocol", (_Sniffer,), {"calls": calls})
