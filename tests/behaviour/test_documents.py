"""The Documents API (2026-07) on the embedded client and through SDK 10.x's ``index.documents`` over REST
(gRPC has no document calls: the SDK sends them over REST): document-index creation and its schema
rules, every document call, BM25 scores checked against a plain BM25 written here from the definition,
Lucene operators, filters with text-match operators, and every bad input refused with a 400 (or the
SDK's own refusal) naming the field, nothing written."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np
import pytest
from bm25_reference import assert_ranked, bm25
from faces import FLUSH_ROWS, Face

pytestmark = [pytest.mark.rest_only, pytest.mark.sdk10]

NS = "docs"
TEXT = {"type": "string", "full_text_search": {"language": "en"}}
SCHEMA = {
    "fields": {
        "title": TEXT,
        "body": TEXT,
        "emb": {"type": "dense_vector", "dimension": 4, "metric": "cosine"},
        "kw": {"type": "sparse_vector"},
    }
}
WORDS = [
    *("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"),
    *("theta", "iota", "kappa", "lambda", "omicron", "sigma", "tau"),
]


def _text(query: str, *fields: str) -> dict[str, Any]:
    """A ``text`` clause."""
    return {"type": "text", "query": query, "fields": list(fields)}


def _corpus(n: int, seed: int, prefix: str = "doc") -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    docs = []
    for i in range(n):
        body_words = rng.choice(WORDS, size=int(rng.integers(1, 12)), p=_zipf(len(WORDS)))
        doc: dict[str, Any] = {
            "_id": f"{prefix}{i:04d}",
            "body": " ".join(body_words),
            "emb": (rng.random(4) + 0.05).round(4).tolist(),
            "genre": ["news", "blog", "paper"][i % 3],
            "year": 2000 + i % 7,
        }
        if i % 4:
            doc["title"] = " ".join(rng.choice(WORDS, size=int(rng.integers(1, 4))))
        docs.append(doc)
    return docs


def _zipf(n: int) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1)
    return w / w.sum()


def _bm25(docs: dict[str, dict[str, Any]], field: str, query: str) -> dict[str, float]:
    return bm25({rid: d.get(field) for rid, d in docs.items()}, query)


def _check_ranking(got: Any, expected: dict[str, float], k: int) -> None:
    ids = [m.id for m in got.matches]
    assert_ranked(ids, expected, k)
    for m in got.matches:
        assert m.score == pytest.approx(expected[m.id], rel=1e-9)


# ---------------------------------------------------------------- control plane


def test_create_describe_and_schema_rules(face: Face) -> None:
    schema = {
        "fields": {
            "title": {"type": "string", "full_text_search": {"language": "english", "stemming": True}},
            "emb": {"type": "dense_vector", "dimension": 8, "metric": "dotproduct", "description": "vec"},
            "kw": {"type": "sparse_vector"},
        }
    }
    name, _ = face.create_document_index(schema)
    listed = {i.name: i for i in face.client.indexes.list()}
    assert set(listed[name].schema.fields) == {"title", "emb", "kw"}
    assert face.client.indexes.exists(name)
    fields = face.described_fields(name)
    assert fields["emb"]["dimension"] == 8 and fields["emb"]["metric"] == "dotproduct"
    assert fields["emb"]["description"] == "vec"
    assert fields["kw"]["type"] == "sparse_vector" if not face.remote else "kw" in fields
    fts = fields["title"]["full_text_search"]
    assert (fts["language"], fts["stemming"], fts["stop_words"]) == ("en", True, False)
    assert fields["title"]["store_text"] is True
    refusals = [
        ({"t": {"type": "string"}}, "full_text_search"),  # metadata-only declaration
        ({"t": {"type": "float"}}, "cannot be declared"),
        ({"_t": TEXT}, "reserved"),
        ({"t": {"type": "string", "embed": {"model": "m", "field_map": {"text": "t"}}}}, "embed"),
        (
            {
                "a": {"type": "dense_vector", "dimension": 2, "metric": "cosine"},
                "b": {"type": "dense_vector", "dimension": 2, "metric": "cosine"},
            },
            "at most one",
        ),
        ({"a": {"type": "sparse_vector"}, "b": {"type": "sparse_vector"}}, "at most one"),
        ({"t": {"type": "string", "full_text_search": {"language": "klingon"}}}, "language"),
        ({"e": {"type": "dense_vector", "dimension": 0, "metric": "cosine"}}, "dimension"),
    ]
    for fields_in, match in refusals:
        with face.rejects(400, match):
            face.create_document_index({"fields": fields_in})
    # the SDK's SchemaBuilder output is a schema as any other
    from pinecone import SchemaBuilder

    built = (
        SchemaBuilder()
        .add_string_field("t", full_text_search=True)
        .add_string_field("u", language="fr", stemming=True, stop_words=True, description="d")
        .add_dense_vector_field("v", dimension=3, metric="euclidean")
        .build()
    )
    name, _ = face.create_document_index(built)
    fields = face.described_fields(name)
    assert fields["t"]["full_text_search"]["language"] == "en"
    assert fields["u"]["full_text_search"]["stop_words"] is True and fields["u"]["description"] == "d"
    assert fields["v"]["metric"] == "euclidean"


def test_document_and_vector_apis_refuse_each_other(face: Face) -> None:
    name, _ = face.create_document_index(SCHEMA)
    index = face.client.index(name=name)
    with face.rejects(400, "document index"):
        index.upsert(vectors=[{"id": "a", "values": [0.1, 0.2, 0.3, 0.4]}])
    with face.rejects(400, "document index"):
        index.query(vector=[0.1, 0.2, 0.3, 0.4], top_k=1)
    vectors = face.create_index(dimension=4)
    with face.rejects(400, "vector index"):
        vectors.documents.upsert(namespace=NS, documents=[{"_id": "a", "body": "x"}])


# ---------------------------------------------------------------- writes and reads


def test_upsert_fetch_list_and_stats(face: Face) -> None:
    name, docs = face.create_document_index(SCHEMA)
    corpus = _corpus(3 * FLUSH_ROWS + 11, seed=1)
    res = docs.batch_upsert(namespace=NS, documents=corpus, batch_size=40)
    assert res.successful_item_count == len(corpus) and res.total_batch_count == 5 and not res.has_errors
    assert docs.upsert(namespace=NS, documents=corpus[:2]).upserted_count == 2
    first = corpus[5]
    got = docs.fetch(namespace=NS, ids=[first["_id"], "missing"]).documents
    assert set(got) == {first["_id"]}
    doc = got[first["_id"]]
    assert (doc.body, doc.genre, doc.year) == (first["body"], first["genre"], first["year"])
    assert doc.emb == pytest.approx(first["emb"], rel=1e-6)
    assert doc.get("title") == first.get("title")
    only = docs.fetch(namespace=NS, ids=[first["_id"]], include_fields=["genre"]).documents[first["_id"]]
    assert only.to_dict() == {"_id": first["_id"], "genre": first["genre"]}
    # a filtered fetch pages in id order; text-match operators work here
    pages, token = [], None
    while True:
        page = docs.fetch(namespace=NS, filter={"genre": {"$eq": "news"}}, limit=17, pagination_token=token)
        pages.extend(page.documents)
        if page.pagination is None:
            break
        token = page.pagination.next
    assert pages == sorted(d["_id"] for d in corpus if d["genre"] == "news")
    phrase = docs.fetch(namespace=NS, filter={"body": {"$match_phrase": "alpha beta"}}, limit=1000)
    assert set(phrase.documents) == {d["_id"] for d in corpus if re.search(r"\balpha beta\b", d["body"])}
    listed = [d.id for d in docs.list(namespace=NS, prefix="doc00", limit=7)]
    assert listed == sorted(d["_id"] for d in corpus if d["_id"].startswith("doc00"))
    stats = face.client.index(name=name).describe_index_stats()
    assert stats.namespaces[NS].vector_count == len(corpus)


def test_update_by_id_and_by_filter(face: Face) -> None:
    _, docs = face.create_document_index(SCHEMA)
    corpus = _corpus(2 * FLUSH_ROWS, seed=2)
    docs.upsert(namespace=NS, documents=corpus)
    target = corpus[3]
    docs.update(
        namespace=NS,
        documents=[{"_id": target["_id"], "body": "omega omega", "rating": 5, "_remove_fields": ["genre"]}],
    )
    got = docs.fetch(namespace=NS, ids=[target["_id"]]).documents[target["_id"]]
    assert got.body == "omega omega" and got.rating == 5 and got.get("genre") is None
    assert got.year == target["year"] and got.emb == pytest.approx(target["emb"], rel=1e-6)
    # the new text is searchable at once and the old is not
    hits = docs.search(namespace=NS, score_by=[_text("omega", "body")], top_k=5)
    assert [m.id for m in hits.matches] == [target["_id"]]
    # by filter: set and remove, with the count matched; unknown ids are a no-op
    res = docs.update(
        namespace=NS, filter={"genre": {"$eq": "blog"}}, set_fields={"seen": True}, remove_fields=["year"]
    )
    blogs = [d["_id"] for d in corpus if d["genre"] == "blog" and d["_id"] != target["_id"]]
    assert res.matched_records == len(blogs)
    again = docs.fetch(namespace=NS, ids=blogs[:3]).documents
    assert all(d.seen is True and d.get("year") is None for d in again.values())
    docs.update(namespace=NS, documents=[{"_id": "nobody", "seen": False}])
    assert docs.fetch(namespace=NS, ids=["nobody"]).documents == {}


def test_delete_by_ids_filter_and_all(face: Face) -> None:
    name, docs = face.create_document_index(SCHEMA)
    corpus = _corpus(2 * FLUSH_ROWS + 3, seed=3)
    docs.upsert(namespace=NS, documents=corpus)
    docs.delete(namespace=NS, ids=[corpus[0]["_id"], "missing"])
    res = docs.delete(namespace=NS, filter={"genre": {"$eq": "paper"}})
    papers = [d for d in corpus[1:] if d["genre"] == "paper"]
    assert res.matched_records == len(papers)
    left = {d["_id"] for d in corpus[1:] if d["genre"] != "paper"}
    assert {d.id for d in docs.list(namespace=NS)} == left
    assert face.client.index(name=name).describe_index_stats().namespaces[NS].vector_count == len(left)
    with face.rejects(400, "match"):
        docs.delete(namespace=NS, filter={"body": {"$match_any": "alpha"}})
    docs.delete(namespace=NS, delete_all=True)
    assert list(docs.list(namespace=NS)) == []


# ---------------------------------------------------------------- search


def test_bm25_matches_the_definition_under_writes(face: Face) -> None:
    _, docs = face.create_document_index(SCHEMA)
    corpus = _corpus(4 * FLUSH_ROWS + 9, seed=4)
    docs.upsert(namespace=NS, documents=corpus[:120])
    docs.upsert(namespace=NS, documents=corpus[120:])
    live = {d["_id"]: d for d in corpus}
    # deletes and replacements change the statistics at once
    gone = [d["_id"] for d in corpus[::5]]
    docs.delete(namespace=NS, ids=gone)
    for rid in gone:
        live.pop(rid)
    replaced = {**corpus[1], "body": "sigma sigma tau alpha"}
    docs.upsert(namespace=NS, documents=[replaced])
    live[replaced["_id"]] = replaced
    for query in ("alpha", "beta gamma", "sigma tau kappa", "theta theta iota"):
        got = docs.search(namespace=NS, score_by=[_text(query, "body")], top_k=10)
        _check_ranking(got, _bm25(live, "body", query), 10)
    # two fields in one clause, and a text clause beside a query_string clause: OR'd, scores summed
    both = docs.search(namespace=NS, score_by=[_text("alpha delta", "title", "body")], top_k=15)
    expected = Counter(_bm25(live, "title", "alpha delta")) + Counter(_bm25(live, "body", "alpha delta"))
    _check_ranking(both, dict(expected), 15)
    mixed = docs.search(
        namespace=NS,
        score_by=[
            _text("gamma", "body"),
            {"type": "query_string", "query": "title:zeta"},
            _text("gamma", "body", "body"),  # the same clause again: once
        ],
        top_k=20,
        include_fields=["*"],
    )
    expected = Counter(_bm25(live, "body", "gamma")) + Counter(_bm25(live, "title", "zeta"))
    _check_ranking(mixed, dict(expected), 20)
    assert all(m.body == live[m.id]["body"] for m in mixed.matches)
    ids_only = docs.search(namespace=NS, score_by=[_text("gamma", "body")], top_k=3)
    assert all(set(m.to_dict()) == {"_id", "_score"} for m in ids_only.matches)


def test_query_string_operators(face: Face) -> None:
    _, docs = face.create_document_index(SCHEMA)
    rows = [
        ("q1", "alpha beta gamma"),
        ("q2", "beta alpha"),
        ("q3", "alphabet soup"),
        ("q4", "gamma delta"),
        ("q5", "alhpa typo"),
        ("q6", "beta"),
    ]
    vec = [0.1, 0.2, 0.3, 0.4]
    docs.upsert(namespace=NS, documents=[{"_id": rid, "body": text, "emb": vec} for rid, text in rows])

    def ids(query: str, **kw: Any) -> set[str]:
        res = docs.search(namespace=NS, score_by=[{"type": "query_string", "query": query}], top_k=50, **kw)
        return {m.id for m in res.matches}

    assert ids('body:"alpha beta"') == {"q1"}
    assert ids("body:alpha AND body:beta") == {"q1", "q2"}
    assert ids("+body:beta -body:gamma") == {"q2", "q6"}
    assert ids("body:beta NOT body:alpha") == {"q6"}
    assert ids("body:(gamma OR soup)") == {"q1", "q3", "q4"}
    assert ids("body:alph*") == {"q1", "q2", "q3"}
    assert ids("body:alpha~1") == {"q1", "q2", "q5"}  # a transposition is one edit
    assert ids("alpha AND gamma") == {"q1"}  # unqualified terms search every full-text field
    assert ids("body:beta", filter={"body": {"$match_all": "gamma beta"}}) == {"q1"}
    boosted = docs.search(
        namespace=NS, score_by=[{"type": "query_string", "query": "body:delta^10 body:beta"}], top_k=1
    )
    assert boosted.matches[0].id == "q4"


def test_vector_clauses_and_filters(face: Face) -> None:
    _, docs = face.create_document_index(SCHEMA)
    corpus = _corpus(2 * FLUSH_ROWS + 5, seed=5)
    for i, d in enumerate(corpus):
        if i % 2:
            d["kw"] = {"indices": [i % 7, 10 + i % 3], "values": [1.0, 0.5]}
    docs.upsert(namespace=NS, documents=corpus)
    q = [0.9, 0.1, 0.4, 0.2]

    def cos(v: list[float]) -> float:
        return float(np.dot(q, v) / (np.linalg.norm(q) * np.linalg.norm(v)))

    keep = [d for d in corpus if re.search(r"\bbeta\b", d["body"]) and d["year"] >= 2003]
    res = docs.search(
        namespace=NS,
        score_by=[{"type": "dense_vector", "field": "emb", "values": q}],
        top_k=5,
        filter={"$and": [{"body": {"$match_any": "beta"}}, {"year": {"$gte": 2003}}]},
    )
    expected = sorted(keep, key=lambda d: (-cos(d["emb"]), d["_id"]))[:5]
    assert [m.id for m in res.matches] == [d["_id"] for d in expected]
    assert res.matches[0].score == pytest.approx(cos(expected[0]["emb"]), rel=1e-5)
    sparse = docs.search(
        namespace=NS,
        score_by=[{"type": "sparse_vector", "field": "kw", "sparse_values": {"indices": [3], "values": [2]}}],
        top_k=100,
    )
    holders = {d["_id"] for d in corpus if "kw" in d and 3 in d["kw"]["indices"]}
    assert {m.id for m in sparse.matches} == holders
    assert all(m.score == pytest.approx(2.0) for m in sparse.matches)


# ---------------------------------------------------------------- bad input


def test_bad_searches_are_400s_naming_the_field(face: Face) -> None:
    _, docs = face.create_document_index(SCHEMA)
    docs.upsert(namespace=NS, documents=_corpus(10, seed=6))
    text = _text("alpha", "body")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"score_by": [_text("alpha", "genre")]}, "genre"),
        ({"score_by": [_text("alpha", "emb")]}, "full-text"),
        ({"score_by": [{"type": "query_string", "query": "body:(alpha"}]}, "position"),
        ({"score_by": [{"type": "query_string", "query": "genre:news"}]}, "genre"),
        ({"score_by": [{"type": "dense_vector", "field": "emb", "values": [0.1, 0.2]}]}, "dimension"),
        ({"score_by": [{"type": "dense_vector", "field": "nope", "values": [0.1] * 4}]}, "nope"),
        ({"score_by": [text], "filter": {"body": {"$eq": "alpha"}}}, "body"),
        ({"score_by": [text], "filter": {"genre": {"$match_phrase": "news"}}}, "genre"),
        ({"score_by": [text, {"type": "dense_vector", "field": "emb", "values": [0.1] * 4}]}, "alone|only"),
    ]
    for kwargs, match in cases:
        with face.rejects(400, match):
            docs.search(namespace=NS, top_k=3, **kwargs)
    if not face.remote:  # the SDK refuses these two itself
        with face.rejects(400, "top_k"):
            docs.search(namespace=NS, score_by=[text], top_k=0)
        with face.rejects(400, "embed"):
            docs.search(namespace=NS, score_by=[{"type": "embed", "field": "body", "query": "x"}], top_k=1)


def test_rejected_batches_write_nothing(face: Face) -> None:
    name, docs = face.create_document_index(SCHEMA)
    good = _corpus(5, seed=7, prefix="ok")
    cases: list[tuple[dict[str, Any], str, int]] = [
        ({"body": "no id"}, "_id", 400),
        ({"_id": "x", "body": 3}, "body", 400),
        ({"_id": "x", "body": "fine", "emb": [0.1, 0.2]}, "emb", 400),
        ({"_id": "x", "body": "fine", "emb": [0.0] * 4}, "emb", 400),
        ({"_id": "x", "body": "fine", "emb": [0.1] * 4, "kw": {"indices": [1]}}, "kw", 400),
        ({"_id": "x", "body": "fine", "emb": [0.1] * 4, "_secret": 1}, "_secret", 400),
        ({"_id": "x", "emb": [0.1] * 4, "nested": {"a": 1}}, "nested", 400),
        ({"_id": "x", "title": "no vector"}, "emb", 400),
    ]
    for bad, match, status in cases:
        with face.rejects(status, match):
            docs.upsert(namespace=NS, documents=[*good, bad])
    with face.rejects(400, "_id"):
        docs.upsert(namespace=NS, documents=[good[0], good[0]])
    with face.rejects(400, "1000|1,000|1 to"):
        docs.upsert(namespace=NS, documents=_corpus(1001, seed=8))
    if face.remote:  # the 2 MB request cap is the server's, as for vector upserts
        big = [{**d, "body": "alpha " * 60_000} for d in _corpus(7, seed=9, prefix="big")]
        with face.rejects(413):
            docs.upsert(namespace=NS, documents=big)
    with face.rejects(400, "emb"):
        docs.update(namespace=NS, documents=[{"_id": good[0]["_id"], "_remove_fields": ["emb"]}])
    with face.rejects(400, "null"):
        docs.update(namespace=NS, documents=[{"_id": good[0]["_id"], "genre": None}])
    assert face.client.index(name=name).describe_index_stats().total_vector_count == 0
    assert list(docs.list(namespace=NS)) == []


def test_analysis_options_stemming_stop_words_and_token_cap(face: Face) -> None:
    stemmed = {"type": "string", "full_text_search": {"language": "en", "stemming": True, "stop_words": True}}
    plain = {"type": "string", "full_text_search": {"language": "en"}}
    _, docs = face.create_document_index({"fields": {"s": stemmed, "p": plain}})
    long_word = "x" * 41  # above the 40-byte token cap: not indexed
    docs.upsert(
        namespace=NS,
        documents=[
            {"_id": "a", "s": "The Runners were RUNNING", "p": "The Runners were RUNNING"},
            {"_id": "b", "s": "state of the art", "p": f"a {long_word} word"},
        ],
    )

    def hits(query: str, field: str) -> list[str]:
        res = docs.search(namespace=NS, score_by=[_text(query, field)], top_k=5)
        return [m.id for m in res.matches]

    assert hits("run", "s") == ["a"] and hits("run", "p") == []  # stemmed / not stemmed
    assert hits("running", "p") == ["a"]  # lowercased either way
    assert hits("the", "s") == [] and hits("the", "p") == ["a"]  # a stop word / an ordinary word
    assert hits(long_word, "p") == [] and hits("word", "p") == ["b"]
    # positions keep the gaps of removed stop words: the phrase matches the text it was taken from
    phrase = docs.fetch(namespace=NS, filter={"s": {"$match_phrase": "state of the art"}}).documents
    assert set(phrase) == {"b"}
