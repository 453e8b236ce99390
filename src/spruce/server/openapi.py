"""The OpenAPI 3.1 document for exactly what spruce serves, at ``GET /openapi.json``, built from one source.

Each operation comes from a :data:`~spruce.server.routing.ROUTES` entry: its path and path parameters
from the route's pattern, its query parameters, request body and success body from the
:mod:`spruce.server.bodies` types the route names, and their JSON Schemas from
:func:`msgspec.json.schema_components`. Nothing is typed twice, so a route added without a description,
or a body changed without its schema, cannot happen. It is what the schemathesis run fuzzes against, so
its response schemas are strict where the SDK is strict: required fields, no ``null`` where a value is
expected, and both error body shapes. The index model is ``anyOf`` the classic and the 2026-07 shape,
since ``X-Pinecone-Api-Version`` selects between them.

Three paths are served outside ``ROUTES`` and described here by hand: ``/openapi.json`` itself, and the
probes ``GET /health`` and ``GET /ready`` (``server.app``), which need no API key (``security: []``) and
answer exactly ``{"status": "ok"}``, ``{"status": "ready"}``, or 503 ``{"status": "not ready", "reason":
...}``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec
import orjson

from spruce.server import bodies
from spruce.server.routing import ROUTES, Route

__all__ = ["openapi_bytes", "openapi_document"]

J = dict[str, Any]
_REF = "#/components/schemas/{name}"
# What any route can answer besides its own errors (bad input, unknown index, body cap, undecodable body,
# a fault, a read-only store); 401 and 405 are added with their own shapes.
_COMMON_ERRORS = (400, 404, 413, 422, 500, 503)
_TEXT: J = {"type": "string"}
_VERSION: J = {
    "name": "X-Pinecone-Api-Version",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "examples": ["2026-07"]},
}


def _alternatives(declared: Any) -> tuple[Any, ...]:
    """A route's body or response type as a tuple of alternatives (a tuple declares ``anyOf``)."""
    if declared is None:
        return ()
    return declared if isinstance(declared, tuple) else (declared,)


def _types(routes: tuple[Route, ...]) -> list[Any]:
    out: list[Any] = [bodies.ControlError, bodies.DataError]
    for r in routes:
        for declared in (r.body, r.params, r.response):
            out += [t for t in _alternatives(declared) if t not in out]
    return out


def _json(schema: J, description: str) -> J:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _parameters(route: Route, params: J | None) -> list[J]:
    out: list[J] = [
        {"name": seg[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
        for seg in route.pattern
        if seg.startswith("{")
    ]
    if params is not None:
        required = set(params.get("required", ()))
        for name, schema in params["properties"].items():
            p: J = {"name": name, "in": "query", "required": name in required, "schema": schema}
            if schema.get("type") == "array":
                p.update(style="form", explode=True)
            out.append(p)
    return [*out, _VERSION]


def _responses(route: Route, ok: J | None) -> J:
    shape = {"$ref": _REF.format(name="DataError" if route.data_plane else "ControlError")}
    if route.status >= 400:  # a feature spruce has not yet (``spruce.server.unsupported``): only errors
        out: J = {str(route.status): _json(shape, "Not supported by spruce yet, or none exists")}
    else:
        out = {str(route.status): _json(ok, "OK") if ok is not None else {"description": "Accepted"}}
    for status in sorted({*_COMMON_ERRORS, *route.errors}):
        out[str(status)] = _json(shape, "Error")
    out["401"] = {"description": "Missing or wrong API key", "content": {"text/plain": {"schema": _TEXT}}}
    out["405"] = _json(shape, "Method not allowed on this path")
    return out


def _status(value: str, **more: J) -> J:
    """The JSON Schema of a probe's body: ``{"status": value}`` plus ``more`` properties, nothing else."""
    return {
        "type": "object",
        "properties": {"status": {"const": value}, **more},
        "required": ["status", *more],
        "additionalProperties": False,
    }


def _probes() -> J:
    """``/health`` and ``/ready`` (``App._probe``): served before the key is checked, so no security."""
    health = _json(_status("ok"), "The process answers")
    ready = _json(_status("ready"), "The store is open and takes writes")
    not_ready = _json(
        _status("not ready", reason=_TEXT), "The store refuses writes (a failed fsync, a full disk, ...)"
    )
    return {
        "/health": {"get": {"operationId": "health", "security": [], "responses": {"200": health}}},
        "/ready": {
            "get": {"operationId": "ready", "security": [], "responses": {"200": ready, "503": not_ready}}
        },
    }


def openapi_document(routes: tuple[Route, ...] = ROUTES) -> J:
    types = _types(routes)
    refs, components = msgspec.json.schema_components(types, ref_template=_REF)
    ref_of = dict(zip(map(id, types), refs, strict=True))

    def schema_of(declared: Any) -> J:
        alts = [ref_of[id(t)] for t in _alternatives(declared)]
        return alts[0] if len(alts) == 1 else {"anyOf": alts}

    paths: J = {}
    for r in routes:
        op: J = {"operationId": r.operation_id}
        params = components[r.params.__name__] if r.params is not None else None
        op["parameters"] = _parameters(r, params)
        if r.body is not None:
            op["requestBody"] = {
                "required": r.body_required,
                "content": {"application/json": {"schema": schema_of(r.body)}},
            }
        op["responses"] = _responses(r, schema_of(r.response) if r.response is not None else None)
        paths.setdefault(r.path, {})[r.method.lower()] = op
    paths["/openapi.json"] = {
        "get": {
            "operationId": "openapi",
            "responses": {
                "200": _json({"type": "object"}, "This document"),
                "401": {
                    "description": "Missing or wrong API key",
                    "content": {"text/plain": {"schema": _TEXT}},
                },
            },
        }
    }
    paths.update(_probes())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "spruce",
            "version": "0.1.0",
            "description": "Pinecone's REST API as served by spruce. Data-plane paths live under "
            "/index/{index}; X-Pinecone-Api-Version >= 2026-07 selects the schema/deployment index model.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "Api-Key"}},
        },
        "security": [{"ApiKey": []}],
    }


@cache
def openapi_bytes() -> bytes:
    return orjson.dumps(openapi_document())
