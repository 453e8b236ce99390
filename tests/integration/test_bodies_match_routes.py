"""Every route's success body, from a real server, decodes as the type its route declares (the same types
``/openapi.json`` is built from), strictly: required fields present, every field of its declared type.
The fuzz run (test_openapi_fuzz.py) checks the same against the document, but only where its generated
requests happen to succeed; here each route gets a request that does."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest
from spruce_server_proc import CLASSIC_API, NEW_API

from spruce.server.routing import ROUTES, UNSUPPORTED, Route, match, split_path

SPEC = {"serverless": {"cloud": "aws", "region": "us-east-1"}}
IX = "/index/bodies"
# One succeeding request per route: (method, path, keyword arguments for httpx).
REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/indexes", {"json": {"name": "bodies", "dimension": 2, "spec": SPEC}}),
    ("GET", "/indexes", {}),
    ("GET", "/indexes/bodies", {}),
    ("PATCH", "/indexes/bodies", {"json": {"tags": {"a": "b"}}}),
    (
        "POST",
        f"{IX}/vectors/upsert",
        {"json": {"vectors": [{"id": "a", "values": [1, 2], "metadata": {"g": "x"}}]}},
    ),
    (
        "POST",
        f"{IX}/query",
        {"json": {"topK": 2, "vector": [1, 2], "includeValues": True, "includeMetadata": True}},
    ),
    ("GET", f"{IX}/vectors/fetch", {"params": {"ids": ["a", "b"]}}),
    ("POST", f"{IX}/vectors/fetch_by_metadata", {"json": {"filter": {"g": "x"}, "limit": 1}}),
    ("POST", f"{IX}/vectors/update", {"json": {"id": "a", "setMetadata": {"h": 1}}}),
    ("GET", f"{IX}/vectors/list", {"params": {"limit": 1}}),
    ("POST", f"{IX}/describe_index_stats", {"json": {}}),
    ("GET", f"{IX}/describe_index_stats", {}),
    ("GET", f"{IX}/spruce/storage", {}),
    ("POST", f"{IX}/namespaces", {"json": {"name": "made"}}),
    ("GET", f"{IX}/namespaces", {"params": {"limit": 1}}),
    ("GET", f"{IX}/namespaces/made", {}),
    ("DELETE", f"{IX}/namespaces/made", {}),
    ("POST", f"{IX}/vectors/delete", {"json": {"ids": ["a"]}}),
    ("DELETE", "/indexes/bodies", {}),
]
DX = "/index/docbodies/namespaces/n/documents"
DOC_SCHEMA = {
    "fields": {
        "t": {"type": "string", "full_text_search": {"language": "en"}},
        "e": {"type": "dense_vector", "dimension": 2, "metric": "cosine"},
        "s": {"type": "sparse_vector"},
    }
}
# The Documents API's routes, on a document index (created with API 2026-07, the only shape with schemas).
DOC_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/indexes", {"json": {"name": "docbodies", "schema": DOC_SCHEMA}}),
    (
        "POST",
        f"{DX}/upsert",
        {
            "json": {
                "documents": [
                    {"_id": "a", "t": "x y", "g": "x", "e": [1, 2], "s": {"indices": [1], "values": [2]}}
                ]
            }
        },
    ),
    (
        "POST",
        f"{DX}/search",
        {
            "json": {
                "score_by": [{"type": "text", "query": "x", "fields": ["t"]}],
                "top_k": 2,
                "include_fields": ["*"],
            }
        },
    ),
    ("POST", f"{DX}/fetch", {"json": {"filter": {"t": {"$match_any": "x"}}, "limit": 1}}),
    ("POST", f"{DX}/update", {"json": {"filter": {"g": {"$eq": "x"}}, "set_fields": {"h": 1}}}),
    ("POST", f"{DX}/list", {"json": {"limit": 1}}),
    ("POST", f"{DX}/delete", {"json": {"filter": {"h": {"$eq": 1}}}}),
]


def _route(method: str, path: str) -> Route:
    return match(method, split_path(path.encode()))[0]


def test_every_route_is_exercised() -> None:
    exercised = {(m, _route(m, p).path) for m, p, _ in REQUESTS + DOC_REQUESTS}
    # (the routes of features spruce has not yet: tests/integration/test_unsupported.py, each of them)
    assert exercised == {(r.method, r.path) for r in ROUTES if r not in UNSUPPORTED}


def _check_body(route: Route, method: str, path: str, r: httpx.Response) -> None:
    assert r.status_code == route.status, (method, path, r.text)
    if route.response is None:
        assert r.content == b""
        return
    alternatives = route.response if isinstance(route.response, tuple) else (route.response,)
    errors = []
    for tp in alternatives:
        try:
            msgspec.json.decode(r.content, type=tp, strict=True)
            return
        except msgspec.ValidationError as exc:
            errors.append(f"{tp.__name__}: {exc}")
    raise AssertionError(f"{method} {path}: {r.text} matches no declared type: {errors}")


def test_document_bodies_decode_as_declared(http: httpx.Client) -> None:
    for method, path, kwargs in DOC_REQUESTS:
        r = http.request(method, path, headers=NEW_API, **kwargs)
        _check_body(_route(method, path), method, path, r)
    described = http.get("/indexes/docbodies", headers=NEW_API)
    _check_body(_route("GET", "/indexes/docbodies"), "GET", "/indexes/docbodies", described)
    assert described.json()["schema"]["fields"]["t"]["full_text_search"]["language"] == "en"


@pytest.mark.parametrize("headers", [NEW_API, CLASSIC_API], ids=["2026-07", "2025-04"])
def test_success_bodies_decode_as_declared(http: httpx.Client, headers: dict[str, str]) -> None:
    for method, path, kwargs in REQUESTS:
        route = _route(method, path)
        if (method, path) == ("POST", "/indexes") and headers is NEW_API:
            fields = {"_values": {"type": "dense_vector", "dimension": 2, "metric": "cosine"}}
            kwargs = {"json": {"name": "bodies", "schema": {"fields": fields}}}
        r = http.request(method, path, headers=headers, **kwargs)
        _check_body(route, method, path, r)
