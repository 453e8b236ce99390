"""Hybrid (dense + sparse) queries on spruce: QPS and recall@10 against the exact hybrid ranking.

Run on demand, never in CI (in the bench venv, ``make bench-hybrid``; needs ``datasets.py real``)::

    .venv-bench/bin/python benchmarks/bench_hybrid.py                          # 150,000 records
    .venv-bench/bin/python benchmarks/bench_hybrid.py --subset 20000 --queries 200

The data: each record of the ``real`` set carries its 384-d MiniLM embedding (``values``, unit length)
and the BM25 vector of the same sentence (``sparse_values``, ``bench_sparse.py``'s tokenizer and
weights), in a dotproduct index, with the set's ``category`` metadata. Each held-out query is its own
embedding and its terms (weight 1 each).

The weighting is the usual client-side convex one (Pinecone's ``hybrid_score_norm``): the dense query is
scaled by ``alpha`` and the sparse one by ``1 - alpha``. BM25 scores are on another scale than cosine
(tens, not ~0.5), so the sparse query is also divided by ``S``, the median over queries of the best
BM25 score, which puts both parts on a comparable footing; the score is then
``alpha * cos + (1 - alpha) * bm25 / S``. The exact ranking is computed with numpy (dense) and
``scipy.sparse`` (sparse), independently of spruce; recall counts a hit when its exact score reaches
the 10th best (ties). Printed per alpha and filter (none, 10 %, 1 %): p50, p99, QPS (one query at a
time on one thread), recall@10, and for reference the same for dense-only queries (alpha 1).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import datasets
from bench_sparse import FILTERS, Corpus, K, report, texts

ALPHAS = (1.0, 0.7, 0.5, 0.3)


def exact_hybrid(
    dense: np.ndarray,
    sparse: Any,
    q_dense: np.ndarray,
    q_sparse: Any,
    alpha: float,
    scale: float,
    mask: np.ndarray | None,
) -> list[tuple[np.ndarray, float]]:
    """Per query: all records' exact hybrid scores (filtered ones -inf) and the 10th best."""
    out = []
    for start in range(0, len(q_dense), 100):
        d = dense @ (alpha * q_dense[start : start + 100]).T  # (n, 100), float32 like spruce's
        s = np.asarray((sparse @ q_sparse[start : start + 100].T).todense()) * ((1 - alpha) / scale)
        total = d.astype(np.float64) + s
        for j in range(total.shape[1]):
            col = total[:, j] if mask is None else np.where(mask, total[:, j], -np.inf)
            out.append((col, float(np.partition(col, -K)[-K])))
    return out


def hit_rate(found: list[int], exact: tuple[np.ndarray, float]) -> float:
    scores, kth = exact
    return sum(1 for i in found[:K] if scores[i] >= kth - 1e-4 * max(1.0, abs(kth))) / K


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subset", type=int, default=150_000, help="records (default: all 150,000)")
    ap.add_argument("--queries", type=int, default=1000)
    args = ap.parse_args(argv)
    print(f"command: {' '.join(sys.argv)}")
    import scipy.sparse as sp

    import spruce

    ds = datasets.load("real")
    n = min(args.subset, len(ds.base))
    dense = np.ascontiguousarray(ds.base[:n], dtype=np.float32)
    q_dense = np.ascontiguousarray(ds.queries[: args.queries], dtype=np.float32)
    base, queries = texts(n, args.queries)
    corpus = Corpus(base, queries)
    matrix = corpus.matrix()
    qs = sp.lil_matrix((len(queries), len(corpus.vocab)))
    for i, terms in enumerate(corpus.query_terms):
        qs[i, terms.astype(np.int64)] = 1.0
    q_sparse = qs.tocsr()
    best = np.asarray((matrix @ q_sparse.T).max(axis=0).todense()).ravel()
    scale = float(np.median(best[best > 0]))
    print(
        f"{n:,} records x 384 + BM25 ({len(corpus.vocab):,} terms), {len(queries):,} queries; S = {scale:.2f}"
    )

    with tempfile.TemporaryDirectory(prefix="spruce-hybrid-") as tmp:
        db = spruce.Client(path=tmp)
        db.create_index("hybrid", dimension=384, metric="dotproduct")
        idx = db.Index("hybrid")
        t0 = time.perf_counter()
        for start in range(0, n, 1000):
            batch = []
            for i in range(start, min(n, start + 1000)):
                u, w = corpus.rows[i]
                rec: dict[str, Any] = {
                    "id": str(i),
                    "values": dense[i],
                    "metadata": {"category": datasets.CATEGORIES[int(corpus.category[i])]},
                }
                if len(u):
                    rec["sparse_values"] = {"indices": u, "values": w}
                batch.append(rec)
            idx.upsert(batch)
        loaded = time.perf_counter() - t0
        idx.flush()
        while idx.describe_index_stats().unindexed_records:
            idx.compact()
            time.sleep(0.5)
        print(
            f"spruce: upserted in {loaded:.1f} s, indexed (graph built) at {time.perf_counter() - t0:.1f} s"
        )

        for alpha in ALPHAS:
            for flt, cat in FILTERS.items():
                mask = None if cat is None else corpus.category == datasets.CATEGORIES.index(cat)
                exact = exact_hybrid(dense, matrix, q_dense, q_sparse, alpha, scale, mask)
                kw: dict[str, Any] = {"filter": {"category": cat}} if cat else {}
                times, recalls = [], []
                for qi, terms in enumerate(corpus.query_terms):
                    query: dict[str, Any] = {"vector": q_dense[qi] * np.float32(alpha)}
                    if alpha < 1.0 and len(terms):
                        weight = (1 - alpha) / scale
                        query["sparse_vector"] = {"indices": terms.tolist(), "values": [weight] * len(terms)}
                    t = time.perf_counter()
                    res = idx.query(top_k=K, **query, **kw)
                    times.append(time.perf_counter() - t)
                    recalls.append(hit_rate([int(m.id) for m in res.matches], exact[qi]))
                report(f"alpha {alpha:.1f}", flt, times, recalls)
        db.close()
    print(f"(queries without terms in the vocabulary: {sum(1 for t in corpus.query_terms if not len(t))})")


if __name__ == "__main__":
    main()
