"""Sparse (BM25) retrieval: spruce's sparse index against bm25s and Qdrant's local mode, on the same data.

Run on demand, never in CI (in the bench venv, ``make bench-sparse``)::

    .venv-bench/bin/python benchmarks/bench_sparse.py                       # 150,000 passages
    .venv-bench/bin/python benchmarks/bench_sparse.py --subset 20000 --queries 200   # a quick look

The data: the sentences of the ``real`` set (``benchmarks/datasets.py``: docstrings and comments of the
standard library and the bench venv's packages), its 150,000 base passages and 1,000 held-out queries.
Tokens: lower-cased runs of letters and digits, English stop words dropped, no stemming (a tokenizer of
our own, so every system gets exactly the same terms). Passage vectors hold BM25 weights (k1 = 1.2,
b = 0.75, Lucene's idf ``ln(1 + (N - df + 0.5) / (df + 0.5))``), queries weight each distinct term 1, so
a passage's dot product with a query *is* its BM25 score. Ground truth: the exact top 10 by
``scipy.sparse`` (an independent implementation); recall counts a hit when its exact score reaches the
10th best (ties). Metadata: the ``real`` set's seeded ``category`` (10 % ``docs``, 1 % ``legal``).

The systems, all in-process, one query at a time on one thread (the caller's):

* spruce: ``spruce.Client`` (embedded), a sparse index, upserted in batches of 1,000, flushed and
  compacted; filters as Pinecone metadata filters.
* bm25s: ``bm25s.BM25(method="lucene", k1=1.2, b=0.75, backend="numba")`` (its fastest retrieval)
  indexed with the same token lists, ``retrieve`` per query and once for all queries in one call (it has
  no metadata filter, no updates and no persistence of its own beyond ``save``).
* Qdrant local mode: ``QdrantClient(path=...)`` with a sparse vector per point holding the same BM25
  weights (its local mode has no index: each query scans all points), filters on a keyword payload.
  Only ``--qdrant-queries`` queries (default 100): each takes long.

Printed per system and filter: p50 and p99 latency (ms), QPS (1 / mean latency), recall@10; for spruce
also the postings a query reads against those of its terms (how much MaxScore prunes), load and index
times. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import datasets

K = 10
K1, B = 1.2, 0.75
_STOP_WORDS = """a an and are as at be but by for from has have if in into is it its of on or that the their
then there these this to was were will with not no can may which who when where what how all any each also
than so such only other been being do does did this we you they he she our your"""
STOP = frozenset(_STOP_WORDS.split())
TOKEN = re.compile(r"[a-z0-9]+")
CACHE = datasets.CACHE


def tokenize(text: str) -> list[str]:
    return [t for t in TOKEN.findall(text.lower()) if t not in STOP and len(t) > 1]


def texts(n: int, n_queries: int) -> tuple[list[str], list[str]]:
    path = CACHE / "real_texts.json"
    if not path.exists():  # the texts only (no embedding): what datasets.py real extracts first
        CACHE.mkdir(parents=True, exist_ok=True)
        all_t, src = datasets.collect_texts(150_000 + datasets.N_QUERIES, datasets.SEED)
        base, queries = all_t[:150_000], all_t[150_000 : 150_000 + datasets.N_QUERIES]
        path.write_text(json.dumps({"base": base, "queries": queries}))
        (CACHE / "real_source.json").write_text(json.dumps(src))
    data = json.loads(path.read_text())
    return data["base"][:n], data["queries"][:n_queries]


class Corpus:
    """The passages' BM25 vectors (CSR, float32), the queries' term ids, and the metadata."""

    def __init__(self, base: list[str], queries: list[str]) -> None:
        self.doc_tokens = [tokenize(t) for t in base]
        vocab: dict[str, int] = {}
        rows: list[tuple[np.ndarray, np.ndarray]] = []
        for toks in self.doc_tokens:
            ids = np.fromiter(
                (vocab.setdefault(t, len(vocab)) for t in toks), dtype=np.int64, count=len(toks)
            )
            uniq, tf = np.unique(ids, return_counts=True)
            rows.append((uniq, tf.astype(np.float64)))
        n = len(rows)
        df = np.bincount(np.concatenate([u for u, _ in rows]), minlength=len(vocab)).astype(np.float64)
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        lengths = np.array([len(t) for t in self.doc_tokens], dtype=np.float64)
        avgdl = float(lengths.mean())
        self.vocab = vocab
        self.rows = []
        for (uniq, tf), dl in zip(rows, lengths, strict=True):
            w = idf[uniq] * tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / avgdl))
            self.rows.append((uniq.astype(np.uint32), w.astype(np.float32)))
        self.query_terms = []
        self.query_tokens = []
        for q in queries:
            toks = list(dict.fromkeys(t for t in tokenize(q) if t in vocab))
            self.query_tokens.append(toks)
            self.query_terms.append(np.array([vocab[t] for t in toks], dtype=np.uint32))
        meta = datasets.make_metadata(150_000, datasets.SEED)
        self.category = meta["category"][:n]

    def matrix(self) -> Any:
        import scipy.sparse as sp

        indptr = np.zeros(len(self.rows) + 1, dtype=np.int64)
        np.cumsum([len(u) for u, _ in self.rows], out=indptr[1:])
        indices = np.concatenate([u for u, _ in self.rows]).astype(np.int64)
        data = np.concatenate([w for _, w in self.rows]).astype(np.float64)
        return sp.csr_matrix((data, indices, indptr), shape=(len(self.rows), len(self.vocab)))


def truth(corpus: Corpus, mask: np.ndarray | None) -> list[tuple[np.ndarray, float]]:
    """Per query: exact scores of all passages (masked ones -inf) and the 10th best score."""
    m = corpus.matrix()
    out = []
    for terms in corpus.query_terms:
        q = np.zeros(len(corpus.vocab))
        q[terms.astype(np.int64)] = 1.0
        scores = np.asarray(m @ q).ravel()
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        positive = scores[scores > 0]
        kth = (
            float(np.sort(positive)[-K])
            if len(positive) >= K
            else (float(positive.min()) if len(positive) else 0.0)
        )
        out.append((scores, kth))
    return out


def recall(found: list[int], exact: tuple[np.ndarray, float]) -> float:
    scores, kth = exact
    want = min(K, int(np.count_nonzero(scores > 0)))
    if want == 0:
        return 1.0
    hits = sum(1 for i in found[:K] if scores[i] >= kth - 1e-4 * max(1.0, kth))
    return min(1.0, hits / want)


def report(name: str, flt: str, times: list[float], recalls: list[float], extra: str = "") -> None:
    ms = np.array(times) * 1e3
    print(
        f"{name:<10} {flt:<6} p50 {np.percentile(ms, 50):7.3f} ms  p99 {np.percentile(ms, 99):7.3f} ms  "
        f"QPS {1e3 / ms.mean():8.0f}  recall@10 {statistics.mean(recalls):.4f}  {extra}",
        flush=True,
    )


FILTERS = {"none": None, "cat10": "docs", "cat1": "legal"}


def bench_spruce(corpus: Corpus, exact: dict[str, list[Any]], queries: int) -> None:
    import spruce

    with tempfile.TemporaryDirectory(prefix="spruce-sparse-") as tmp:
        db = spruce.Client(path=tmp)
        db.create_index("bm25", vector_type="sparse")
        idx = db.Index("bm25")
        t0 = time.perf_counter()
        batch: list[dict[str, Any]] = []
        for i, (u, w) in enumerate(corpus.rows):
            if not len(u):
                continue
            cat = datasets.CATEGORIES[int(corpus.category[i])]
            batch.append(
                {"id": str(i), "sparse_values": {"indices": u, "values": w}, "metadata": {"category": cat}}
            )
            if len(batch) == 1000:
                idx.upsert(batch)
                batch = []
        if batch:
            idx.upsert(batch)
        loaded = time.perf_counter() - t0
        idx.flush()
        while idx.describe_index_stats().unindexed_records:
            idx.compact()
            time.sleep(0.2)
        indexed = time.perf_counter() - t0
        print(
            f"spruce: upserted {len(corpus.rows):,} in {loaded:.1f} s, "
            f"flushed and compacted at {indexed:.1f} s"
        )
        ns = idx._st.namespaces[""]  # the diagnostic below reads the segment's postings directly
        seg = max(ns.segments, key=lambda b: b.n)
        postings = seg.postings
        for flt, cat in FILTERS.items():
            times, recalls = [], []
            for qi, terms in enumerate(corpus.query_terms[:queries]):
                if not len(terms):
                    continue
                sv = {"indices": terms.tolist(), "values": [1.0] * len(terms)}
                kw: dict[str, Any] = {"filter": {"category": cat}} if cat else {}
                t = time.perf_counter()
                res = idx.query(sparse_vector=sv, top_k=K, **kw)
                times.append(time.perf_counter() - t)
                recalls.append(recall([int(m.id) for m in res.matches], exact[flt][qi]))
            extra = ""
            if flt == "none" and postings is not None:
                # how much MaxScore would prune here (queries take the gathering path below GATHER_MAX,
                # which reads every posting of their terms and measured faster: spruce.index.sparse)
                import spruce.index.sparse as sparse_module
                from spruce.index.sparse import SparseQuery

                saved, sparse_module.GATHER_MAX = sparse_module.GATHER_MAX, 0

                read = full = 0
                for terms in corpus.query_terms[:queries]:
                    if not len(terms):
                        continue
                    q = SparseQuery.of(terms, np.ones(len(terms), dtype=np.float32))
                    read += postings.search(q, K, None).touched
                    at = np.searchsorted(postings.terms, q.indices)
                    at = at[at < len(postings.terms)]
                    full += int((postings.ptr[at + 1] - postings.ptr[at]).sum())
                sparse_module.GATHER_MAX = saved
                extra = (
                    f"MaxScore would read {read / max(full, 1):.1%} of the query terms' postings "
                    f"({full / max(1, queries):,.0f} a query; {postings.size:,} in all)"
                )
            report("spruce", flt, times, recalls, extra)
        db.close()


def bench_bm25s(corpus: Corpus, exact: dict[str, list[Any]], queries: int, backend: str) -> None:
    import bm25s

    t0 = time.perf_counter()
    retriever = bm25s.BM25(method="lucene", k1=K1, b=B, backend=backend)
    retriever.index(corpus.doc_tokens, show_progress=False)
    print(f"bm25s: indexed in {time.perf_counter() - t0:.1f} s (backend {backend})")
    warm = [toks for toks in corpus.query_tokens[:5] if toks]
    retriever.retrieve(warm, k=K, show_progress=False, n_threads=1)  # (numba compiles on first use)
    times, recalls = [], []
    for qi, toks in enumerate(corpus.query_tokens[:queries]):
        if not toks:
            continue
        t = time.perf_counter()
        docs, _ = retriever.retrieve([toks], k=K, show_progress=False, n_threads=1)
        times.append(time.perf_counter() - t)
        recalls.append(recall([int(d) for d in docs[0]], exact["none"][qi]))
    report("bm25s", "none", times, recalls, "(no filters in bm25s)")
    batch = [toks for toks in corpus.query_tokens[:queries] if toks]
    t = time.perf_counter()
    retriever.retrieve(batch, k=K, show_progress=False, n_threads=1)
    spent = time.perf_counter() - t
    print(f"bm25s      none   all {len(batch)} queries in one retrieve call: {len(batch) / spent:8.0f} QPS")


def bench_quantised(corpus: Corpus, exact: dict[str, list[Any]], queries: int) -> None:
    """Postings values as float32 (what spruce stores) against 8-bit impacts (each term's values scaled
    to 0..255 by its largest; Lucene-style quantisation), through spruce's own gathering search
    (``Postings._gather``, with the per-term scale folded into the query weights): time per search,
    recall@10 of the quantised ranking taken as is (no rescoring from full-precision values), and the
    values' size."""
    from spruce.index.sparse import Postings
    from spruce.types import SparseRows

    index = Postings.build(SparseRows.from_rows(corpus.rows))
    counts = np.diff(index.ptr)
    scale = (np.maximum(index.tmax, 1e-30) / 255.0).astype(np.float32)
    q8 = np.rint(index.values / np.repeat(scale, counts)).astype(np.uint8)
    quantised = Postings(index.n, index.terms, index.ptr, index.rows, q8, index.tmax, index.tmin)  # type: ignore[arg-type]
    variants = {"float32": (index, np.ones(len(index.terms), np.float32)), "uint8": (quantised, scale)}
    for name, (postings, per_term) in variants.items():
        times, recalls = [], []
        for qi, terms in enumerate(corpus.query_terms[:queries]):
            tids = np.searchsorted(index.terms, np.sort(terms))  # every query term occurs in some passage
            w = per_term[tids]
            t = time.perf_counter()
            found = postings._gather(tids, w, K, None)
            top = found.rows[np.argsort(-found.scores, kind="stable")[:K]]
            times.append(time.perf_counter() - t)
            recalls.append(recall(top.tolist(), exact["none"][qi]))
        report(name, "none", times, recalls, f"values {postings.values.nbytes / 2**20:.1f} MiB")


def bench_qdrant(corpus: Corpus, exact: dict[str, list[Any]], queries: int) -> None:
    from qdrant_client import QdrantClient, models

    with tempfile.TemporaryDirectory(prefix="qdrant-sparse-") as tmp:
        client = QdrantClient(path=tmp)
        client.create_collection(
            "bm25", vectors_config={}, sparse_vectors_config={"text": models.SparseVectorParams()}
        )
        t0 = time.perf_counter()
        points = []
        for i, (u, w) in enumerate(corpus.rows):
            if not len(u):
                continue
            cat = datasets.CATEGORIES[int(corpus.category[i])]
            points.append(
                models.PointStruct(
                    id=i,
                    vector={"text": models.SparseVector(indices=u.tolist(), values=w.tolist())},
                    payload={"category": cat},
                )
            )
            if len(points) == 1000:
                client.upsert("bm25", points)
                points = []
        if points:
            client.upsert("bm25", points)
        print(f"qdrant local: upserted in {time.perf_counter() - t0:.1f} s")
        for flt, cat in FILTERS.items():
            cond = None
            if cat:
                cond = models.Filter(
                    must=[models.FieldCondition(key="category", match=models.MatchValue(value=cat))]
                )
            times, recalls = [], []
            for qi, terms in enumerate(corpus.query_terms[:queries]):
                if not len(terms):
                    continue
                q = models.SparseVector(indices=terms.tolist(), values=[1.0] * len(terms))
                t = time.perf_counter()
                res = client.query_points("bm25", query=q, using="text", limit=K, query_filter=cond)
                times.append(time.perf_counter() - t)
                recalls.append(recall([int(p.id) for p in res.points], exact[flt][qi]))
            report("qdrant", flt, times, recalls)
        client.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subset", type=int, default=150_000, help="passages (default: all 150,000)")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--qdrant-queries", type=int, default=100)
    ap.add_argument(
        "--systems",
        default="spruce,bm25s,qdrant",
        help="any of spruce,bm25s,qdrant,quantised (postings values)",
    )
    ap.add_argument(
        "--bm25s-backend", default="numba", help="numba (bm25s's fast one, default) or numpy (no numba)"
    )
    args = ap.parse_args(argv)
    print(f"command: {' '.join(sys.argv)}")
    t0 = time.perf_counter()
    base, queries = texts(args.subset, args.queries)
    corpus = Corpus(base, queries)
    nnz = sum(len(u) for u, _ in corpus.rows)
    qlen = statistics.mean(len(t) for t in corpus.query_terms)
    print(
        f"{len(corpus.rows):,} passages, {len(corpus.vocab):,} terms, {nnz / len(corpus.rows):.1f} terms per "
        f"passage, {len(queries):,} queries of {qlen:.1f} terms; tokenized and weighted in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    exact = {
        flt: truth(corpus, None if cat is None else corpus.category == datasets.CATEGORIES.index(cat))
        for flt, cat in FILTERS.items()
    }
    systems = args.systems.split(",")
    if "spruce" in systems:
        bench_spruce(corpus, exact, args.queries)
    if "bm25s" in systems:
        bench_bm25s(corpus, exact, args.queries, args.bm25s_backend)
    if "qdrant" in systems:
        bench_qdrant(corpus, exact, args.qdrant_queries)
    if "quantised" in systems:
        bench_quantised(corpus, exact, args.queries)


if __name__ == "__main__":
    main()
