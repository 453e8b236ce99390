"""Raw HTTP: every error status with both body shapes, the classic (2025-04/2025-10) shapes, path quirks."""

from __future__ import annotations

import re

import httpx
import pytest
from spruce_server_proc import CLASSIC_API, NEW_API, make_index

CONTROL_KEYS = {"error", "status"}
DATA_KEYS = {"code", "message", "details"}


def _control_error(r: httpx.Response, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == CONTROL_KEYS and body["status"] == status and body["error"]["code"] == code
    return str(body["error"]["message"])


def _data_error(r: httpx.Response, status: int, grpc: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == DATA_KEYS and body["code"] == grpc and body["details"] == []
    return str(body["message"])


@pytest.fixture(scope="module")
def wire(http: httpx.Client) -> httpx.Client:
    make_index(http, "wire", dimension=3)
    return http


# ---------------------------------------------------------------- control plane errors


def test_control_400_names_field_and_limit(wire: httpx.Client) -> None:
    spec = {"serverless": {"cloud": "aws", "region": "us-east-1"}}
    msg = _control_error(
        wire.post("/indexes", headers=CLASSIC_API, json={"name": "x", "dimension": 0, "spec": spec}),
        400,
        "INVALID_ARGUMENT",
    )
    assert "dimension" in msg and "20000" in msg
    msg = _control_error(
        wire.post("/indexes", headers=CLASSIC_API, json={"name": "Bad_Name", "dimension": 3, "spec": spec}),
        400,
        "INVALID_ARGUMENT",
    )
    assert "name" in msg
    _control_error(
        wire.post(
            "/indexes", headers=CLASSIC_API, json={"name": "m", "dimension": 3, "metric": "l1", "spec": spec}
        ),
        400,
        "INVALID_ARGUMENT",
    )
    _control_error(
        wire.patch("/indexes/wire", json={"deletion_protection": "maybe"}), 400, "INVALID_ARGUMENT"
    )


def test_control_404_409_403(wire: httpx.Client) -> None:
    assert "nope" in _control_error(wire.get("/indexes/nope"), 404, "NOT_FOUND")
    _control_error(wire.delete("/indexes/nope"), 404, "NOT_FOUND")
    _control_error(wire.patch("/indexes/nope", json={}), 404, "NOT_FOUND")
    spec = {"serverless": {"cloud": "aws", "region": "us-east-1"}}
    _control_error(
        wire.post("/indexes", headers=CLASSIC_API, json={"name": "wire", "dimension": 3, "spec": spec}),
        409,
        "ALREADY_EXISTS",
    )
    make_index(wire, "wire-protected")
    assert wire.patch("/indexes/wire-protected", json={"deletion_protection": "enabled"}).status_code == 202
    assert "Deletion protection" in _control_error(wire.delete("/indexes/wire-protected"), 403, "FORBIDDEN")
    wire.patch("/indexes/wire-protected", json={"deletion_protection": "disabled"})
    r = wire.delete("/indexes/wire-protected")
    assert r.status_code == 202 and r.content == b""


def test_control_422_undecodable_or_missing(wire: httpx.Client) -> None:
    _control_error(wire.post("/indexes", content=b"{not json"), 422, "UNPROCESSABLE_ENTITY")
    _control_error(wire.post("/indexes", content=b"[1, 2]"), 422, "UNPROCESSABLE_ENTITY")
    _control_error(wire.post("/indexes", content=b""), 422, "UNPROCESSABLE_ENTITY")
    msg = _control_error(
        wire.post("/indexes", headers=CLASSIC_API, json={"dimension": 3}), 422, "UNPROCESSABLE_ENTITY"
    )
    assert "name" in msg
    msg = _control_error(
        wire.post("/indexes", headers=CLASSIC_API, json={"name": "z"}), 422, "UNPROCESSABLE_ENTITY"
    )
    assert "spec" in msg
    msg = _control_error(
        wire.post("/indexes", headers=NEW_API, json={"name": "z"}), 422, "UNPROCESSABLE_ENTITY"
    )
    assert "schema" in msg


def test_unknown_route_and_method(wire: httpx.Client) -> None:
    _control_error(wire.get("/no-such-route"), 404, "NOT_FOUND")
    r = wire.put("/indexes")
    _control_error(r, 405, "UNIMPLEMENTED")
    assert set(r.headers["allow"].split(", ")) == {"GET", "POST"}
    _data_error(wire.put("/index/wire/query"), 405, 12)
    _data_error(wire.post("/index/wire/no/such/route", json={}), 404, 5)
    # a Pinecone feature spruce has not yet is a 501 naming it, not a 404 (test_unsupported.py: each one)
    _data_error(wire.post("/index/wire/records/namespaces/x/search", json={}), 501, 12)


# ---------------------------------------------------------------- data plane errors


def test_data_400_names_field(wire: httpx.Client) -> None:
    up = "/index/wire/vectors/upsert"
    msg = _data_error(wire.post(up, json={"vectors": [{"id": "a", "values": [1, 2]}]}), 400, 3)
    assert "dimension" in msg and "3" in msg
    msg = _data_error(
        wire.post(up, json={"vectors": [{"id": "a", "values": [1, 2, 3], "metadata": {"n": {"x": 1}}}]}),
        400,
        3,
    )
    assert "metadata" in msg
    msg = _data_error(wire.post(up, json={"vectors": [{"id": "a", "values": [1, 2, 3]}] * 1001}), 400, 3)
    assert "1000" in msg
    msg = _data_error(wire.post("/index/wire/query", json={"topK": 10_001, "vector": [1, 2, 3]}), 400, 3)
    assert "top_k" in msg and "10000" in msg
    msg = _data_error(
        wire.post("/index/wire/query", json={"topK": 1, "vector": [1, 2, 3], "filter": {"$gt": 1}}), 400, 3
    )
    assert "filter" in msg
    msg = _data_error(
        wire.post("/index/wire/query", json={"topK": 1, "vector": [1, 2, 3], "includeValues": "yes"}), 400, 3
    )
    assert "includeValues" in msg
    msg = _data_error(wire.get("/index/wire/vectors/list", params={"limit": "abc"}), 400, 3)
    assert "limit" in msg
    msg = _data_error(wire.get("/index/wire/vectors/list", params={"limit": "101"}), 400, 3)
    assert "limit" in msg and "100" in msg
    msg = _data_error(wire.post("/index/wire/vectors/delete", json={"filter": {}}), 400, 3)
    assert msg == "Delete with empty metadata filter is not allowed"
    msg = _data_error(
        wire.post("/index/wire/vectors/update", json={"filter": {}, "setMetadata": {"a": 1}}), 400, 3
    )
    assert msg == "Update with empty metadata filter is not allowed"
    msg = _data_error(wire.post("/index/wire/vectors/fetch_by_metadata", json={"filter": {}}), 400, 3)
    assert msg == "Empty filter provided for fetch by metadata request"
    msg = _data_error(
        wire.get("/index/wire/vectors/fetch", params=[("ids", f"i{n}") for n in range(1001)]), 400, 3
    )
    assert "1000" in msg
    msg = _data_error(
        wire.post(
            up,
            json={
                "vectors": [
                    {"id": "s", "values": [1, 2, 3], "sparseValues": {"indices": [1], "values": [0.5]}}
                ]
            },
        ),
        400,
        3,
    )
    assert "sparse" in msg


def test_data_404_409_422(wire: httpx.Client) -> None:
    assert "nope" in _data_error(
        wire.post("/index/nope/query", json={"topK": 1, "vector": [1, 2, 3]}), 404, 5
    )
    _data_error(wire.get("/index/wire/namespaces/absent"), 404, 5)
    _data_error(wire.delete("/index/wire/namespaces/absent"), 404, 5)
    assert wire.post("/index/wire/namespaces", json={"name": "dup"}).status_code == 200
    _data_error(wire.post("/index/wire/namespaces", json={"name": "dup"}), 409, 6)
    _data_error(wire.post("/index/wire/vectors/upsert", content=b"\xff\xfe"), 422, 3)
    assert "vectors" in _data_error(wire.post("/index/wire/vectors/upsert", json={"namespace": "x"}), 422, 3)
    assert "topK" in _data_error(wire.post("/index/wire/query", json={"vector": [1, 2, 3]}), 422, 3)
    assert "filter" in _data_error(wire.post("/index/wire/vectors/fetch_by_metadata", json={}), 422, 3)
    assert "name" in _data_error(wire.post("/index/wire/namespaces", json={}), 422, 3)


# ---------------------------------------------------------------- shapes per API version


CLASSIC_REQUIRED = {
    "name",
    "dimension",
    "metric",
    "vector_type",
    "host",
    "spec",
    "status",
    "deletion_protection",
    "tags",
}


@pytest.mark.parametrize("version", ["2025-04", "2025-10", None])
def test_classic_index_model(wire: httpx.Client, version: str | None) -> None:
    headers = {"X-Pinecone-Api-Version": version} if version else {}
    model = wire.get("/indexes/wire", headers=headers).json()
    assert set(model) >= CLASSIC_REQUIRED
    # The index's own port (REST and gRPC: tests/integration/test_index_ports.py), on the advertised host.
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", model["host"]), model["host"]
    assert model["host"] != str(wire.base_url).rstrip("/")
    assert model["spec"] == {"serverless": {"cloud": "aws", "region": "us-east-1"}}
    assert model["status"] == {"ready": True, "state": "Ready"}
    assert all(set(m) >= CLASSIC_REQUIRED for m in wire.get("/indexes", headers=headers).json()["indexes"])


def test_schema_index_model(wire: httpx.Client) -> None:
    model = wire.get("/indexes/wire", headers=NEW_API).json()
    assert {"name", "host", "status", "deployment", "schema", "deletion_protection"} <= set(model)
    assert "spec" not in model and "dimension" not in model
    assert model["schema"]["fields"]["_values"] == {
        "type": "dense_vector",
        "dimension": 3,
        "metric": "cosine",
    }
    assert model["deployment"] == {"deployment_type": "managed", "cloud": "aws", "region": "us-east-1"}


def test_schema_create_translates_to_classic(wire: httpx.Client) -> None:
    body = {
        "name": "wire-new",
        "schema": {"fields": {"_values": {"type": "dense_vector", "dimension": 7, "metric": "euclidean"}}},
        "deployment": {
            "deployment_type": "pod",
            "environment": "eu-west1-gcp",
            "pod_type": "s1.x1",
            "replicas": 2,
            "shards": 1,
        },
    }
    assert wire.post("/indexes", headers=NEW_API, json=body).status_code == 201
    classic = wire.get("/indexes/wire-new", headers=CLASSIC_API).json()
    assert classic["dimension"] == 7 and classic["metric"] == "euclidean"
    assert classic["spec"]["pod"] == {
        "environment": "eu-west1-gcp",
        "pod_type": "s1.x1",
        "pods": 2,
        "replicas": 2,
        "shards": 1,
    }
    # a schema of other fields is a document index; reserved names beside them are refused, naming them
    title = {"type": "string", "full_text_search": {}}
    doc = {"name": "wire-doc", "schema": {"fields": {"title": title}}}
    assert wire.post("/indexes", headers=NEW_API, json=doc).status_code == 201
    assert wire.get("/indexes/wire-doc", headers=NEW_API).json()["schema"]["fields"]["title"]["store_text"]
    dense = {"type": "dense_vector", "dimension": 2, "metric": "cosine"}
    mixed = {"name": "wire-mixed", "schema": {"fields": {"_values": dense, "title": title}}}
    assert "schema.fields.title" in _control_error(
        wire.post("/indexes", headers=NEW_API, json=mixed), 400, "INVALID_ARGUMENT"
    )


def test_classic_data_plane_shapes(wire: httpx.Client) -> None:
    """SDK 7.x (2025-04) data-plane bodies: camelCase, metadata {} for none, no pagination at the end."""
    h = CLASSIC_API
    vectors = [{"id": f"c{i}", "values": [1.0, float(i), 0.5], "metadata": {}} for i in range(3)]
    r = wire.post("/index/wire/vectors/upsert", headers=h, json={"vectors": vectors, "namespace": "cl"})
    assert r.json() == {"upsertedCount": 3}
    q = wire.post(
        "/index/wire/query",
        headers=h,
        json={"topK": 2, "vector": [1, 1, 0.5], "namespace": "cl", "show_progress": False},
    )
    body = q.json()
    assert set(body) == {"matches", "namespace", "usage"} and body["usage"] == {"readUnits": 1}
    assert set(body["matches"][0]) == {"id", "score"}
    f = wire.get(
        "/index/wire/vectors/fetch", headers=h, params=[("ids", "c1"), ("ids", "c2"), ("namespace", "cl")]
    ).json()
    assert f["vectors"]["c1"] == {"id": "c1", "values": [1.0, 1.0, 0.5]}
    page = wire.get("/index/wire/vectors/list", headers=h, params={"namespace": "cl", "limit": 2}).json()
    assert [v["id"] for v in page["vectors"]] == ["c0", "c1"] and "next" in page["pagination"]
    last = wire.get(
        "/index/wire/vectors/list",
        headers=h,
        params={"namespace": "cl", "limit": 2, "paginationToken": page["pagination"]["next"]},
    ).json()
    assert [v["id"] for v in last["vectors"]] == ["c2"] and "pagination" not in last
    stats = wire.post("/index/wire/describe_index_stats", headers=h, json={}).json()
    assert stats["namespaces"]["cl"] == {"vectorCount": 3}
    assert {"dimension", "indexFullness", "totalVectorCount"} <= set(stats)
    assert wire.get("/index/wire/describe_index_stats", headers=h).json() == stats
    upd = wire.post(
        "/index/wire/vectors/update",
        headers=h,
        json={"id": "c0", "setMetadata": {"a": "b"}, "namespace": "cl"},
    )
    assert upd.json() == {"matchedRecords": 1}
    assert (
        wire.post("/index/wire/vectors/delete", headers=h, json={"ids": ["c0"], "namespace": "cl"}).json()
        == {}
    )
    ns = wire.get("/index/wire/namespaces", headers=h).json()
    assert {"namespaces", "total_count"} <= set(ns) and "pagination" not in ns
    assert {"name": "cl", "record_count": 2} in ns["namespaces"]


def test_duplicate_slashes_and_encoded_namespace(wire: httpx.Client) -> None:
    base = str(wire.base_url).rstrip("/")
    r = wire.post(
        f"{base}//index//wire//vectors/upsert/",
        json={"vectors": [{"id": "s", "values": [1, 2, 3]}], "namespace": "a/b c"},
    )
    assert r.status_code == 200, r.text
    assert wire.get("/index/wire/namespaces/a%2Fb%20c").json() == {"name": "a/b c", "record_count": 1}
    assert wire.get("/index/wire/namespaces/__default__").status_code in (200, 404)
    assert wire.get(f"{base}//indexes//wire/").json()["name"] == "wire"


def test_response_headers(wire: httpx.Client) -> None:
    r = wire.get("/indexes")
    assert r.headers["content-type"] == "application/json"
    assert int(r.headers["content-length"]) == len(r.content)


def test_schema_create_checks_deployment_types(wire: httpx.Client) -> None:
    fields = {"_values": {"type": "dense_vector", "dimension": 3}}
    for deployment in (
        {"deployment_type": "managed", "cloud": 5},
        {"deployment_type": "pod", "replicas": "2"},
    ):
        r = wire.post(
            "/indexes",
            headers=NEW_API,
            json={"name": "wire-dep", "schema": {"fields": fields}, "deployment": deployment},
        )
        assert "deployment." in _control_error(r, 400, "INVALID_ARGUMENT")
    r = wire.post(
        "/indexes",
        headers=NEW_API,
        json={"name": "wire-dep", "schema": {"fields": fields}, "deployment": {"deployment_type": "x"}},
    )
    assert "deployment_type" in _control_error(r, 400, "INVALID_ARGUMENT")
    r = wire.post("/indexes", headers=NEW_API, json={"schema": {"fields": fields}})
    assert r.status_code == 201 and r.json()["name"].startswith("index-")


def test_query_search_breadth_knobs(wire: httpx.Client) -> None:
    """Pinecone's maxCandidates / scanFactor map onto HNSW's ef; out-of-range values are a named 400."""
    base = "/index/wire"
    wire.post(
        f"{base}/vectors/upsert", json={"vectors": [{"id": "k1", "values": [1, 0, 0]}], "namespace": "knobs"}
    )
    for extra in ({"maxCandidates": 200}, {"scanFactor": 2}, {}):
        r = wire.post(f"{base}/query", json={"topK": 1, "vector": [1, 0, 0], "namespace": "knobs", **extra})
        assert r.status_code == 200 and r.json()["matches"][0]["id"] == "k1"
    assert "max_candidates" in _data_error(
        wire.post(f"{base}/query", json={"topK": 1, "vector": [1, 0, 0], "maxCandidates": 0}), 400, 3
    )
    assert "scan_factor" in _data_error(
        wire.post(f"{base}/query", json={"topK": 1, "vector": [1, 0, 0], "scanFactor": 9}), 400, 3
    )


def test_sparse_index_wire_shapes(wire: httpx.Client) -> None:
    """A sparse index in both API generations' models, its create rules (classic form: 9.x/7.x send the
    metric), and the camelCase sparse shapes of upsert, query and fetch."""
    spec = {"serverless": {"cloud": "aws", "region": "us-east-1"}}
    body = {"name": "wire-sp", "vector_type": "sparse", "metric": "dotproduct", "spec": spec}
    assert wire.post("/indexes", headers=CLASSIC_API, json=body).status_code == 201
    classic = wire.get("/indexes/wire-sp", headers=CLASSIC_API).json()
    assert classic["vector_type"] == "sparse" and classic["metric"] == "dotproduct"
    assert "dimension" not in classic
    schema = wire.get("/indexes/wire-sp", headers=NEW_API).json()["schema"]
    assert schema == {"fields": {"_sparse_values": {"type": "sparse_vector"}}}
    for bad, field in (
        ({**body, "name": "wire-sp2", "metric": "cosine"}, "metric"),
        ({**body, "name": "wire-sp3", "dimension": 4}, "dimension"),
        ({**body, "name": "wire-sp4", "vector_type": "fuzzy"}, "vector_type"),
    ):
        msg = _control_error(wire.post("/indexes", headers=CLASSIC_API, json=bad), 400, "INVALID_ARGUMENT")
        assert field in msg
    new = {"name": "wire-sp5", "schema": {"fields": {"_sparse_values": {"type": "sparse_vector"}}}}
    assert wire.post("/indexes", headers=NEW_API, json=new).status_code == 201
    assert wire.get("/indexes/wire-sp5", headers=CLASSIC_API).json()["vector_type"] == "sparse"

    h = CLASSIC_API
    rec = {"id": "r", "sparseValues": {"indices": [9, 2], "values": [0.5, 1.5]}, "metadata": {"g": "x"}}
    r = wire.post("/index/wire-sp/vectors/upsert", headers=h, json={"vectors": [rec]})
    assert r.json() == {"upsertedCount": 1}
    q = wire.post(
        "/index/wire-sp/query",
        headers=h,
        json={"topK": 1, "sparseVector": {"indices": [2], "values": [2.0]}, "includeValues": True},
    ).json()
    assert q["matches"] == [
        {"id": "r", "score": 3.0, "sparseValues": {"indices": [9, 2], "values": [0.5, 1.5]}}
    ]
    f = wire.get("/index/wire-sp/vectors/fetch", headers=h, params={"ids": "r"}).json()
    assert f["vectors"]["r"] == {
        "id": "r",
        "values": [],
        "sparseValues": {"indices": [9, 2], "values": [0.5, 1.5]},
        "metadata": {"g": "x"},
    }
    stats = wire.post("/index/wire-sp/describe_index_stats", headers=h, json={}).json()
    assert stats["vectorType"] == "sparse" and stats["totalVectorCount"] == 1
    bad_rec = {"id": "b", "sparseValues": {"indices": [1, 2], "values": [1.0]}}
    msg = _data_error(
        wire.post("/index/wire-sp/vectors/upsert", headers=h, json={"vectors": [bad_rec]}), 400, 3
    )
    assert "vectors[0].sparse_values" in msg and "same length" in msg
