"""gRPC over HTTP/2 without TLS (h2c, prior knowledge): one asyncio protocol per connection, on ``h2``.

Why ``h2`` and not grpcio's server: the gRPC face must share the REST port (SDK 10.x dials the REST host's
port for ``grpc=True``), so it has to live inside the same asyncio server as uvicorn, behind the sniffing
protocol of :mod:`spruce.server.protocol`; grpcio owns its own sockets and threads and is a heavy runtime
dependency. ``h2`` is a pure-Python HTTP/2 state machine: it parses frames, keeps HPACK and flow-control
state, and leaves I/O to us, which is exactly the split asyncio wants.

What one connection does: every request stream collects its DATA frames (refusing more than the message
cap as soon as it is exceeded), and when the client ends the stream the whole body goes to
:class:`~spruce.server.grpc.calls.Calls`. Short reads finish right there on the loop; anything else runs
in the worker pool while the connection keeps serving other streams. A response is HEADERS, one DATA frame
holding the framed message (split to fit the peer's flow-control window, resumed on WINDOW_UPDATE) and
trailers with ``grpc-status``; an error is a trailers-only response (``grpc-status``, ``grpc-message``).
Received data is acknowledged at once: the size cap, not the window, bounds what a stream may buffer.

Graceful shutdown (uvicorn calls :meth:`GrpcConnection.shutdown`): a GOAWAY stops new streams, the ones
in flight finish, then the connection closes, so SIGTERM loses no acknowledged gRPC write either.

Idle connections: one with no call running for ``idle_timeout`` seconds (``--idle-timeout``, as for REST
keep-alive) gets a GOAWAY and is closed, as grpc servers do with ``max_connection_idle``; a client channel
reconnects on its next call. PINGs do not count as activity. One timer per connection, re-armed only when
it fires (not per call): the check compares the time of the last call's end.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from typing import Any, cast
from urllib.parse import quote

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

from spruce.server.grpc.calls import Calls, Outcome, too_large
from spruce.server.grpc.service import METHODS
from spruce.telemetry import REQUEST_SECONDS, REQUESTS

__all__ = ["GrpcConnection"]

log = logging.getLogger("spruce.server")

# What the SDK sends is well-formed, and validating every header costs per request: only check what the
# handler reads.
_CONFIG = h2.config.H2Configuration(
    client_side=False,
    header_encoding=None,
    validate_inbound_headers=False,
    normalize_inbound_headers=False,
    validate_outbound_headers=False,
    normalize_outbound_headers=False,
)
# A 2 MB upsert arrives without waiting for window updates, in frames of up to 1 MB (fewer events).
_WINDOW = 16 * 1024 * 1024
_SETTINGS = {
    h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: _WINDOW,
    h2.settings.SettingCodes.MAX_FRAME_SIZE: 1024 * 1024,
    h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 256,
    h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: 64 * 1024,
    h2.settings.SettingCodes.ENABLE_PUSH: 0,
}
_RESPONSE_HEADERS = [(b":status", b"200"), (b"content-type", b"application/grpc")]
_OK_TRAILERS = [(b"grpc-status", b"0")]
# grpc-message is percent-encoded: everything printable but '%' passes as is (the gRPC HTTP/2 spec).
_MESSAGE_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


class _Stream:
    """One request stream: its headers and the body received so far (``None`` once it was answered)."""

    __slots__ = ("chunks", "headers", "size", "started")

    def __init__(self, headers: dict[bytes, bytes]) -> None:
        self.headers = headers
        self.chunks: list[bytes] | None = []
        self.size = 0
        self.started = time.perf_counter()


class GrpcConnection(asyncio.Protocol):
    """One client's HTTP/2 connection carrying gRPC calls.

    ``connections`` is uvicorn's set of live connections: joining it makes graceful shutdown wait for this
    connection too, as for a REST keep-alive connection.
    """

    def __init__(self, calls: Calls, connections: set[Any], idle_timeout: float | None = None) -> None:
        self.calls = calls
        self.connections = connections
        self.idle_timeout = idle_timeout
        self.last_active = 0.0  # loop time of the last answered call (or of the connection's start)
        self._idle: asyncio.TimerHandle | None = None
        self.h2 = h2.connection.H2Connection(_CONFIG)
        self.transport: asyncio.Transport | None = None
        self.local_port: int | None = None
        self.streams: dict[int, _Stream] = {}
        self.outgoing: dict[int, memoryview] = {}
        self.closing = False

    # ------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass, only alike
        self.connections.add(self)
        sockname = transport.get_extra_info("sockname")
        self.local_port = sockname[1] if isinstance(sockname, tuple) else None
        self.h2.local_settings = h2.settings.Settings(client=False, initial_values=_SETTINGS)
        # h2 applies our MAX_FRAME_SIZE only when the client's SETTINGS ack is processed, but sizes its
        # frame parser once per received chunk: a client that sends the ack and a large DATA frame in one
        # chunk (hyper/tonic does, for any message above 16 KiB) would be cut off as "overlong frame".
        # Accepting large frames from the start is harmless: no client sends them before our SETTINGS.
        self.h2.max_inbound_frame_size = _SETTINGS[h2.settings.SettingCodes.MAX_FRAME_SIZE]
        self.h2.initiate_connection()
        self.h2.increment_flow_control_window(_WINDOW - 65535)
        self._flush()
        if self.idle_timeout:
            loop = asyncio.get_running_loop()
            self.last_active = loop.time()
            self._idle = loop.call_later(self.idle_timeout, self._check_idle)

    def _check_idle(self) -> None:
        """Close the connection if no call ran for ``idle_timeout`` (module docstring); else look again
        when it could first be idle that long."""
        self._idle = None
        if self.transport is None or self.closing or self.idle_timeout is None:
            return
        loop = asyncio.get_running_loop()
        quiet = loop.time() - self.last_active
        if not self.streams and quiet >= self.idle_timeout:
            log.debug("closing a gRPC connection idle for %.1f s", quiet)
            self.shutdown()  # (a GOAWAY, then the close: no stream is running)
            return
        wait = self.idle_timeout - quiet if not self.streams else self.idle_timeout
        self._idle = loop.call_later(max(wait, 0.05), self._check_idle)

    def data_received(self, data: bytes) -> None:
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            log.debug("closing a gRPC connection after an HTTP/2 protocol error: %s", exc)
            self._flush()
            self._close()
            return
        for event in events:
            if isinstance(event, h2.events.DataReceived):
                self._data(event)
            elif isinstance(event, h2.events.RequestReceived):
                self.streams[event.stream_id] = _Stream(dict(event.headers or ()))
            elif isinstance(event, h2.events.StreamEnded):
                self._ended(event.stream_id)
            elif isinstance(event, h2.events.WindowUpdated):
                self._resume(event.stream_id)
            elif isinstance(event, h2.events.StreamReset):
                self.streams.pop(event.stream_id, None)
                self.outgoing.pop(event.stream_id, None)
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.closing = True
            elif isinstance(event, h2.events.RemoteSettingsChanged):
                self._resume(0)
        self._flush()
        if self.closing and not self.streams:
            self._close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.discard(self)
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        self.transport = None
        self.streams.clear()
        self.outgoing.clear()

    def shutdown(self) -> None:
        """Called by uvicorn on SIGTERM: refuse new streams, finish the running ones, then close."""
        self.closing = True
        if self.transport is None:
            return
        self.h2.close_connection()
        self._flush()
        if not self.streams:
            self._close()

    # ------------------------------------------------------------ requests

    def _data(self, event: h2.events.DataReceived) -> None:
        sid = event.stream_id
        if event.flow_controlled_length:
            self.h2.acknowledge_received_data(event.flow_controlled_length, sid)
        stream = self.streams.get(sid)
        if stream is None or stream.chunks is None:
            return
        stream.size += len(event.data)
        if stream.size > self.calls.max_message_bytes + 5:
            # Answer now, without buffering the rest; the reset tells the client to stop sending.
            exc = too_large(self.calls.max_message_bytes)
            self._respond(sid, Outcome(exc.grpc_code, exc.message))
            self._reset(sid)
            return
        stream.chunks.append(event.data)

    def _ended(self, sid: int) -> None:
        stream = self.streams.get(sid)
        if stream is None or stream.chunks is None:
            return
        body = stream.chunks[0] if len(stream.chunks) == 1 else b"".join(stream.chunks)
        stream.chunks = None
        headers = stream.headers
        if not headers.get(b"content-type", b"").startswith(b"application/grpc"):
            self.h2.send_headers(sid, [(b":status", b"415")], end_stream=True)
            del self.streams[sid]
            return
        started = self.calls.start(
            headers.get(b":path", b""),
            headers.get(b"api-key"),
            self.local_port,
            body,
            headers.get(b"x-spruce-min-lsn"),
        )
        if isinstance(started, Outcome):
            self._respond(sid, started)
            return
        future = asyncio.get_running_loop().run_in_executor(self.calls.pool, started)
        future.add_done_callback(functools.partial(self._finished, sid))

    def _finished(self, sid: int, future: asyncio.Future[Outcome]) -> None:
        if self.transport is None:
            return
        # The job maps every exception to a status itself; only a cancelled future has none.
        outcome = Outcome(1, "The call was cancelled.") if future.cancelled() else future.result()
        self._respond(sid, outcome)
        self._flush()
        if self.closing and not self.streams:
            self._close()

    # ------------------------------------------------------------ responses

    def _respond(self, sid: int, outcome: Outcome) -> None:
        if self._idle is not None:
            self.last_active = asyncio.get_running_loop().time()
        stream = self.streams.get(sid)
        if stream is None:
            return  # the client reset the stream while the call ran
        _observe(stream, outcome.status)
        try:
            if outcome.status:
                trailers = [
                    *_RESPONSE_HEADERS,
                    (b"grpc-status", str(outcome.status).encode()),
                    (b"grpc-message", quote(outcome.message, safe=_MESSAGE_SAFE).encode()),
                ]
                self.h2.send_headers(sid, trailers, end_stream=True)
                del self.streams[sid]
                return
            self.h2.send_headers(sid, [*_RESPONSE_HEADERS, *outcome.metadata])
            n = len(outcome.payload)
            self.outgoing[sid] = memoryview(b"\x00" + n.to_bytes(4, "big") + outcome.payload)
            self._pump(sid)
        except h2.exceptions.StreamClosedError:
            self.streams.pop(sid, None)
            self.outgoing.pop(sid, None)

    def _pump(self, sid: int) -> None:
        """Send as much of a stream's response as the flow-control windows allow; trailers once done."""
        data = self.outgoing[sid]
        while data:
            size = min(self.h2.local_flow_control_window(sid), self.h2.max_outbound_frame_size, len(data))
            if size <= 0:
                self.outgoing[sid] = data
                return
            self.h2.send_data(sid, data[:size].tobytes())
            data = data[size:]
        del self.outgoing[sid]
        self.h2.send_headers(sid, _OK_TRAILERS, end_stream=True)
        self.streams.pop(sid, None)

    def _resume(self, sid: int) -> None:
        """A window grew: continue the stream's response, or every waiting one for the connection's."""
        try:
            for waiting in [sid] if sid in self.outgoing else list(self.outgoing) if sid == 0 else []:
                self._pump(waiting)
        except h2.exceptions.StreamClosedError:  # pragma: no cover - a reset stream left no output
            self.outgoing.pop(sid, None)

    def _reset(self, sid: int) -> None:
        with contextlib.suppress(h2.exceptions.StreamClosedError):
            self.h2.reset_stream(sid, h2.errors.ErrorCodes.NO_ERROR)

    # ------------------------------------------------------------ I/O

    def _flush(self) -> None:
        data = self.h2.data_to_send()
        if data and self.transport is not None:
            self.transport.write(data)

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _observe(stream: _Stream, status: int) -> None:
    """Count the call by method and gRPC status (``spruce.telemetry``), as ``server.app`` counts REST."""
    path = stream.headers.get(b":path", b"").decode("latin-1")
    route = f"grpc {path.rsplit('/', 1)[-1]}" if path in METHODS else "grpc unmatched"
    REQUESTS.labels(route, "POST", str(status)).inc()
    REQUEST_SECONDS.labels(route).observe(time.perf_counter() - stream.started)
