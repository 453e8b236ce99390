"""llama-index's ``PineconeVectorStore`` (llama-index-vector-stores-pinecone 0.9.0, which pins
``pinecone<10``: SDK 9.1.0) against a real spruce server, run by pytest inside ``.venv-llama``. Started
by ``test_llama_index.py``, which passes the server's URL as ``SPRUCE_URL``.

Every answer of the store is checked against what the plain SDK of the same venv reads back from the same
index, and rankings against ``hash_embedding``'s own arithmetic. Nothing is downloaded: the embedding
model is ``HashEmbedding`` below, nodes are built directly (no node parser, whose tokenizer would fetch
its encoding), and no LLM is asked anything.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from hash_embedding import CORPUS, embed
from llama_index.core import StorageContext, VectorStoreIndex
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.schema import MetadataMode, NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from llama_index.vector_stores.pinecone import PineconeVectorStore
from pinecone import Pinecone, ServerlessSpec

warnings.filterwarnings("ignore")

URL = os.environ["SPRUCE_URL"]
NAME = "llama"
NS = "ll"
SPEC = ServerlessSpec(cloud="aws", region="us-east-1")


class HashEmbedding(BaseEmbedding):
    """llama-index's embedding interface over ``hash_embedding.embed`` (nothing downloaded)."""

    def _get_query_embedding(self, query: str) -> list[float]:
        return embed(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return embed(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return embed(text)


def _source(rid: str) -> str:
    """Which document a corpus text belongs to: two per document, so a document has several nodes."""
    return f"paper-{(int(rid.split('-')[1]) + 1) // 2}"


def _nodes() -> list[TextNode]:
    return [
        TextNode(
            id_=rid,
            text=text,
            metadata=dict(meta),
            relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=_source(rid))},
            embedding=embed(text),
        )
        for rid, text, meta in CORPUS
    ]


@pytest.fixture(scope="module")
def pc() -> Pinecone:
    pc = Pinecone(api_key="anything", host=URL)
    pc.create_index(name=NAME, dimension=32, metric="cosine", spec=SPEC)
    return pc


@pytest.fixture(scope="module")
def store(pc: Pinecone) -> Iterator[PineconeVectorStore]:
    vs = PineconeVectorStore(pinecone_index=pc.Index(name=NAME), namespace=NS, batch_size=4)
    ids = vs.add(_nodes())
    assert ids == [f"{_source(rid)}#{rid}" for rid, _, _ in CORPUS]
    yield vs


def _sdk_query(pc: Pinecone, text: str, k: int, flt: dict[str, Any] | None = None) -> list[Any]:
    res = pc.Index(name=NAME).query(
        vector=embed(text), top_k=k, namespace=NS, filter=flt, include_metadata=True
    )
    return list(res.matches)


def _ranked(text: str, keep: Any = lambda meta: True) -> list[str]:
    """Node ids of the corpus by cosine to ``text``, computed here (ties broken by stored id, as spruce)."""
    q = embed(text)
    scored = [
        (-sum(a * b for a, b in zip(q, embed(t), strict=True)), f"{_source(rid)}#{rid}", rid)
        for rid, t, m in CORPUS
        if keep(m)
    ]
    return [rid for _, _, rid in sorted(scored)]


def test_add_nodes_stores_what_llama_index_reads_back(store: PineconeVectorStore, pc: Pinecone) -> None:
    idx = pc.Index(name=NAME)
    assert idx.describe_index_stats().namespaces[NS].vector_count == len(CORPUS)
    ids = [f"{_source(rid)}#{rid}" for rid, _, _ in CORPUS]
    fetched = idx.fetch(ids=ids, namespace=NS).vectors
    for (rid, text, meta), vid in zip(CORPUS, ids, strict=True):
        got = fetched[vid]
        assert got.values == pytest.approx(embed(text), abs=1e-6)
        assert got.metadata["topic"] == meta["topic"] and got.metadata["year"] == meta["year"]
        assert got.metadata["doc_id"] == got.metadata["ref_doc_id"] == _source(rid)
        assert rid in got.metadata["_node_content"] and text in got.metadata["_node_content"]


def test_query_with_metadata_filters(store: PineconeVectorStore, pc: Pinecone) -> None:
    text = "embeddings in a vector database"
    filters = MetadataFilters(
        filters=[
            MetadataFilter(key="topic", value="databases"),
            MetadataFilter(key="year", value=2022, operator=FilterOperator.GTE),
        ]
    )
    res = store.query(VectorStoreQuery(query_embedding=embed(text), similarity_top_k=10, filters=filters))
    sdk = _sdk_query(pc, text, 10, {"$and": [{"topic": {"$eq": "databases"}}, {"year": {"$gte": 2022}}]})
    expected = _ranked(text, lambda m: m["topic"] == "databases" and m["year"] >= 2022)
    assert [n.node_id for n in res.nodes] == expected
    assert res.ids == [m.id for m in sdk]
    assert res.similarities == pytest.approx([m.score for m in sdk], abs=1e-6)
    by_id = {rid: t for rid, t, _ in CORPUS}
    assert all(n.get_content() == by_id[n.node_id] for n in res.nodes)
    assert all(n.embedding == pytest.approx(embed(by_id[n.node_id]), abs=1e-6) for n in res.nodes)


@pytest.mark.parametrize(
    ("filters", "keep"),
    [
        (
            MetadataFilters(
                filters=[
                    MetadataFilter(key="topic", value="coffee"),
                    MetadataFilter(key="year", value=2019, operator=FilterOperator.LTE),
                ],
                condition=FilterCondition.OR,
            ),
            lambda m: m["topic"] == "coffee" or m["year"] <= 2019,
        ),
        (
            MetadataFilters(filters=[MetadataFilter(key="topic", value=["trees", "coffee"], operator="in")]),
            lambda m: m["topic"] in ("trees", "coffee"),
        ),
        (
            MetadataFilters(filters=[MetadataFilter(key="topic", value=["trees"], operator="nin")]),
            lambda m: m["topic"] != "trees",
        ),
        (
            MetadataFilters(filters=[MetadataFilter(key="year", value=2022, operator=FilterOperator.NE)]),
            lambda m: m["year"] != 2022,
        ),
    ],
)
def test_query_filter_operators(store: PineconeVectorStore, filters: MetadataFilters, keep: Any) -> None:
    text = "cold trees and coffee"
    res = store.query(VectorStoreQuery(query_embedding=embed(text), similarity_top_k=10, filters=filters))
    assert [n.node_id for n in res.nodes] == _ranked(text, keep)


def test_get_nodes_by_filter_sends_a_zero_vector(store: PineconeVectorStore, pc: Pinecone) -> None:
    """``get_nodes(filters=...)`` queries with ``[0.0] * dimension`` on this cosine index (spruce answered
    400 until it matched Pinecone: every match of the filter, at score 0, ties by id)."""
    trees = MetadataFilters(filters=[MetadataFilter(key="topic", value="trees")])
    nodes = store.get_nodes(filters=trees)
    expected = sorted((f"{_source(r)}#{r}", r) for r, _, m in CORPUS if m["topic"] == "trees")
    assert [n.node_id for n in nodes] == [r for _, r in expected]
    listed = pc.Index(name=NAME).fetch_by_metadata(filter={"topic": {"$eq": "trees"}}, namespace=NS)
    assert sorted(listed.vectors) == [vid for vid, _ in expected]
    assert [n.node_id for n in store.get_nodes(filters=trees, limit=2)] == [r for _, r in expected[:2]]
    with_values = store.get_nodes(filters=trees, include_values=True)
    by_id = {rid: t for rid, t, _ in CORPUS}
    assert all(n.embedding == pytest.approx(embed(by_id[n.node_id]), abs=1e-6) for n in with_values)


def test_retriever_over_the_store(store: PineconeVectorStore) -> None:
    index = VectorStoreIndex.from_vector_store(store, embed_model=HashEmbedding())
    filters = MetadataFilters(filters=[MetadataFilter(key="topic", value="trees")])
    text = "spruce and pine in northern forests"
    got = index.as_retriever(similarity_top_k=3, filters=filters).retrieve(text)
    assert [n.node.node_id for n in got] == _ranked(text, lambda m: m["topic"] == "trees")[:3]
    q = embed(text)
    by_id = {rid: t for rid, t, _ in CORPUS}
    for n in got:
        own = embed(by_id[n.node.node_id])
        assert n.score == pytest.approx(sum(a * b for a, b in zip(q, own, strict=True)), abs=1e-5)


def test_from_params_by_index_name(store: PineconeVectorStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """``from_params(api_key=..., index_name=...)``, llama-index's own way in: the SDK finds the control
    plane through ``PINECONE_CONTROLLER_HOST`` and the index's host by describing it."""
    monkeypatch.setenv("PINECONE_CONTROLLER_HOST", URL)
    by_name = PineconeVectorStore.from_params(api_key="anything", index_name=NAME, namespace=NS)
    query = VectorStoreQuery(query_embedding=embed("espresso coffee"), similarity_top_k=3)
    assert by_name.query(query).ids == store.query(query).ids
    assert by_name.query(query).ids[0] == "paper-4#doc-08"


def test_delete_by_ref_doc_id(pc: Pinecone, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a namespace of its own (the other tests' data stays whole), through a ``VectorStoreIndex`` that
    embeds the nodes itself (text and metadata, llama-index's ``MetadataMode.EMBED``). ``delete`` deletes
    by a ``doc_id`` filter; its fallback (list by prefix, for indexes that cannot) must not be needed."""
    vs = PineconeVectorStore(pinecone_index=pc.Index(name=NAME), namespace="ll-del")
    nodes = [n.model_copy(update={"embedding": None}) for n in _nodes()]
    VectorStoreIndex(
        nodes, storage_context=StorageContext.from_defaults(vector_store=vs), embed_model=HashEmbedding()
    )
    idx = pc.Index(name=NAME)
    stored = idx.fetch(ids=[f"{_source(n.node_id)}#{n.node_id}" for n in nodes], namespace="ll-del").vectors
    for n in nodes:
        got = stored[f"{_source(n.node_id)}#{n.node_id}"].values
        assert got == pytest.approx(embed(n.get_content(metadata_mode=MetadataMode.EMBED)), abs=1e-6)
    with monkeypatch.context() as m:
        m.setattr(vs.client, "list", lambda *a, **k: pytest.fail("delete fell back to listing by prefix"))
        vs.delete(ref_doc_id="paper-2")  # doc-03 and doc-04
    left = sorted(v.id for page in idx.list(namespace="ll-del") for v in page)
    assert left == sorted(f"{_source(r)}#{r}" for r, _, _ in CORPUS if _source(r) != "paper-2")
    assert idx.list_paginated(prefix="paper-2#", namespace="ll-del").vectors == []
    vs.delete_nodes(node_ids=["paper-1#doc-01"])
    vs.delete_nodes(filters=MetadataFilters(filters=[MetadataFilter(key="topic", value="coffee")]))
    assert idx.describe_index_stats().namespaces["ll-del"].vector_count == len(CORPUS) - 2 - 1 - 2
    vs.clear()
    assert "ll-del" not in idx.describe_index_stats().namespaces
