"""Turning exceptions into Pinecone's two error body shapes.

Control plane (and anything outside ``/index/<name>``): ``{"error": {"code", "message"}, "status"}``.
Data plane (grpc-gateway ``rpcStatus``): ``{"code": <gRPC int>, "message", "details": []}``.
401 is ``text/plain`` as Pinecone does it. Anything that is not a :class:`~spruce.errors.SpruceError` is a
bug or a fault: it is logged with its traceback and answered with a 500 whose message hides the details.
"""

from __future__ import annotations

import logging

import orjson

from spruce.errors import SpruceError
from spruce.server.http import TEXT, Response

__all__ = ["error_response", "internal_error", "plain_error", "route_error"]

log = logging.getLogger("spruce.server")

_REASONS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    409: "ALREADY_EXISTS",
    413: "PAYLOAD_TOO_LARGE",
    422: "UNPROCESSABLE_ENTITY",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}

_GRPC = {"UNIMPLEMENTED": 12, "INTERNAL": 13}


def error_response(exc: SpruceError, *, data_plane: bool) -> Response:
    """The response for an error spruce raised on purpose."""
    status = exc.http_status
    if status == 401:
        return plain_error(401, exc.message)
    return _body(status, exc.code, exc.grpc_code, exc.message, data_plane)


def plain_error(status: int, message: str) -> Response:
    return Response(status, message.encode(), TEXT)


def internal_error(exc: BaseException, *, data_plane: bool, what: str) -> Response:
    """Log an unexpected exception and answer 500 without leaking internals."""
    log.error("unexpected error while handling %s", what, exc_info=exc)
    return _body(500, "INTERNAL", 13, "Internal server error; the server log has the details.", data_plane)


def route_error(status: int, message: str, *, data_plane: bool) -> Response:
    """An error produced by the HTTP layer itself (unknown route, wrong method)."""
    code = _REASONS.get(status, "UNKNOWN")
    return _body(status, code, _GRPC.get(code, 5 if status == 404 else 3), message, data_plane)


def _body(status: int, code: str, grpc_code: int, message: str, data_plane: bool) -> Response:
    if data_plane:
        payload: dict[str, object] = {"code": grpc_code, "message": message, "details": []}
    else:
        payload = {"error": {"code": code, "message": message}, "status": status}
    return Response(status, orjson.dumps(payload))
