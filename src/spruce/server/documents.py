"""Data-plane handlers for the Documents API: ``POST /namespaces/{namespace}/documents/<verb>``.

The bodies are snake_case and already in the engine's argument names (SDK 10.2 sends ``score_by``,
``top_k``, ``include_fields``, ``set_fields`` …), so each handler passes the body's keys through and
encodes the result; the engine (``spruce.engine.documents``) checks every value. Keys the engine does
not take are refused here, so a misspelt option is a 400 rather than silently ignored. Dense and sparse
values go out as float32, as the vector API's do (``0.1``, not ``0.10000000149011612``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spruce.api import DataPlane, DocumentPlane
from spruce.errors import InvalidArgumentError
from spruce.server.config import Context
from spruce.server.http import Request, Response, json_response
from spruce.server.lsn import committed, reading, reconciled
from spruce.server.wire import json_object
from spruce.types import Pagination

__all__ = ["delete", "fetch", "list_documents", "search", "update", "upsert"]


def _documents(ctx: Context, req: Request) -> DocumentPlane:
    return ctx.db.index(req.params["index"]).documents


def _index(ctx: Context, req: Request) -> tuple[DataPlane, DocumentPlane]:
    index = ctx.db.index(req.params["index"])
    return index, index.documents


def _args(req: Request, allowed: tuple[str, ...], *, empty_ok: bool = False) -> dict[str, Any]:
    body = json_object(req.body, empty_ok=empty_ok)
    extra = [key for key in body if key not in allowed]
    if extra:
        raise InvalidArgumentError(
            f"{extra[0]!r} is not a field of this request (fields: {', '.join(allowed)})", field=extra[0]
        )
    return {key: body[key] for key in allowed if key in body}


def _wire_doc(docs: DocumentPlane, doc: dict[str, Any]) -> dict[str, Any]:
    schema = docs.schema
    if schema.dense is not None and isinstance(doc.get(schema.dense[0]), list):
        doc[schema.dense[0]] = np.asarray(doc[schema.dense[0]], dtype=np.float32)
    if schema.sparse is not None and isinstance(sp := doc.get(schema.sparse), dict):
        doc[schema.sparse] = {"indices": sp["indices"], "values": np.asarray(sp["values"], dtype=np.float32)}
    return doc


def _paged(body: dict[str, Any], pagination: Pagination | None) -> dict[str, Any]:
    if pagination is not None:
        body["pagination"] = {"next": pagination.next}
    return body


def _count(name: str, value: int | None) -> dict[str, Any]:
    return {} if value is None else {name: value}


def upsert(ctx: Context, req: Request) -> Response:
    result = _documents(ctx, req).upsert(namespace=req.params["namespace"], **_args(req, ("documents",)))
    return committed(json_response({"upserted_count": result.upserted_count}), result.lsn)


def search(ctx: Context, req: Request) -> Response:
    index, docs = _index(ctx, req)
    args = _args(req, ("score_by", "top_k", "include_fields", "filter"))
    with reading(index, req) as lsn:
        result = docs.search(
            namespace=req.params["namespace"],
            score_by=args.pop("score_by", None),
            top_k=args.pop("top_k", None),
            **args,
        )
    body = {
        "matches": [_wire_doc(docs, m.to_dict()) for m in result.matches],
        "namespace": result.namespace,
        "usage": {"read_units": result.usage.read_units},
    }
    return reconciled(json_response(body), lsn, index)


def fetch(ctx: Context, req: Request) -> Response:
    index, docs = _index(ctx, req)
    args = _args(req, ("ids", "filter", "include_fields", "pagination_token", "limit"))
    with reading(index, req) as lsn:
        result = docs.fetch(namespace=req.params["namespace"], **args)
    body = {
        "documents": {rid: _wire_doc(docs, d.to_dict()) for rid, d in result.documents.items()},
        "namespace": result.namespace,
        "usage": {"read_units": result.usage.read_units},
    }
    return reconciled(json_response(_paged(body, result.pagination)), lsn, index)


def delete(ctx: Context, req: Request) -> Response:
    result = _documents(ctx, req).delete(
        namespace=req.params["namespace"], **_args(req, ("ids", "filter", "delete_all"))
    )
    return committed(json_response(_count("matched_records", result.matched_records)), result.lsn)


def update(ctx: Context, req: Request) -> Response:
    result = _documents(ctx, req).update(
        namespace=req.params["namespace"],
        **_args(req, ("documents", "filter", "set_fields", "remove_fields")),
    )
    return committed(json_response(_count("matched_records", result.matched_records)), result.lsn)


def list_documents(ctx: Context, req: Request) -> Response:
    index, docs = _index(ctx, req)
    args = _args(req, ("prefix", "limit", "pagination_token"), empty_ok=True)
    with reading(index, req) as lsn:
        result = docs.list_page(namespace=req.params["namespace"], **args)
    body = {
        "documents": [{"_id": d.id} for d in result.documents],
        "namespace": result.namespace,
        "usage": {"read_units": result.usage.read_units},
    }
    return reconciled(json_response(_paged(body, result.pagination)), lsn, index)
