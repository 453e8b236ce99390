"""The OpenAPI 3.0 document for exactly what spruce serves, at ``GET /openapi.json``.

It is built from the route table (one entry per :data:`~spruce.server.routing.ROUTES` operation, checked by
a test) and is what the schemathesis run fuzzes against, so its response schemas are strict where the SDK is
strict: required fields, no ``null`` where a value is expected, and both error body shapes. The index model
is ``anyOf`` the classic and the 2026-07 shape, since ``X-Pinecone-Api-Version`` selects between them.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson

__all__ = ["OPERATIONS", "openapi_bytes", "openapi_document"]

J = dict[str, Any]


def _ref(name: str) -> J:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: J, required: tuple[str, ...] = (), **extra: Any) -> J:
    out: J = {"type": "object", "properties": props, **extra}
    if required:
        out["required"] = list(required)
    return out


_STR: J = {"type": "string"}
_INT: J = {"type": "integer"}
_NUM: J = {"type": "number"}
_BOOL: J = {"type": "boolean"}
_FLOATS: J = {"type": "array", "items": _NUM}
_ANY_OBJ: J = {"type": "object"}
_TAGS: J = {"type": "object", "additionalProperties": _STR}
_META_VALUE: J = {"anyOf": [_STR, _NUM, _BOOL, {"type": "array", "items": _STR}]}
_METADATA: J = {"type": "object", "additionalProperties": _META_VALUE}
_USAGE: J = _obj({"readUnits": _INT})
_PAGINATION: J = _obj({"next": _STR}, ("next",))
_SPARSE: J = _obj({"indices": {"type": "array", "items": _INT}, "values": _FLOATS}, ("indices", "values"))
_STATUS: J = _obj({"ready": _BOOL, "state": _STR}, ("ready", "state"))

SCHEMAS: J = {
    "ControlError": _obj(
        {"error": _obj({"code": _STR, "message": _STR}, ("code", "message")), "status": _INT},
        ("error", "status"),
    ),
    "DataError": _obj(
        {"code": _INT, "message": _STR, "details": {"type": "array", "items": _ANY_OBJ}},
        ("code", "message", "details"),
    ),
    "ClassicIndexModel": _obj(
        {
            "name": _STR,
            "dimension": _INT,
            "metric": {"type": "string", "enum": ["cosine", "euclidean", "dotproduct"]},
            "vector_type": _STR,
            "host": _STR,
            "spec": _ANY_OBJ,
            "status": _STATUS,
            "deletion_protection": {"type": "string", "enum": ["enabled", "disabled"]},
            "tags": _TAGS,
        },
        ("name", "metric", "host", "spec", "status", "deletion_protection"),
    ),
    "SchemaIndexModel": _obj(
        {
            "name": _STR,
            "host": _STR,
            "status": _STATUS,
            "deployment": _obj({"deployment_type": _STR}, ("deployment_type",)),
            "schema": _obj(
                {"fields": {"type": "object", "additionalProperties": _obj({"type": _STR}, ("type",))}},
                ("fields",),
            ),
            "deletion_protection": {"type": "string", "enum": ["enabled", "disabled"]},
            "tags": {**_TAGS, "nullable": True},
            "read_capacity": _obj(
                {"mode": _STR, "status": _obj({"state": _STR}, ("state",))}, ("mode", "status")
            ),
        },
        ("name", "host", "status", "deployment", "schema", "deletion_protection"),
    ),
    "IndexModel": {"anyOf": [_ref("ClassicIndexModel"), _ref("SchemaIndexModel")]},
    "IndexList": _obj({"indexes": {"type": "array", "items": _ref("IndexModel")}}, ("indexes",)),
    "CreateIndexRequest": {
        "description": "Classic shape (API < 2026-07) or schema/deployment shape (API >= 2026-07).",
        "anyOf": [
            _obj(
                {
                    "name": _STR,
                    "dimension": _INT,
                    "metric": _STR,
                    "vector_type": _STR,
                    "spec": _obj({"serverless": _obj({"cloud": _STR, "region": _STR}), "pod": _ANY_OBJ}),
                    "deletion_protection": _STR,
                    "tags": _TAGS,
                },
                ("name", "spec"),
            ),
            _obj(
                {
                    "name": _STR,
                    "schema": _obj({"fields": _ANY_OBJ}, ("fields",)),
                    "deployment": _obj({"deployment_type": _STR, "cloud": _STR, "region": _STR}),
                    "deletion_protection": _STR,
                    "tags": _TAGS,
                },
                ("schema",),
            ),
        ],
    },
    "ConfigureIndexRequest": _obj({"deletion_protection": _STR, "tags": _TAGS}),
    "Vector": _obj({"id": _STR, "values": _FLOATS, "sparseValues": _SPARSE, "metadata": _METADATA}, ("id",)),
    "UpsertRequest": _obj(
        {"vectors": {"type": "array", "items": _ref("Vector")}, "namespace": _STR}, ("vectors",)
    ),
    "UpsertResponse": _obj({"upsertedCount": _INT}, ("upsertedCount",)),
    "QueryRequest": _obj(
        {
            "topK": _INT,
            "namespace": _STR,
            "vector": _FLOATS,
            "id": _STR,
            "sparseVector": _SPARSE,
            "filter": _ANY_OBJ,
            "includeValues": _BOOL,
            "includeMetadata": _BOOL,
            "maxCandidates": _INT,
            "scanFactor": _NUM,
        },
        ("topK",),
    ),
    "QueryResponse": _obj(
        {
            "matches": {
                "type": "array",
                "items": _obj(
                    {"id": _STR, "score": _NUM, "values": _FLOATS, "metadata": _METADATA}, ("id", "score")
                ),
            },
            "namespace": _STR,
            "usage": _USAGE,
        },
        ("matches", "namespace", "usage"),
    ),
    "FetchedVector": _obj({"id": _STR, "values": _FLOATS, "metadata": _METADATA}, ("id", "values")),
    "FetchResponse": _obj(
        {
            "vectors": {"type": "object", "additionalProperties": _ref("FetchedVector")},
            "namespace": _STR,
            "usage": _USAGE,
        },
        ("vectors", "namespace", "usage"),
    ),
    "FetchByMetadataRequest": _obj(
        {"filter": _ANY_OBJ, "namespace": _STR, "limit": _INT, "paginationToken": _STR}, ("filter",)
    ),
    "FetchByMetadataResponse": _obj(
        {
            "vectors": {"type": "object", "additionalProperties": _ref("FetchedVector")},
            "namespace": _STR,
            "usage": _USAGE,
            "pagination": _PAGINATION,
        },
        ("vectors", "namespace", "usage"),
    ),
    "UpdateRequest": _obj(
        {
            "id": _STR,
            "values": _FLOATS,
            "sparseValues": _SPARSE,
            "setMetadata": _METADATA,
            "namespace": _STR,
            "filter": _ANY_OBJ,
            "dryRun": _BOOL,
        }
    ),
    "UpdateResponse": _obj({"matchedRecords": _INT}, ("matchedRecords",)),
    "DeleteRequest": _obj(
        {"ids": {"type": "array", "items": _STR}, "deleteAll": _BOOL, "namespace": _STR, "filter": _ANY_OBJ}
    ),
    "Empty": _obj({}, additionalProperties=False),
    "ListResponse": _obj(
        {
            "vectors": {"type": "array", "items": _obj({"id": _STR}, ("id",))},
            "pagination": _PAGINATION,
            "namespace": _STR,
            "usage": _USAGE,
        },
        ("vectors", "namespace", "usage"),
    ),
    "DescribeIndexStatsRequest": _obj({"filter": _ANY_OBJ}),
    "IndexStats": _obj(
        {
            "namespaces": {
                "type": "object",
                "additionalProperties": _obj({"vectorCount": _INT}, ("vectorCount",)),
            },
            "dimension": _INT,
            "indexFullness": _NUM,
            "totalVectorCount": _INT,
            "metric": _STR,
            "vectorType": _STR,
            # spruce extensions (not in Pinecone's API); the SDKs ignore them
            "unindexedRecordCount": {**_INT, "minimum": 0},
            "pendingDeletionCount": {**_INT, "minimum": 0},
        },
        (
            "namespaces",
            "dimension",
            "indexFullness",
            "totalVectorCount",
            "metric",
            "vectorType",
            "unindexedRecordCount",
            "pendingDeletionCount",
        ),
    ),
    "NamespaceDescription": _obj({"name": _STR, "record_count": _INT}, ("name", "record_count")),
    "ListNamespacesResponse": _obj(
        {
            "namespaces": {"type": "array", "items": _ref("NamespaceDescription")},
            "pagination": _PAGINATION,
            "total_count": _INT,
        },
        ("namespaces", "total_count"),
    ),
    "CreateNamespaceRequest": _obj({"name": _STR, "schema": _ANY_OBJ}, ("name",)),
}


def _param(name: str, where: str, schema: J, required: bool = False) -> J:
    out: J = {"name": name, "in": where, "schema": schema, "required": required or where == "path"}
    if where == "query" and schema.get("type") == "array":
        out.update(style="form", explode=True)
    return out


_VERSION = _param("X-Pinecone-Api-Version", "header", {"type": "string", "example": "2026-07"})
_NAME = _param("name", "path", _STR)
_INDEX = _param("index", "path", _STR)
_NS_PATH = _param("namespace", "path", _STR)
_NS_QUERY = _param("namespace", "query", _STR)
_PREFIX = _param("prefix", "query", _STR)
_LIMIT = _param("limit", "query", _INT)
_TOKEN = _param("paginationToken", "query", _STR)


def _json(schema: J, description: str) -> J:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(data_plane: bool, extra: tuple[str, ...]) -> J:
    shape = _ref("DataError" if data_plane else "ControlError")
    out: J = {}
    for status in sorted(("400", "404", "413", "422", "500", "503", *extra)):
        out[status] = _json(shape, "Error")
    out["401"] = {"description": "Missing or wrong API key", "content": {"text/plain": {"schema": _STR}}}
    out["405"] = _json(shape, "Method not allowed on this path")
    return out


def _op(
    op_id: str,
    ok: tuple[str, J | None],
    *,
    params: tuple[J, ...] = (),
    body: str | None = None,
    body_required: bool = True,
    extra: tuple[str, ...] = (),
) -> J:
    data_plane = any(p["name"] == "index" for p in params)
    status, schema = ok
    responses: J = {status: _json(schema, "OK") if schema is not None else {"description": "Accepted"}}
    responses.update(_errors(data_plane, extra))
    out: J = {"operationId": op_id, "parameters": [*params, _VERSION], "responses": responses}
    if body is not None:
        out["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    return out


OPERATIONS: dict[tuple[str, str], J] = {
    ("GET", "/indexes"): _op("list_indexes", ("200", _ref("IndexList"))),
    ("POST", "/indexes"): _op(
        "create_index", ("201", _ref("IndexModel")), body="CreateIndexRequest", extra=("403", "409")
    ),
    ("GET", "/indexes/{name}"): _op("describe_index", ("200", _ref("IndexModel")), params=(_NAME,)),
    ("PATCH", "/indexes/{name}"): _op(
        "configure_index", ("202", _ref("IndexModel")), params=(_NAME,), body="ConfigureIndexRequest"
    ),
    ("DELETE", "/indexes/{name}"): _op("delete_index", ("202", None), params=(_NAME,), extra=("403",)),
    ("POST", "/index/{index}/vectors/upsert"): _op(
        "upsert", ("200", _ref("UpsertResponse")), params=(_INDEX,), body="UpsertRequest"
    ),
    ("POST", "/index/{index}/query"): _op(
        "query", ("200", _ref("QueryResponse")), params=(_INDEX,), body="QueryRequest"
    ),
    ("GET", "/index/{index}/vectors/fetch"): _op(
        "fetch",
        ("200", _ref("FetchResponse")),
        params=(_INDEX, _param("ids", "query", {"type": "array", "items": _STR}), _NS_QUERY),
    ),
    ("POST", "/index/{index}/vectors/fetch_by_metadata"): _op(
        "fetch_by_metadata",
        ("200", _ref("FetchByMetadataResponse")),
        params=(_INDEX,),
        body="FetchByMetadataRequest",
    ),
    ("POST", "/index/{index}/vectors/update"): _op(
        "update", ("200", _ref("UpdateResponse")), params=(_INDEX,), body="UpdateRequest"
    ),
    ("POST", "/index/{index}/vectors/delete"): _op(
        "delete", ("200", _ref("Empty")), params=(_INDEX,), body="DeleteRequest"
    ),
    ("GET", "/index/{index}/vectors/list"): _op(
        "list_vectors", ("200", _ref("ListResponse")), params=(_INDEX, _NS_QUERY, _PREFIX, _LIMIT, _TOKEN)
    ),
    ("POST", "/index/{index}/describe_index_stats"): _op(
        "describe_index_stats",
        ("200", _ref("IndexStats")),
        params=(_INDEX,),
        body="DescribeIndexStatsRequest",
        body_required=False,
    ),
    ("GET", "/index/{index}/describe_index_stats"): _op(
        "describe_index_stats_get", ("200", _ref("IndexStats")), params=(_INDEX,)
    ),
    ("GET", "/index/{index}/namespaces"): _op(
        "list_namespaces", ("200", _ref("ListNamespacesResponse")), params=(_INDEX, _PREFIX, _LIMIT, _TOKEN)
    ),
    ("POST", "/index/{index}/namespaces"): _op(
        "create_namespace",
        ("200", _ref("NamespaceDescription")),
        params=(_INDEX,),
        body="CreateNamespaceRequest",
        extra=("409",),
    ),
    ("GET", "/index/{index}/namespaces/{namespace}"): _op(
        "describe_namespace", ("200", _ref("NamespaceDescription")), params=(_INDEX, _NS_PATH)
    ),
    ("DELETE", "/index/{index}/namespaces/{namespace}"): _op(
        "delete_namespace", ("200", _ref("Empty")), params=(_INDEX, _NS_PATH)
    ),
    ("GET", "/openapi.json"): {
        "operationId": "openapi",
        "responses": {
            "200": _json(_ANY_OBJ, "This document"),
            "401": {"description": "Missing or wrong API key", "content": {"text/plain": {"schema": _STR}}},
        },
    },
}


def openapi_document() -> J:
    paths: J = {}
    for (method, path), op in OPERATIONS.items():
        paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "spruce",
            "version": "0.1.0",
            "description": "Pinecone's REST API as served by spruce. Data-plane paths live under "
            "/index/{index}; X-Pinecone-Api-Version >= 2026-07 selects the schema/deployment index model.",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "Api-Key"}},
        },
        "security": [{"ApiKey": []}],
    }


@cache
def openapi_bytes() -> bytes:
    return orjson.dumps(openapi_document())
