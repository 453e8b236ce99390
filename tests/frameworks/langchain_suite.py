"""langchain-pinecone's ``PineconeVectorStore`` against a real spruce server, run by pytest inside
``.venv-langchain`` (langchain-pinecone 0.2.13, which pins ``pinecone<8``: SDK 7.3.0 with its asyncio
extra). Started by ``test_langchain.py``, which passes the server's URL as ``SPRUCE_URL``.

Every answer of the framework is checked against what the plain SDK of the same venv reads back from the
same index (fetch, query, stats), and rankings against ``hash_embedding``'s own arithmetic. The store is
reached the ways a user would: ``index_name=`` with ``PINECONE_API_KEY`` and the control plane's host in
``PINECONE_CONTROLLER_HOST`` (SDK 7.x reads it), an ``Index`` handed in, and ``host=``.
"""

from __future__ import annotations

import asyncio
import os
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from hash_embedding import CORPUS, embed, mmr
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_pinecone import PineconeVectorStore
from pinecone import Pinecone, ServerlessSpec

warnings.filterwarnings("ignore")

URL = os.environ["SPRUCE_URL"]
NAME = "langchain"
NS = "lc"


class HashEmbeddings(Embeddings):
    """LangChain's embedding interface over ``hash_embedding.embed`` (nothing downloaded)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return embed(text)


@pytest.fixture(scope="module")
def pc() -> Pinecone:
    return Pinecone(api_key="anything", host=URL)


@pytest.fixture(scope="module")
def store(pc: Pinecone) -> Iterator[PineconeVectorStore]:
    """The store as langchain's docs build it: by index name, the key and host from the environment."""
    pc.create_index(NAME, dimension=32, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1"))
    os.environ["PINECONE_API_KEY"] = "anything"
    os.environ["PINECONE_CONTROLLER_HOST"] = URL
    vs = PineconeVectorStore(index_name=NAME, embedding=HashEmbeddings(), namespace=NS)
    ids = vs.add_texts(
        [text for _, text, _ in CORPUS],
        metadatas=[dict(meta) for _, _, meta in CORPUS],
        ids=[rid for rid, _, _ in CORPUS],
        batch_size=4,  # three upserts, sent in parallel (async_req)
    )
    assert ids == [rid for rid, _, _ in CORPUS]
    yield vs


def _sdk_query(pc: Pinecone, text: str, k: int, flt: dict[str, Any] | None = None) -> list[Any]:
    res = pc.Index(name=NAME).query(
        vector=embed(text), top_k=k, namespace=NS, filter=flt, include_metadata=True, include_values=True
    )
    return list(res.matches)


def _ranked(text: str, keep: Any = lambda meta: True) -> list[str]:
    """The ids of the corpus by cosine to ``text``, computed here (ties by id, as spruce breaks them)."""
    q = embed(text)
    scored = [(-sum(a * b for a, b in zip(q, embed(t), strict=True)), rid) for rid, t, m in CORPUS if keep(m)]
    return [rid for _, rid in sorted(scored)]


def test_add_texts_stores_text_and_metadata(store: PineconeVectorStore, pc: Pinecone) -> None:
    idx = pc.Index(name=NAME)
    assert idx.describe_index_stats().namespaces[NS].vector_count == len(CORPUS)
    fetched = idx.fetch(ids=[rid for rid, _, _ in CORPUS], namespace=NS).vectors
    for rid, text, meta in CORPUS:
        assert fetched[rid].metadata == {**meta, "year": float(meta["year"]), "text": text}
        assert fetched[rid].values == pytest.approx(embed(text), abs=1e-6)


def test_similarity_search_matches_the_sdk(store: PineconeVectorStore, pc: Pinecone) -> None:
    query = "cold northern spruce forests"
    docs = store.similarity_search(query, k=4)
    sdk = _sdk_query(pc, query, 4)
    assert [d.id for d in docs] == [m.id for m in sdk] == _ranked(query)[:4]
    by_id = {rid: (text, meta) for rid, text, meta in CORPUS}
    for d in docs:
        text, meta = by_id[d.id]
        assert d.page_content == text and d.metadata == {**meta, "year": float(meta["year"])}


def test_similarity_search_with_filter(store: PineconeVectorStore, pc: Pinecone) -> None:
    query = "embeddings in a vector database"
    flt = {"topic": {"$eq": "databases"}, "year": {"$gte": 2022}}
    docs = store.similarity_search(query, k=10, filter=flt)
    expected = _ranked(query, lambda m: m["topic"] == "databases" and m["year"] >= 2022)
    assert [d.id for d in docs] == [m.id for m in _sdk_query(pc, query, 10, flt)] == expected
    assert all(d.metadata["topic"] == "databases" and d.metadata["year"] >= 2022 for d in docs)
    assert store.similarity_search(query, k=3, filter={"topic": {"$in": ["nothing"]}}) == []


def test_similarity_search_with_scores(store: PineconeVectorStore, pc: Pinecone) -> None:
    query = "coffee steeped cold"
    pairs = store.similarity_search_with_score(query, k=5, filter={"year": {"$lt": 2023}})
    sdk = _sdk_query(pc, query, 5, {"year": {"$lt": 2023}})
    assert [d.id for d, _ in pairs] == [m.id for m in sdk]
    q = embed(query)
    for (doc, score), match in zip(pairs, sdk, strict=True):
        assert score == pytest.approx(match.score, abs=1e-6)
        own = embed(doc.page_content)
        assert score == pytest.approx(sum(a * b for a, b in zip(q, own, strict=True)), abs=1e-5)
    # relevance scores: langchain maps cosine [-1, 1] to [0, 1]
    relevance = store.similarity_search_with_relevance_scores(query, k=2)
    assert [round(r, 5) for _, r in relevance] == [
        round((m.score + 1) / 2, 5) for m in _sdk_query(pc, query, 2)
    ]


def test_max_marginal_relevance_search(store: PineconeVectorStore, pc: Pinecone) -> None:
    """MMR over the ``fetch_k`` nearest records and their stored values (``include_values``): the same
    picks as MMR computed here from what the SDK reads back. The query's four nearest texts score apart
    and no step of the selection is close to a tie, so float rounding cannot flip a pick."""
    query = "cold northern forests of spruce trees"
    fetched = _sdk_query(pc, query, 4)
    assert [m.id for m in fetched] == _ranked(query)[:4]
    by_text = {text: rid for rid, text, _ in CORPUS}
    picked: dict[float, list[str]] = {}
    for lam in (0.3, 0.5):
        docs = store.max_marginal_relevance_search(query, k=3, fetch_k=4, lambda_mult=lam)
        picks = mmr(embed(query), [list(m.values) for m in fetched], k=3, lambda_mult=lam)
        picked[lam] = [by_text[d.page_content] for d in docs]
        assert picked[lam] == [fetched[i].id for i in picks]
    assert picked[0.3] != picked[0.5]  # diversity weighs in: the check is not the plain ranking
    # lambda 1: pure relevance, the plain ranking
    plain = store.max_marginal_relevance_search(query, k=3, fetch_k=4, lambda_mult=1.0)
    assert [by_text[d.page_content] for d in plain] == _ranked(query)[:3]


def test_as_retriever(store: PineconeVectorStore, pc: Pinecone) -> None:
    query = "similarity search finds embeddings"
    retriever = store.as_retriever(search_kwargs={"k": 2, "filter": {"topic": "databases"}})
    docs = retriever.invoke(query)
    assert all(isinstance(d, Document) for d in docs)
    assert [d.id for d in docs] == [m.id for m in _sdk_query(pc, query, 2, {"topic": "databases"})]
    mmr_retriever = store.as_retriever(search_type="mmr", search_kwargs={"k": 2, "fetch_k": 6})
    assert [d.page_content for d in mmr_retriever.invoke(query)] == [
        d.page_content for d in store.max_marginal_relevance_search(query, k=2, fetch_k=6)
    ]
    threshold = store.as_retriever(
        search_type="similarity_score_threshold", search_kwargs={"k": 10, "score_threshold": 0.75}
    )
    kept = {d.id for d in threshold.invoke(query)}
    assert kept == {m.id for m in _sdk_query(pc, query, 10) if (m.score + 1) / 2 >= 0.75}
    assert kept  # the query shares words with some texts: not a vacuous check


def test_delete_by_ids_and_filter(store: PineconeVectorStore, pc: Pinecone) -> None:
    """On a namespace of its own, so the other tests' data stays whole (any test order)."""
    vs = PineconeVectorStore(index=pc.Index(name=NAME), embedding=HashEmbeddings(), namespace="lc-del")
    vs.add_texts([t for _, t, _ in CORPUS], [dict(m) for _, _, m in CORPUS], ids=[r for r, _, _ in CORPUS])
    idx = pc.Index(name=NAME)
    vs.delete(ids=["doc-01", "doc-04", "missing"])
    left = idx.fetch(ids=[r for r, _, _ in CORPUS], namespace="lc-del").vectors
    assert sorted(left) == sorted(r for r, _, _ in CORPUS if r not in {"doc-01", "doc-04"})
    assert "doc-01" not in {d.id for d in vs.similarity_search("spruce trees grow tall", k=10)}
    vs.delete(filter={"topic": "coffee"})
    stats = idx.describe_index_stats().namespaces["lc-del"]
    assert stats.vector_count == len(CORPUS) - 2 - 2
    vs.delete(delete_all=True)
    assert "lc-del" not in idx.describe_index_stats().namespaces


def test_from_texts_and_host(store: PineconeVectorStore, pc: Pinecone) -> None:
    """``from_texts`` (lists the indexes, then opens one by name) and a store built from ``host=`` alone."""
    texts = [t for _, t, _ in CORPUS[:3]]
    made = PineconeVectorStore.from_texts(
        texts, HashEmbeddings(), ids=["a", "b", "c"], index_name=NAME, namespace="lc-from"
    )
    host = pc.describe_index(NAME).host
    by_host = PineconeVectorStore(embedding=HashEmbeddings(), host=host, namespace="lc-from")
    assert [d.id for d in by_host.similarity_search(texts[1], k=1)] == ["b"]
    assert [d.id for d in made.similarity_search(texts[2], k=1)] == ["c"]
    made.delete(delete_all=True)


def test_async_methods(store: PineconeVectorStore, pc: Pinecone) -> None:
    """The store's async path (SDK 7.3's ``PineconeAsyncio``, over aiohttp)."""

    async def run() -> tuple[list[str], list[Document], list[str]]:
        vs = PineconeVectorStore(index=pc.Index(name=NAME), embedding=HashEmbeddings(), namespace="lc-async")
        ids = await vs.aadd_texts(
            [t for _, t, _ in CORPUS], [dict(m) for _, _, m in CORPUS], ids=[r for r, _, _ in CORPUS]
        )
        found = await vs.asimilarity_search("espresso coffee grounds", k=2, filter={"topic": "coffee"})
        await vs.adelete(ids=["doc-07"])
        after = [d.id or "" for d in await vs.asimilarity_search("cold brew coffee", k=5)]
        await vs.adelete(delete_all=True)
        return ids, found, after

    ids, found, after = asyncio.run(run())
    assert ids == [r for r, _, _ in CORPUS]
    assert [d.id for d in found] == ["doc-08", "doc-07"]
    assert "doc-07" not in after and len(after) == 5
    assert "lc-async" not in pc.Index(name=NAME).describe_index_stats().namespaces
