"""Data-plane handlers for records: upsert, query, fetch, fetch by metadata, update, delete, list, stats.

Request bodies are camelCase (``topK``, ``setMetadata``, ``deleteAll`` …); each handler maps those names to
the engine's arguments, makes one engine call and encodes the result with :mod:`spruce.server.encode`.
Values are not checked here: the engine validates them and raises errors that name the field.
"""

from __future__ import annotations

from typing import Any

from spruce.api import DataPlane
from spruce.errors import SpruceError
from spruce.server import encode, rules
from spruce.server.config import Context
from spruce.server.http import Request, Response, json_response
from spruce.server.lsn import committed as _committed
from spruce.server.lsn import reading as _reading
from spruce.server.lsn import reconciled as _reconciled
from spruce.server.wire import json_object, opt_bool, opt_int_param, opt_str_param, require

__all__ = [
    "delete",
    "describe_index_stats",
    "fetch",
    "fetch_by_metadata",
    "list_vectors",
    "query",
    "short_fetch",
    "short_query",
    "short_stats",
    "update",
    "upsert",
]


def _index(ctx: Context, req: Request) -> DataPlane:
    return ctx.db.index(req.params["index"])


def _namespace(value: Any) -> Any:
    """``null``/absent is the default namespace; anything else goes to the engine to validate."""
    return "" if value is None else value


def _record(item: Any) -> Any:
    """Rename the wire's ``sparseValues`` to the engine's ``sparse_values``; other keys already match."""
    if isinstance(item, dict) and "sparseValues" in item:
        item = dict(item)
        item["sparse_values"] = item.pop("sparseValues")
    return item


def upsert(ctx: Context, req: Request) -> Response:
    body = json_object(req.body)
    vectors = require(body, "vectors")
    if isinstance(vectors, list):
        vectors = [_record(v) for v in vectors]
    result = _index(ctx, req).upsert(vectors, namespace=_namespace(body.get("namespace")))
    return _committed(json_response({"upsertedCount": result.upserted_count}), result.lsn)


def query(ctx: Context, req: Request) -> Response:
    body = req.json_object()
    top_k = require(body, "topK")
    rules.refuse_batch_queries(body.get("queries"))
    index = _index(ctx, req)
    with _reading(index, req) as lsn:
        result = index.query(
            top_k=top_k,
            vector=body.get("vector"),
            id=body.get("id"),
            namespace=_namespace(body.get("namespace")),
            filter=body.get("filter"),
            include_values=opt_bool(body, "includeValues"),
            include_metadata=opt_bool(body, "includeMetadata"),
            sparse_vector=body.get("sparseVector"),
            scan_factor=body.get("scanFactor"),
            max_candidates=body.get("maxCandidates"),
        )
    return _reconciled(json_response(encode.query_body(result)), lsn, index)


def short_query(req: Request) -> bool:
    """A query whose cost is bounded by a small ``topK`` and no filter (malformed bodies too: they end in
    a 4xx)."""
    try:
        body = req.json_object()
        return rules.short_query(body.get("topK"), body.get("filter"))
    except SpruceError:
        return True


def short_fetch(req: Request) -> bool:
    return rules.short_fetch(len(req.query.get("ids", ())))


def short_stats(req: Request) -> bool:
    """Stats are counters kept up to date, except with a ``filter``: that one scans every record."""
    try:
        return rules.short_stats(req.json_object(empty_ok=True).get("filter"))
    except SpruceError:
        return True


def fetch(ctx: Context, req: Request) -> Response:
    ids = req.query.get("ids", [])
    index = _index(ctx, req)
    with _reading(index, req) as lsn:
        result = index.fetch(ids, namespace=_namespace(opt_str_param(req.query, "namespace")))
    return _reconciled(json_response(encode.fetch_body(result)), lsn, index)


def fetch_by_metadata(ctx: Context, req: Request) -> Response:
    body = json_object(req.body)
    index = _index(ctx, req)
    with _reading(index, req) as lsn:
        result = index.fetch_by_metadata(
            require(body, "filter"),
            namespace=_namespace(body.get("namespace")),
            limit=body.get("limit"),
            pagination_token=body.get("paginationToken"),
        )
    return _reconciled(json_response(encode.fetch_by_metadata_body(result)), lsn, index)


def update(ctx: Context, req: Request) -> Response:
    body = json_object(req.body)
    result = _index(ctx, req).update(
        id=body.get("id"),
        values=body.get("values"),
        set_metadata=body.get("setMetadata"),
        namespace=_namespace(body.get("namespace")),
        filter=body.get("filter"),
        dry_run=opt_bool(body, "dryRun"),
        sparse_values=body.get("sparseValues"),
    )
    return _committed(json_response({"matchedRecords": result.matched_records}), result.lsn)


def delete(ctx: Context, req: Request) -> Response:
    body = json_object(req.body)
    result = _index(ctx, req).delete(
        ids=body.get("ids"),
        delete_all=opt_bool(body, "deleteAll"),
        namespace=_namespace(body.get("namespace")),
        filter=body.get("filter"),
    )
    return _committed(Response(200, b"{}"), result.lsn)


def list_vectors(ctx: Context, req: Request) -> Response:
    q = req.query
    index = _index(ctx, req)
    with _reading(index, req) as lsn:
        result = index.list_paginated(
            prefix=opt_str_param(q, "prefix"),
            limit=opt_int_param(q, "limit"),
            pagination_token=opt_str_param(q, "paginationToken"),
            namespace=_namespace(opt_str_param(q, "namespace")),
        )
    return _reconciled(json_response(encode.list_body(result)), lsn, index)


def describe_index_stats(ctx: Context, req: Request) -> Response:
    body = req.json_object(empty_ok=True)
    index = _index(ctx, req)
    with _reading(index, req) as lsn:
        result = index.describe_index_stats(filter=body.get("filter"))
    return _reconciled(json_response(encode.stats_body(result)), lsn, index)


def storage(ctx: Context, req: Request) -> Response:
    """spruce's own: how the index is stored (``IndexStorage``), after the read barrier like any read."""
    index = _index(ctx, req)
    with _reading(index, req) as lsn:
        result = index.storage()
    return _reconciled(json_response(encode.storage_body(result)), lsn, index)
