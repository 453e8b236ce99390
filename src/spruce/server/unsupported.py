"""Pinecone's routes for features spruce does not have yet, answered on purpose rather than with a 404.

A client that calls one gets 501 and a message naming the feature, not "spruce serves no route" or, worse,
a 405 that reads ``create-for-model`` as an index name. Listing calls that a client may make only to
enumerate (``list_collections``, ``list_backups``, ``list_restore_jobs``, ``list_imports``,
``list_models``, backup schedules) answer an empty list in the shape the SDK parses: there are none, which
is true. Describing or deleting one by id answers 404: it does not exist. Index-scoped listings check the
index first, so an unknown index is still a 404 naming it.

The SDK retries 408, 429, 500, 502, 503 and 504, never 501, so the message reaches the caller at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spruce.errors import NotFoundError, NotSupportedError
from spruce.server.config import Context
from spruce.server.http import Request, Response, json_response

__all__ = ["absent", "empty_list", "not_supported"]

Handler = Callable[[Context, Request], Response]


def not_supported(feature: str, hint: str = "") -> Handler:
    """A handler answering 501 "<feature> is not supported by spruce yet" (and ``hint``, if any)."""
    message = f"{feature} is not supported by spruce yet" + (f"; {hint}" if hint else "")

    def handler(ctx: Context, req: Request) -> Response:
        _check_index(ctx, req)
        raise NotSupportedError(message)

    return handler


def empty_list(body: dict[str, Any]) -> Handler:
    """A handler answering ``body`` (an empty listing), after checking the index the path names, if any."""

    def handler(ctx: Context, req: Request) -> Response:
        _check_index(ctx, req)
        return json_response(body)

    return handler


def absent(kind: str, param: str) -> Handler:
    """A handler answering 404 for the ``kind`` whose id is path parameter ``param``: none exists."""

    def handler(ctx: Context, req: Request) -> Response:
        _check_index(ctx, req)
        raise NotFoundError(f"{kind} {req.params[param]!r} not found (spruce has no {kind}s yet)")

    return handler


def _check_index(ctx: Context, req: Request) -> None:
    """An unknown index named by the path is a 404 naming it, as on every other route."""
    if "name" in req.params:
        ctx.db.describe_index(req.params["name"])
    elif "index" in req.params:
        ctx.db.index(req.params["index"])
