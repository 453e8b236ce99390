"""The request and response values that flow between the ASGI app and the handlers.

Handlers are plain synchronous functions of a :class:`Request` returning a :class:`Response`. Writes and
anything that can take long run in a worker thread, decoding, engine call and encoding in one hop off the
event loop; short reads run on the loop itself (see :mod:`spruce.server.app` for why and which).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from spruce.server.wire import json_object

__all__ = ["JSON", "MIN_LSN_HEADER", "STALE_HEADER", "TEXT", "Request", "Response", "json_response"]

JSON = b"application/json"
MIN_LSN_HEADER = b"x-spruce-min-lsn"
STALE_HEADER = b"x-spruce-stale"
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
    min_lsn: str = ""  # ``x-spruce-min-lsn``: an LSN the read must reflect (``IndexState.barrier``)
    decoded: dict[str, Any] | None = None

    def json_object(self, *, empty_ok: bool = False) -> dict[str, Any]:
        """The body as a JSON object (see :func:`spruce.server.wire.json_object`), decoded once: the
        dispatcher may already have looked into it to decide where the handler runs. Only a non-empty body's
        value is kept: whether an empty one is ``{}`` or an error depends on each caller's ``empty_ok``."""
        if self.decoded is None:
            if not self.body.strip():
                return json_object(self.body, empty_ok=empty_ok)
            self.decoded = json_object(self.body)
        return self.decoded


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
