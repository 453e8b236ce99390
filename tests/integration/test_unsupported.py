"""Pinecone features spruce has not yet, through the official SDK 10.2.0: each call that would create or
change one fails at once (no retries: 501) with a message naming the feature; the listings a client makes
just to enumerate are empty; one asked for by id is a 404 (``spruce.server.unsupported``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import msgspec
import pytest
from pinecone import Pinecone, ServerlessSpec
from pinecone.errors import ApiError, NotFoundError
from spruce_server_proc import NEW_API, ServerProcess

from spruce.server.routing import UNSUPPORTED


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("data"), []).start(timeout=60)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def pc(server: ServerProcess) -> Pinecone:
    client = Pinecone(api_key="anything", host=server.url)
    client.create_index(
        name="ix", dimension=2, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1")
    )
    return client


def _fails(call: Callable[[], Any], status: int, *words: str) -> str:
    with pytest.raises(ApiError) as err:
        call()
    assert err.value.status_code == status, err.value
    message = str(err.value)
    for word in words:
        assert word in message, message
    return message


def test_listings_are_empty(pc: Pinecone) -> None:
    assert list(pc.list_collections()) == []
    assert list(pc.list_backups()) == []
    assert list(pc.list_backups(index_name="ix")) == []
    assert list(pc.list_restore_jobs()) == []
    assert list(pc.inference.list_models()) == []
    assert list(pc.Index("ix").list_imports()) == []


def test_creating_one_is_501_naming_the_feature(pc: Pinecone) -> None:
    _fails(lambda: pc.create_collection(name="c", source="ix"), 501, "collections", "not supported by spruce")
    _fails(lambda: pc.create_backup(index_name="ix", backup_name="b"), 501, "backups", "not supported")
    _fails(
        lambda: pc.create_index_for_model(
            name="m",
            cloud="aws",
            region="us-east-1",
            embed={"model": "multilingual-e5-large", "field_map": {"text": "t"}},
        ),
        501,
        "integrated embedding",
        "not supported",
    )
    assert not pc.has_index("m")  # and no index of that name was made
    _fails(lambda: pc.inference.embed(model="multilingual-e5-large", inputs=["a"]), 501, "embed")
    _fails(lambda: pc.inference.rerank(model="bge-reranker-v2-m3", query="q", documents=["a"]), 501, "rerank")
    ix = pc.Index("ix")
    _fails(lambda: ix.start_import(uri="s3://b/p"), 501, "bulk import")
    _fails(lambda: ix.upsert_records(namespace="ns", records=[{"_id": "a", "t": "x"}]), 501, "upsert_records")
    _fails(
        lambda: ix.search_records(namespace="ns", query={"top_k": 1, "inputs": {"text": "x"}}),
        501,
        "search_records",
    )


def test_one_by_id_is_404(pc: Pinecone) -> None:
    for call in (
        lambda: pc.describe_collection("c"),
        lambda: pc.delete_collection("c"),
        lambda: pc.describe_backup(backup_id="b1"),
        lambda: pc.delete_backup(backup_id="b1"),
        lambda: pc.describe_restore_job(job_id="j1"),
        lambda: pc.Index("ix").describe_import(id="1"),
    ):
        with pytest.raises(NotFoundError) as err:
            call()
        assert "not found" in str(err.value)


def test_an_unknown_index_is_named(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, headers=NEW_API) as http:
        for method, path in (
            ("GET", "/indexes/nope/backups"),
            ("POST", "/indexes/nope/backups"),
            ("GET", "/index/nope/bulk/imports"),
        ):
            r = http.request(method, path, json={} if method == "POST" else None)
            assert r.status_code == 404 and "nope" in r.text, (path, r.text)
        # an unknown route is still told apart from a known but unsupported one
        r = http.get("/no/such/thing")
        assert r.status_code == 404 and "spruce serves no route" in r.text
        r = http.post("/collections", json={"name": "c", "source": "x"})
        assert r.status_code == 501 and r.json()["error"]["code"] == "UNIMPLEMENTED"


def test_openapi_names_every_unsupported_route(server: ServerProcess) -> None:
    doc = httpx.get(f"{server.url}/openapi.json").json()
    for path in (
        "/collections",
        "/backups",
        "/restore-jobs",
        "/indexes/create-for-model",
        "/embed",
        "/models",
    ):
        assert path in doc["paths"], path
    assert "501" in doc["paths"]["/collections"]["post"]["responses"]


def test_every_unsupported_route_answers_as_declared(server: ServerProcess, pc: Pinecone) -> None:
    """Each route of ``UNSUPPORTED``, on the index ``ix``: its declared status, its error code, and an
    empty listing that decodes strictly as the type it declares (the one ``/openapi.json`` names)."""
    with httpx.Client(base_url=server.url, headers=NEW_API) as http:
        for route in UNSUPPORTED:
            path = "/" + "/".join(
                "ix" if seg in ("{name}", "{index}") else seg.strip("{}") for seg in route.pattern
            )
            r = http.request(route.method, path, json={} if route.method in ("POST", "PATCH") else None)
            assert r.status_code == route.status, (route.method, path, r.text)
            if route.status == 501:
                err = r.json()  # (the data plane's error shape, or the control plane's)
                assert (err["code"] == 12) if route.data_plane else (err["error"]["code"] == "UNIMPLEMENTED")
                assert "not supported by spruce" in r.text
            elif route.status == 404:
                assert "not found" in r.text
            else:
                body = msgspec.json.decode(r.content, type=route.response, strict=True)
                assert all(v == [] for v in msgspec.structs.asdict(body).values()), r.text
