"""Turning exceptions into Pinecone's two error body shapes.

Control plane (and anything outside ``/index/<name>``): ``{"error": {"code", "message"}, "status"}``.
Data plane (grpc-gateway ``rpcStatus``): ``{"code": <gRPC int>, "message", "details": []}``. Over gRPC
itself the same code and message travel as ``grpc-status`` and ``grpc-message`` (:func:`grpc_status`).
The status and both codes come from the exception's class
(:mod:`spruce.errors` is the one table). Anything that is not a :class:`~spruce.errors.SpruceError` is a
bug or a fault: it is logged with its traceback and answered as an :class:`~spruce.errors.InternalError`,
whose message hides the details.
"""

from __future__ import annotations

import logging

import orjson

from spruce.errors import InternalError, MethodNotAllowedError, SpruceError
from spruce.server.http import Response

__all__ = ["error_response", "grpc_status", "internal_error"]

log = logging.getLogger("spruce.server")


def error_response(exc: SpruceError, *, data_plane: bool) -> Response:
    """The response for an error spruce raised on purpose."""
    status = exc.http_status
    if data_plane:
        payload: dict[str, object] = {"code": exc.grpc_code, "message": exc.message, "details": []}
    else:
        payload = {"error": {"code": exc.code, "message": exc.message}, "status": status}
    response = Response(status, orjson.dumps(payload))
    if isinstance(exc, MethodNotAllowedError):
        response.headers.append((b"allow", ", ".join(exc.allowed).encode()))
    if exc.retry_after is not None:
        response.headers.append((b"retry-after", str(exc.retry_after).encode()))
    return response


def internal_error(exc: BaseException, *, data_plane: bool, what: str) -> Response:
    """Log an unexpected exception and answer 500 without leaking internals."""
    log.error("unexpected error while handling %s", what, exc_info=exc)
    hidden = InternalError("Internal server error; the server log has the details.")
    return error_response(hidden, data_plane=data_plane)


def grpc_status(exc: BaseException, *, what: str) -> tuple[int, str]:
    """The gRPC status code and message for an exception a gRPC call raised.

    A :class:`~spruce.errors.SpruceError` keeps its class's ``grpc_code``; anything else is logged and
    becomes INTERNAL with the same hidden message as REST's 500.
    """
    if not isinstance(exc, SpruceError):
        log.error("unexpected error while handling %s", what, exc_info=exc)
        exc = InternalError("Internal server error; the server log has the details.")
    return exc.grpc_code, exc.message
