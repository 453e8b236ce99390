"""Data-plane handlers for ``/namespaces``: list, create, describe, delete.

Unlike the rest of the data plane these bodies are snake_case (``record_count``, ``total_count``).
The optional namespace ``schema`` on create is accepted and ignored: spruce indexes every metadata field,
so every field is already filterable.
"""

from __future__ import annotations

from spruce.server import encode
from spruce.server.config import Context
from spruce.server.http import Request, Response, json_response
from spruce.server.wire import json_object, opt_int_param, opt_str_param, require

__all__ = ["create_namespace", "delete_namespace", "describe_namespace", "list_namespaces"]


def list_namespaces(ctx: Context, req: Request) -> Response:
    q = req.query
    token = opt_str_param(q, "paginationToken") or opt_str_param(q, "pagination_token")
    result = ctx.db.index(req.params["index"]).list_namespaces_paginated(
        prefix=opt_str_param(q, "prefix"), limit=opt_int_param(q, "limit"), pagination_token=token
    )
    return json_response(encode.namespaces_body(result))


def create_namespace(ctx: Context, req: Request) -> Response:
    body = json_object(req.body)
    index = ctx.db.index(req.params["index"])
    result = index.create_namespace(require(body, "name"), schema=body.get("schema"))
    return json_response(encode.namespace_body(result))


def describe_namespace(ctx: Context, req: Request) -> Response:
    result = ctx.db.index(req.params["index"]).describe_namespace(name=req.params["namespace"])
    return json_response(encode.namespace_body(result))


def delete_namespace(ctx: Context, req: Request) -> Response:
    ctx.db.index(req.params["index"]).delete_namespace(name=req.params["namespace"])
    return Response(200, b"{}")
