"""The request and response values that flow between the ASGI app and the handlers.

Handlers are plain synchronous functions of a :class:`Request` returning a :class:`Response`; they run in a
worker thread next to the engine call they make, so decoding, the engine and encoding share one hop off the
event loop and none of them can stall other connections.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = ["JSON", "TEXT", "Request", "Response", "json_response"]

JSON = b"application/json"
TEXT = b"text/plain; charset=utf-8"

_DUMP_OPTS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


@dataclass(slots=True)
class Request:
    """What a handler may read: path parameters, query parameters, the raw body and the API version."""

    method: str
    params: dict[str, str]
    query: dict[str, list[str]]
    body: bytes
    api_version: str
    host_header: str = ""


@dataclass(slots=True)
class Response:
    """A complete response: status, bytes and content type (plus rarely needed extra headers)."""

    status: int
    body: bytes = b""
    content_type: bytes = JSON
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


def json_response(payload: Any, status: int = 200) -> Response:
    """Encode ``payload`` with orjson (numpy arrays included) into a JSON response."""
    return Response(status, orjson.dumps(payload, option=_DUMP_OPTS))
