"""Drives spruce's gRPC data plane with an older SDK generation's gRPC client: 9.1.0's ``GrpcIndex`` or
7.3.0's ``PineconeGRPC(...).Index`` (grpcio), each exactly as reference §3.4 says a user reaches a
plaintext server. Run by ``test_sdk_grpc.py`` from the venv of that generation (``.venv-sdk9``,
``.venv-sdk7``); usage: ``python sdk_grpc_script.py http://127.0.0.1:PORT``. The control plane stays REST
in both. Exits non-zero (with a traceback) on the first failed expectation.

Covered, per generation: upsert (tuples, dicts with metadata, hybrid sparse values), query by vector
with a filter and by id, fetch, update (values, metadata, sparse values), list with pagination, stats,
describe/delete namespace, delete by ids / filter / all, and that client mistakes are the SDK's
non-retried errors (not found, invalid argument) rather than UNAVAILABLE.
"""

from __future__ import annotations

import sys
import time
import warnings
from typing import Any

warnings.simplefilter("ignore")

import pinecone  # noqa: E402
from pinecone import Pinecone, ServerlessSpec  # noqa: E402

MAJOR = int(pinecone.__version__.split(".")[0])


def grpc_index(pc: Pinecone, name: str) -> Any:
    """The gRPC handle as each generation makes one for a plaintext host: a bare ``host:port``."""
    host = pc.describe_index(name).host
    assert host.startswith("http://127.0.0.1:"), host
    bare = host.removeprefix("http://")
    if MAJOR == 7:
        from pinecone.grpc import GRPCClientConfig, PineconeGRPC

        return PineconeGRPC(api_key="anything").Index(host=bare, grpc_config=GRPCClientConfig(secure=False))
    from pinecone.grpc import GrpcIndex

    return GrpcIndex(host=bare, api_key="anything", secure=False)


def refused(call: Any, *words: str) -> Exception:
    """``call`` raises promptly (no retry loop: a client mistake is never UNAVAILABLE) with ``words``."""
    started = time.monotonic()
    try:
        call()
    except Exception as exc:  # the generations raise different classes; the message is what counts
        took = time.monotonic() - started
        assert took < 2.0, f"{exc!r} took {took:.1f} s: retried?"
        text = str(exc)
        assert all(w in text for w in words), text
        assert "UNAVAILABLE" not in text and "INTERNAL" not in text, text
        return exc
    raise AssertionError("the call was not refused")


def main(url: str) -> None:
    assert MAJOR in (7, 9), pinecone.__version__
    pc = Pinecone(api_key="anything", host=url)
    name = f"grpc{MAJOR}"
    spec = ServerlessSpec(cloud="aws", region="us-east-1")
    pc.create_index(name=name, dimension=3, metric="dotproduct", spec=spec)
    idx = grpc_index(pc, name)

    assert (
        idx.upsert(vectors=[("a", [1.0, 0.0, 0.0]), ("b", [0.0, 1.0, 0.0])], namespace="ns").upserted_count
        == 2
    )
    idx.upsert(
        vectors=[
            {"id": "c", "values": [0.0, 0.0, 1.0], "metadata": {"genre": "drama", "year": 2020}},
            {
                "id": "h",
                "values": [0.5, 0.5, 0.0],
                "sparse_values": {"indices": [7, 42], "values": [2.0, 1.0]},
                "metadata": {"genre": "comedy", "year": 1999},
            },
        ],
        namespace="ns",
    )

    top = idx.query(vector=[0.1, 0.2, 0.9], top_k=2, namespace="ns", include_metadata=True)
    assert [m.id for m in top.matches] == ["c", "b"], top
    assert top.matches[0].metadata == {"genre": "drama", "year": 2020.0}
    assert abs(top.matches[0].score - 0.9) < 1e-6
    filtered = idx.query(vector=[1.0, 1.0, 1.0], top_k=5, namespace="ns", filter={"genre": {"$eq": "comedy"}})
    assert [m.id for m in filtered.matches] == ["h"]
    hybrid = idx.query(
        vector=[0.0, 0.0, 0.0001], sparse_vector={"indices": [42], "values": [3.0]}, top_k=1, namespace="ns"
    )
    assert hybrid.matches[0].id == "h" and abs(hybrid.matches[0].score - 3.0) < 1e-5
    by_id = idx.query(id="a", top_k=1, namespace="ns", include_values=True)
    assert by_id.matches[0].id in {"a", "h"}

    fetched = idx.fetch(ids=["h", "missing"], namespace="ns").vectors
    assert set(fetched) == {"h"} and list(fetched["h"].values) == [0.5, 0.5, 0.0]
    assert list(fetched["h"].sparse_values.indices) == [7, 42]

    idx.update(id="a", values=[0.0, 0.0, 2.0], set_metadata={"genre": "drama"}, namespace="ns")
    idx.update(id="h", sparse_values={"indices": [1], "values": [5.0]}, namespace="ns")
    again = idx.fetch(ids=["a", "h"], namespace="ns").vectors
    assert list(again["a"].values) == [0.0, 0.0, 2.0] and again["a"].metadata == {"genre": "drama"}
    assert list(again["h"].sparse_values.indices) == [1]

    page = idx.list_paginated(prefix="", limit=3, namespace="ns")
    assert [v.id for v in page.vectors] == ["a", "b", "c"] and page.pagination.next
    rest = idx.list_paginated(limit=3, namespace="ns", pagination_token=page.pagination.next)
    assert [v.id for v in rest.vectors] == ["h"]

    stats = idx.describe_index_stats()
    assert stats.total_vector_count == 4 and stats.dimension == 3 and stats.namespaces["ns"].vector_count == 4
    # 7.x parses the message through protobuf's JSON form, where a uint64 is a string: "4"
    assert int(idx.describe_namespace(namespace="ns").record_count) == 4

    refused(lambda: idx.upsert(vectors=[("x", [1.0, 2.0])], namespace="ns"), "dimension")
    refused(lambda: idx.describe_namespace(namespace="nowhere"), "nowhere")

    idx.delete(ids=["b"], namespace="ns")
    idx.delete(filter={"genre": {"$eq": "drama"}}, namespace="ns")
    assert set(idx.fetch(ids=["a", "b", "c", "h"], namespace="ns").vectors) == {"h"}
    idx.upsert(vectors=[("z", [1.0, 1.0, 1.0])], namespace="other")
    idx.delete(delete_all=True, namespace="other")
    assert not idx.fetch(ids=["z"], namespace="other").vectors
    idx.delete_namespace(namespace="ns")
    assert idx.describe_index_stats().total_vector_count == 0
    print(f"sdk{MAJOR} grpc ok")


if __name__ == "__main__":
    main(sys.argv[1])
