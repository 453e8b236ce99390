"""One gRPC call from its path, metadata and message bytes to a status and response bytes.

What :class:`spruce.server.app.SpruceApp` does for REST, minus HTTP: check the API key (the ``api-key``
metadata, the same rule as REST's header), find the method, refuse a message above the same size cap as a
REST body, pick where the call runs (short reads on the event loop, everything else in the worker pool,
by the same rules as REST), and turn whatever the call raises into a gRPC status. The HTTP/2 framing is
:mod:`spruce.server.grpc.transport`'s job; the methods themselves are :mod:`spruce.server.grpc.service`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from google.protobuf.message import DecodeError, Message

from spruce import deadline
from spruce.errors import (
    InvalidArgumentError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    SpruceError,
)
from spruce.server.auth import Keys
from spruce.server.config import Context
from spruce.server.errors import grpc_status
from spruce.server.grpc.service import METHODS, Method
from spruce.server.lsn import grpc_metadata, min_lsn

__all__ = ["Calls", "Outcome", "too_large"]

OK = 0


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finished call: ``status`` 0 with the serialized response, or an error status and message."""

    status: int
    message: str = ""
    payload: bytes = b""
    metadata: tuple[tuple[bytes, bytes], ...] = ()  # response metadata: the LSN headers (``server.lsn``)


def too_large(cap: int) -> SpruceError:
    """The same refusal as REST's 413 (INVALID_ARGUMENT over gRPC: the SDKs retry RESOURCE_EXHAUSTED)."""
    return PayloadTooLargeError(
        f"The request message exceeds the limit of {cap} bytes; send smaller batches "
        "(Pinecone allows at most 2 MB and 1000 records per upsert).",
        field="body",
    )


class Calls:
    """Runs gRPC calls against one server :class:`~spruce.server.config.Context`."""

    def __init__(self, ctx: Context, pool: ThreadPoolExecutor) -> None:
        self.ctx = ctx
        self.pool = pool
        self._keys = Keys(ctx.config.api_key, ctx.config.read_only_api_key)
        self.max_message_bytes = ctx.config.max_body_bytes

    def start(
        self,
        path: bytes,
        api_key: bytes | None,
        local_port: int | None,
        body: bytes,
        barrier: bytes | None = None,
    ) -> Outcome | Callable[[], Outcome]:
        """Begin one unary call whose whole (gRPC-framed) request body has arrived.

        Returns the :class:`Outcome` when the call finished right here on the event loop (a refusal, or a
        short read), else the job to run in the worker pool (:attr:`pool`), which returns the outcome.
        Why short reads stay on the loop: see :meth:`spruce.server.app.SpruceApp._dispatch`.
        """
        try:
            role = self._keys.role(api_key, where="api-key metadata")
            name = path.decode("latin-1")
            method = METHODS.get(name)
            if method is None:
                raise MethodNotAllowedError(f"spruce serves no gRPC method {name}.", allowed=())
            Keys.allow(role, reads=method.reads, what=name.rsplit("/", 1)[-1])
            index = self.ctx.ports.index_at(local_port)
            if index is None:
                raise NotFoundError(
                    "This port serves no index: gRPC reaches an index on its own port, the one in the host "
                    "that describe_index returns (start spruce without --index-ports none)."
                )
            message = _unframe(body, self.max_message_bytes)
        except SpruceError as exc:
            return Outcome(exc.grpc_code, exc.message)
        wanted = (barrier or b"").decode("latin-1")  # ``x-spruce-min-lsn`` metadata (``server.lsn``)
        syncs = self.ctx.reads_sync or (self.ctx.shared and bool(wanted))  # (a round trip first)
        if method.short is None or syncs:
            return partial(self._decode_and_run, method, index, message, wanted)
        request = self._decode(method, message)
        if isinstance(request, Outcome):
            return request
        if method.short(request):
            return self._run(method, index, request, wanted)
        return partial(self._run, method, index, request, wanted)

    @staticmethod
    def _decode(method: Method, message: bytes) -> Message | Outcome:
        try:
            return method.request.FromString(message)
        except DecodeError as exc:
            bad = InvalidArgumentError(f"The request message cannot be decoded: {exc}", field="body")
            return Outcome(bad.grpc_code, bad.message)

    def _decode_and_run(self, method: Method, index: str, message: bytes, barrier: str = "") -> Outcome:
        request = self._decode(method, message)
        if isinstance(request, Outcome):
            return request
        return self._run(method, index, request, barrier)

    def _run(self, method: Method, index: str, request: Message, barrier: str = "") -> Outcome:
        try:
            with deadline.within(self.ctx.config.request_timeout):
                engine = self.ctx.db.index(index)
                if method.reads:
                    with engine.reading(min_lsn(barrier)) as lsn:
                        reply = method.call(engine, request)
                    meta = grpc_metadata(reconciled=lsn, behind=engine.behind)
                else:
                    reply = method.call(engine, request)
                    meta = grpc_metadata(committed=reply[1]) if isinstance(reply, tuple) else ()
            response = reply[0] if isinstance(reply, tuple) else reply
            return Outcome(OK, payload=response.SerializeToString(), metadata=meta)
        except Exception as exc:
            status, text = grpc_status(exc, what=f"gRPC {type(request).__name__}")
            return Outcome(status, text)


def _unframe(body: bytes, cap: int) -> bytes:
    """The one message of a unary request: a 1-byte compressed flag, a 4-byte big-endian length, bytes."""
    if len(body) < 5:
        raise InvalidArgumentError("The request carries no gRPC message.", field="body")
    if body[0] != 0:
        raise InvalidArgumentError(
            "The request message is compressed; spruce accepts uncompressed messages only "
            "(grpc-encoding identity).",
            field="body",
        )
    length = int.from_bytes(body[1:5], "big")
    if length > cap:
        raise too_large(cap)
    if len(body) != 5 + length:
        raise InvalidArgumentError("A unary gRPC request carries exactly one whole message.", field="body")
    return body[5:]
