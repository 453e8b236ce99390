"""The Documents API (issue 13): full-text search through a spruce document index, next to tantivy used
directly and bm25s, on the same passages, tokens and queries.

Run on demand, never in CI (in the bench venv, ``make bench-documents``)::

    .venv-bench/bin/python benchmarks/bench_documents.py                        # 150,000 passages
    .venv-bench/bin/python benchmarks/bench_documents.py --subset 20000 --queries 200   # a quick look

The data: the ``real`` set (``benchmarks/datasets.py``): 150,000 passages (docstrings and comments of
the standard library and the bench venv's packages) with their all-MiniLM-L6-v2 vectors, 1,000 held-out
queries (texts and vectors), and the seeded ``category`` metadata (10 % ``docs``, 1 % ``legal``).

spruce: an embedded document index with the schema ``body`` (string, full_text_search, language en, no
stemming, no stop words), ``emb`` (dense_vector 384, cosine); each passage one document with its text,
vector and category, upserted 500 at a time (about 2 MB of JSON, the request cap), flushed and
compacted. tantivy: ``tantivy.Index`` with one text field under tantivy's ``default`` tokenizer (the same
chain spruce's analyzer is built on, so both see the same terms), one writer commit, queries through
its query parser (OR of the terms) and ``searcher.search(query, 10)``. bm25s: ``bm25s.BM25(method=
"lucene", k1=1.2, b=0.75)`` over the same terms (spruce's analyzer), ``retrieve(k=10)`` per query.

Measured, one query at a time on one thread:

* ``text``: BM25 top-10 of each query's text: p50/p99 latency, QPS; nDCG@10 against an exact BM25
  reference (scipy over the same terms, Lucene's definition with exact document lengths), and the share
  of queries whose top 10 equals the reference's (ids in order, ties at equal scores either way).
* ``query_string``: Lucene queries with a phrase and booleans built from the passages
  (``body:"w1 w2" AND body:w3``, ``body:"w1 w2" OR body:w4 -body:w5``): spruce against tantivy's parser
  on the same strings; the sets they return must be equal (both evaluate Lucene's boolean rules).
* ``dense + $match_phrase``: dense top-10 with a text-match filter (spruce only: the peers have no such
  filter), recall against an exact scan of the passages containing the phrase.
* ingest documents/s and the store's bytes per document on disk;
* read-your-writes one document at a time: tantivy's add + commit + reload (what a search needs to see
  the write) against spruce's upsert (durable and visible when it returns).

Goals (issue 13): BM25 top-10 p50 < 2 ms, at least 0.5x tantivy's QPS, rankings equal to the reference
within floating-point ties.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import datasets

from spruce.text.analysis import TextOptions, analyzer_for

K = 10
K1, B = 1.2, 0.75
BATCH = 500


def percentile_report(name: str, times: list[float], extra: str = "") -> float:
    ms = np.array(times) * 1e3
    qps = 1e3 / ms.mean()
    print(
        f"{name:<34} p50 {np.percentile(ms, 50):7.3f} ms  p99 {np.percentile(ms, 99):7.3f} ms  "
        f"QPS {qps:8.0f}  {extra}",
        flush=True,
    )
    return qps


class Reference:
    """Exact BM25 over the passages' terms (Lucene's formula, exact lengths): the ranking to match."""

    def __init__(self, tokens: list[list[str]]) -> None:
        import scipy.sparse as sp

        vocab: dict[str, int] = {}
        indptr = [0]
        indices: list[int] = []
        tfs: list[float] = []
        lengths = np.array([len(t) for t in tokens], dtype=np.float64)
        for toks in tokens:
            counts = Counter(vocab.setdefault(t, len(vocab)) for t in toks)
            indices.extend(counts)
            tfs.extend(float(c) for c in counts.values())
            indptr.append(len(indices))
        n_docs = int(np.count_nonzero(lengths))
        avgdl = float(lengths[lengths > 0].mean())
        tf = np.array(tfs)
        rows = np.repeat(np.arange(len(tokens)), np.diff(indptr))
        df = np.bincount(indices, minlength=len(vocab)).astype(np.float64)
        idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5))
        w = idf[indices] * tf / (tf + K1 * (1 - B + B * lengths[rows] / avgdl))
        self.vocab = vocab
        self.matrix = sp.csr_matrix((w, indices, indptr), shape=(len(tokens), len(vocab)))

    def scores(self, query_terms: list[str]) -> np.ndarray:
        q = np.zeros(len(self.vocab))
        for t in query_terms:  # a repeated query term counts again (Lucene, tantivy and spruce alike)
            if t in self.vocab:
                q[self.vocab[t]] += 1.0
        return np.asarray(self.matrix @ q).ravel()


def ndcg(found: list[int], scores: np.ndarray) -> float:
    """nDCG@10 with the reference BM25 score as the gain."""
    ideal = np.sort(scores[scores > 0])[::-1][:K]
    if not len(ideal):
        return 1.0
    disc = 1.0 / np.log2(np.arange(2, K + 2))
    dcg = sum(float(scores[i]) * disc[r] for r, i in enumerate(found[:K]))
    return dcg / float((ideal * disc[: len(ideal)]).sum())


def same_top(found: list[int], scores: np.ndarray) -> bool:
    """The top 10 equals the reference's: the same scores rank by rank (so ids may differ only among
    passages tied at one score)."""
    want = np.sort(scores[scores > 0])[::-1][:K]
    got = np.array([scores[i] for i in found[:K]])
    return len(got) == len(want) and bool(np.allclose(got, want, rtol=1e-9, atol=0))


def quality(name: str, found: list[list[int]], ref: list[np.ndarray]) -> str:
    nd = statistics.mean(ndcg(f, s) for f, s in zip(found, ref, strict=True))
    same = statistics.mean(same_top(f, s) for f, s in zip(found, ref, strict=True))
    return f"nDCG@10 {nd:.4f}  top-10 = reference {100 * same:.1f} %"


def boolean_queries(tokens: list[list[str]], n: int, seed: int) -> list[str]:
    """Lucene query strings (the same for spruce and tantivy) with a phrase taken from a passage."""
    rng = np.random.default_rng(seed)
    out: list[str] = []
    while len(out) < n:
        toks = tokens[int(rng.integers(len(tokens)))]
        if len(toks) < 6:
            continue
        i = int(rng.integers(len(toks) - 5))
        a, b, c, d, e = toks[i], toks[i + 1], toks[i + 3], toks[i + 4], toks[i + 5]
        phrase = f'body:"{a} {b}"'
        out.append(f"{phrase} AND body:{c}" if len(out) % 2 else f"{phrase} OR body:{d} -body:{e}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subset", type=int, default=150_000)
    ap.add_argument("--queries", type=int, default=1000)
    args = ap.parse_args()

    ds = datasets.load("real")
    texts = ds.texts()
    base_texts = texts["base"][: args.subset]
    query_texts = texts["queries"][: args.queries]
    n = len(base_texts)
    vectors = np.asarray(ds.base[:n], dtype=np.float32)
    qvecs = np.asarray(ds.queries[: args.queries], dtype=np.float32)
    category = [datasets.CATEGORIES[int(c)] for c in ds.category[:n]]
    analyzer = analyzer_for(TextOptions(language="en"))
    t0 = time.perf_counter()
    tokens = [analyzer.terms(t) for t in base_texts]
    query_tokens = [analyzer.terms(q) for q in query_texts]
    print(f"{n:,} passages, {len(query_texts):,} queries; analyzed in {time.perf_counter() - t0:.1f} s")
    print(
        f"terms per passage {statistics.mean(len(t) for t in tokens):.1f}, "
        f"per query {statistics.mean(len(t) for t in query_tokens):.1f}"
    )
    ref = Reference(tokens)
    ref_scores = [ref.scores(q) for q in query_tokens]

    # ---------------------------------------------------------------- spruce
    import spruce

    tmp = tempfile.mkdtemp(prefix="spruce-docs-")
    db = spruce.Client(path=tmp)
    schema = {
        "fields": {
            "body": {"type": "string", "full_text_search": {"language": "en"}},
            "emb": {"type": "dense_vector", "dimension": vectors.shape[1], "metric": "cosine"},
        }
    }
    db.create_document_index("bench", schema)
    docs = db.index("bench").documents
    t0 = time.perf_counter()
    for s in range(0, n, BATCH):
        docs.upsert(
            namespace="p",
            documents=[
                {"_id": str(i), "body": base_texts[i], "emb": vectors[i], "category": category[i]}
                for i in range(s, min(n, s + BATCH))
            ],
        )
    loaded = time.perf_counter() - t0
    index = db.index("bench")
    index.flush()
    while index.describe_index_stats().unindexed_records:
        index.compact()
        time.sleep(0.2)
    indexed = time.perf_counter() - t0
    disk = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
    print(
        f"spruce ingest: {n / loaded:,.0f} documents/s upserted ({loaded:.1f} s), flushed and compacted "
        f"at {indexed:.1f} s; {disk / n:,.0f} bytes per document on disk (text, 384-d vector, category, "
        "postings, graph)"
    )

    def spruce_text(q: str) -> list[int]:
        res = docs.search(namespace="p", score_by=[{"type": "text", "query": q, "fields": ["body"]}], top_k=K)
        return [int(m.id) for m in res.matches]

    for q in query_texts[:50]:
        spruce_text(q)  # warm
    times, found = [], []
    for q in query_texts:
        t = time.perf_counter()
        found.append(spruce_text(q))
        times.append(time.perf_counter() - t)
    spruce_qps = percentile_report("spruce text (BM25 top-10)", times, quality("spruce", found, ref_scores))

    # ---------------------------------------------------------------- tantivy
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", stored=False, tokenizer_name="default")
    builder.add_unsigned_field("rid", stored=True, fast=True, indexed=True)
    tschema = builder.build()
    tdir = tempfile.mkdtemp(prefix="tantivy-")
    tindex = tantivy.Index(tschema, path=tdir)
    t0 = time.perf_counter()
    writer = tindex.writer(heap_size=512_000_000, num_threads=1)
    for i, text in enumerate(base_texts):
        writer.add_document(_tantivy_doc(tantivy, text, i))
    writer.commit()
    writer.wait_merging_threads()
    tindex.reload()
    print(f"tantivy ingest: {n / (time.perf_counter() - t0):,.0f} documents/s (text only, one commit)")
    searcher = tindex.searcher()

    def tantivy_search(q: str) -> list[int]:
        query = tindex.parse_query(q, ["body"])
        hits = searcher.search(query, K).hits
        return [searcher.doc(addr)["rid"][0] for _, addr in hits]

    def tantivy_text(q: str) -> list[int]:
        # the query's terms, each quoted (a one-term phrase is a term query), OR'd by the parser
        quoted = " ".join(f'"{t}"' for t in analyzer.terms(q))
        return tantivy_search(quoted) if quoted else []

    for q in query_texts[:50]:
        tantivy_text(q)
    times, found = [], []
    for q in query_texts:
        t = time.perf_counter()
        found.append(tantivy_text(q))
        times.append(time.perf_counter() - t)
    tantivy_qps = percentile_report(
        "tantivy text (BM25 top-10)", times, quality("tantivy", found, ref_scores)
    )

    # ---------------------------------------------------------------- bm25s
    import bm25s

    t0 = time.perf_counter()
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in toks] for toks in tokens]
    retriever = bm25s.BM25(method="lucene", k1=K1, b=B)
    retriever.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
    print(f"bm25s index: {time.perf_counter() - t0:.1f} s")
    times, found = [], []
    for q in query_tokens:
        known = [vocab[t] for t in q if t in vocab]
        t = time.perf_counter()
        if known:
            docs_ids, _ = retriever.retrieve([known], k=K, show_progress=False, n_threads=1)
            got = [int(x) for x in docs_ids[0]]
        else:
            got = []
        times.append(time.perf_counter() - t)
        found.append(got)
    percentile_report("bm25s text (BM25 top-10)", times, quality("bm25s", found, ref_scores))
    print(f"spruce / tantivy QPS: {spruce_qps / tantivy_qps:.2f}x")

    # ---------------------------------------------------------------- query_string
    # top 10 timed; the sets compared from a second, complete run (up to 10,000 matches: beyond that
    # a cut by score would differ, tantivy's scores being approximate)
    pairs = boolean_queries(tokens, min(500, args.queries), seed=7)
    s_times, t_times, equal, compared = [], [], 0, 0
    for q in pairs:
        score_by = [{"type": "query_string", "query": q}]
        t = time.perf_counter()
        docs.search(namespace="p", score_by=score_by, top_k=K)
        s_times.append(time.perf_counter() - t)
        parsed = tindex.parse_query(q, ["body"])
        t = time.perf_counter()
        searcher.search(parsed, K)
        t_times.append(time.perf_counter() - t)
        full = docs.search(namespace="p", score_by=score_by, top_k=10_000).matches
        if len(full) < 10_000:
            compared += 1
            hits = searcher.search(parsed, 10_000).hits
            equal += {int(m.id) for m in full} == {searcher.doc(a)["rid"][0] for _, a in hits}
    same = f"matching sets equal to tantivy's: {equal}/{compared}"
    percentile_report("spruce query_string (phrase, bool)", s_times, same)
    percentile_report("tantivy query_string (phrase, bool)", t_times)

    # ---------------------------------------------------------------- dense with $match_phrase
    times, recalls = [], []
    for qi in range(min(300, args.queries)):
        toks = tokens[(qi * 7919) % n]
        if len(toks) < 2:
            continue
        phrase = f"{toks[0]} {toks[1]}"
        flt = {"body": {"$match_phrase": phrase}}
        t = time.perf_counter()
        res = docs.search(
            namespace="p",
            score_by=[{"type": "dense_vector", "field": "emb", "values": qvecs[qi]}],
            top_k=K,
            filter=flt,
        )
        times.append(time.perf_counter() - t)
        allowed = [i for i, tk in enumerate(tokens) if _has_phrase(tk, toks[0], toks[1])]
        sims = vectors[allowed] @ qvecs[qi] / np.linalg.norm(qvecs[qi])
        best = {allowed[j] for j in np.argsort(-sims)[:K]}
        recalls.append(len(best & {int(m.id) for m in res.matches}) / max(1, min(K, len(allowed))))
    percentile_report("spruce dense + $match_phrase", times, f"recall@10 {statistics.mean(recalls):.4f}")
    # last, as it adds documents: read-your-writes one document at a time. tantivy needs a commit
    # (fsync) and a reload before a search sees a write; spruce's upsert is durable and visible when
    # it returns
    small = [(n + i, f"fresh passage number {i} about read your writes") for i in range(50)]
    writer = tindex.writer(heap_size=50_000_000, num_threads=1)
    times = []
    for rid, text in small:
        t = time.perf_counter()
        writer.add_document(_tantivy_doc(tantivy, text, rid))
        writer.commit()
        tindex.reload()
        times.append(time.perf_counter() - t)
    percentile_report("tantivy 1-doc write, commit+reload", times)
    times = []
    for rid, text in small:
        t = time.perf_counter()
        docs.upsert(namespace="w", documents=[{"_id": str(rid), "body": text, "emb": vectors[0]}])
        times.append(time.perf_counter() - t)
    percentile_report("spruce 1-doc upsert (durable, visible)", times)
    db.close()


def _tantivy_doc(tantivy: Any, text: str, rid: int) -> Any:
    doc = tantivy.Document()
    doc.add_text("body", text)
    doc.add_unsigned("rid", rid)
    return doc


def _has_phrase(toks: list[str], a: str, b: str) -> bool:
    return any(x == a and y == b for x, y in itertools.pairwise(toks))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
