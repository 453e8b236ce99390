"""Drives a spruce server with the official SDK 7.3.0 (API 2025-04, classic shapes).

Run by ``test_sdk7.py`` with the interpreter of a separate venv holding ``pinecone==7.3.0`` (the two SDK
generations cannot share one environment). Usage: ``python sdk7_script.py http://127.0.0.1:PORT``.
Exits non-zero (with a traceback) on the first failed expectation.
"""

from __future__ import annotations

import sys
import warnings

warnings.simplefilter("ignore")

import pinecone  # noqa: E402
from pinecone import Pinecone, PodSpec, ServerlessSpec  # noqa: E402
from pinecone.exceptions import ForbiddenException, NotFoundException, PineconeApiException  # noqa: E402


def main(url: str) -> None:
    assert pinecone.__version__.startswith("7.3"), pinecone.__version__
    pc = Pinecone(api_key="anything", host=url)
    pc.create_index(
        name="seven", dimension=4, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1")
    )
    pc.create_index(
        name="seven-pod", dimension=2, metric="euclidean", spec=PodSpec(environment="us-east-1-aws")
    )
    desc = pc.describe_index("seven")
    # The index's own port (REST and gRPC); 7.x reaches it with no path prefix.
    assert desc.host.startswith("http://127.0.0.1:") and desc.host != url, desc.host
    assert desc.dimension == 4 and desc.metric == "cosine" and desc.status["ready"] is True
    assert set(pc.list_indexes().names()) >= {"seven", "seven-pod"}
    assert pc.describe_index("seven-pod").spec.pod.environment == "us-east-1-aws"
    assert pc.has_index("seven") and not pc.has_index("absent")

    idx = pc.Index(name="seven")
    vecs = [
        (f"doc#{i:03d}", [1.0, float(i % 7), 0.5, float(i % 3)], {"genre": ["a", "b"][i % 2], "n": i})
        for i in range(150)
    ]
    assert idx.upsert(vectors=vecs, namespace="ns").upserted_count == 150
    assert idx.upsert(vectors=[("plain", [0.1, 0.2, 0.3, 0.4])]).upserted_count == 1
    res = idx.query(
        vector=[1.0, 3.0, 0.5, 0.0], top_k=5, namespace="ns", include_metadata=True, filter={"genre": "b"}
    )
    assert len(res.matches) == 5 and all(m.metadata["genre"] == "b" for m in res.matches)
    assert idx.query(id="plain", top_k=1).matches[0].id == "plain"
    fetched = idx.fetch(ids=["doc#001", "missing"], namespace="ns")
    assert list(fetched.vectors) == ["doc#001"] and fetched.vectors["doc#001"].metadata["n"] == 1
    idx.update(id="doc#001", set_metadata={"genre": "c"}, namespace="ns")
    assert idx.fetch(ids=["doc#001"], namespace="ns").vectors["doc#001"].metadata["genre"] == "c"

    pages = list(idx.list(prefix="doc#", namespace="ns"))
    assert [len(p) for p in pages] == [100, 50], [len(p) for p in pages]
    for page in pages[:1]:
        idx.delete(ids=page, namespace="ns")
    idx.delete(filter={"genre": "a"}, namespace="ns")
    stats = idx.describe_index_stats()
    assert stats.namespaces["ns"].vector_count == 25, stats
    idx.delete(delete_all=True, namespace="ns")
    assert "ns" not in idx.describe_index_stats().namespaces

    try:
        idx.upsert(vectors=[("bad", [1.0, 2.0])])
        raise AssertionError("dimension mismatch accepted")
    except PineconeApiException as exc:
        assert exc.status == 400 and "dimension" in str(exc.body)

    pc.configure_index("seven", deletion_protection="enabled", tags={"team": "search"})
    tags = pc.describe_index("seven").tags
    assert (tags.to_dict() if hasattr(tags, "to_dict") else dict(tags)) == {"team": "search"}, tags
    try:
        pc.delete_index("seven")
        raise AssertionError("deletion protection ignored")
    except ForbiddenException:
        pass
    pc.configure_index("seven", deletion_protection="disabled")
    pc.delete_index("seven", timeout=-1)
    try:
        pc.describe_index("seven")
        raise AssertionError("deleted index still described")
    except NotFoundException:
        pass
    sparse_and_hybrid(pc)
    print("sdk7 ok")


def sparse_and_hybrid(pc: Pinecone) -> None:
    """A sparse index and hybrid records through 7.x's classic shapes (``sparseValues``, ``sparseVector``)."""
    spec = ServerlessSpec(cloud="aws", region="us-east-1")
    pc.create_index(name="seven-sparse", metric="dotproduct", vector_type="sparse", spec=spec)
    desc = pc.describe_index("seven-sparse")
    assert desc.vector_type == "sparse" and desc.metric == "dotproduct", desc
    sp = pc.Index(name="seven-sparse")
    records = [
        {
            "id": f"s{i}",
            "sparse_values": {"indices": [i % 5, 10 + i], "values": [1.0, 0.5]},
            "metadata": {"i": i},
        }
        for i in range(20)
    ]
    assert sp.upsert(vectors=records).upserted_count == 20
    res = sp.query(sparse_vector={"indices": [3, 13], "values": [1.0, 2.0]}, top_k=3, include_values=True)
    assert res.matches[0].id == "s3" and abs(res.matches[0].score - 2.0) < 1e-6, res
    assert list(res.matches[0].sparse_values.indices) == [3, 13]
    got = sp.fetch(ids=["s7"]).vectors["s7"]
    assert list(got.sparse_values.indices) == [2, 17] and list(got.sparse_values.values) == [1.0, 0.5]
    try:
        sp.upsert(vectors=[{"id": "bad", "sparse_values": {"indices": [1, 1], "values": [1.0, 2.0]}}])
        raise AssertionError("repeated sparse index accepted")
    except PineconeApiException as exc:
        assert exc.status == 400 and "repeat" in str(exc.body)

    pc.create_index(name="seven-hybrid", dimension=2, metric="dotproduct", spec=spec)
    hy = pc.Index(name="seven-hybrid")
    hy.upsert(
        vectors=[
            {"id": "a", "values": [1.0, 0.0], "sparse_values": {"indices": [7], "values": [3.0]}},
            {"id": "b", "values": [2.0, 0.0]},
        ]
    )
    top = hy.query(vector=[1.0, 0.0], sparse_vector={"indices": [7], "values": [1.0]}, top_k=2)
    assert [(m.id, m.score) for m in top.matches] == [("a", 4.0), ("b", 2.0)], top


if __name__ == "__main__":
    main(sys.argv[1])
