"""Micro-measurements quoted in the engine's docstrings and notes (run on demand, never in CI).

    .venv-bench/bin/python benchmarks/bench_micro.py kernels   # index/exact.py: scan kernels, 50,000 x 384
    .venv-bench/bin/python benchmarks/bench_micro.py gil       # engine/gil.py: queries beside Python work
    .venv-bench/bin/python benchmarks/bench_micro.py backlog   # index/clusters.py: queries over unmerged rows
    .venv/bin/python benchmarks/bench_micro.py api             # the embedded API's per-call latency

``api`` times the embedded calls on 60,000 x 384 indexed rows (query top-10 unfiltered and with a 10%
filter, fetch of 100 ids, upsert of 100 rows), using only calls every release has had, so that it runs
unchanged at an older commit for an A/B (``PYTHONPATH=<old checkout>/src``).

``backlog`` loads 200,000 x 384 rows (the ``bench_stalls.py`` data) with merges held back, so that 150,000
rows wait beside a 50,000-row graph, and times queries with nothing else running; run it once at a
commit before clusters existed and once after to compare.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np

import spruce

HERE = Path(__file__).resolve().parent


def per_call_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1e3


def kernels() -> None:
    x = np.random.default_rng(0).standard_normal((50_000, 384)).astype(np.float32)
    q = x[5].copy()
    out = np.empty(len(x), dtype=np.float32)
    ptr = faiss.swig_ptr
    einsum = per_call_ms(lambda: np.einsum("ij,j->i", x, q), 100)
    ny = per_call_ms(lambda: faiss.fvec_inner_products_ny(ptr(out), ptr(q), ptr(x), 384, len(x)), 100)
    print(f"all rows: einsum {einsum:.2f} ms, faiss ny {ny:.2f} ms")
    rng = np.random.default_rng(1)
    for frac in (0.05, 0.2, 0.5, 0.9):
        ids = np.sort(rng.choice(len(x), int(frac * len(x)), replace=False)).astype(np.int64)
        o = np.empty(len(ids), dtype=np.float32)
        by_idx = per_call_ms(
            lambda o=o, ids=ids: faiss.fvec_inner_products_by_idx(
                ptr(o), ptr(q), ptr(x), ptr(ids), 384, 1, len(ids)
            ),
            100,
        )
        gather = per_call_ms(lambda ids=ids: np.einsum("ij,j->i", x[ids], q), 100)
        print(f"{frac:.0%} of rows: faiss by_idx {by_idx:.2f} ms, copy + einsum {gather:.2f} ms")


def _loaded_index(n: int) -> tuple[Any, Any, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 384)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    client = spruce.Client(tempfile.mkdtemp(prefix="bench-micro-"), flush_rows=100_000)
    client.create_index("m", dimension=384, metric="cosine")
    idx = client.Index("m")
    cats = [f"c{i}" for i in range(10)]
    for s in range(0, n, 1000):
        idx.upsert([(str(i), x[i], {"category": cats[i % 10], "year": i % 30}) for i in range(s, s + 1000)])
    while idx.describe_index_stats().unindexed_records:  # the idle flush, then compaction's graph
        time.sleep(0.2)
    return client, idx, x


def _query_latency(idx: Any, qs: np.ndarray, flt: dict[str, Any]) -> str:
    lat = []
    for i, q in enumerate(qs):
        t = time.perf_counter()
        idx.query(vector=q, top_k=10, filter=flt if i % 5 == 4 else None)
        lat.append(time.perf_counter() - t)
    a = np.array(lat) * 1e3
    return f"p50 {np.percentile(a, 50):.2f} p99 {np.percentile(a, 99):.2f} max {a.max():.1f} ms"


def gil() -> None:
    from spruce.filter import MetadataColumns

    client, idx, x = _loaded_index(60_000)
    metas = [{"category": f"c{i % 10}", "year": i % 30, "tags": ["a", "b"]} for i in range(150_000)]
    for interval in (0.005, 0.0005):
        sys.setswitchinterval(interval)
        print(
            f"switch interval {interval * 1e3:g} ms, idle: {_query_latency(idx, x[:400], {'category': 'c3'})}"
        )
        stop = threading.Event()

        def hog(stop: threading.Event = stop) -> None:
            while not stop.is_set():
                cols = MetadataColumns()
                cols.extend(metas)
                cols.build_index()

        t = threading.Thread(target=hog)
        t.start()
        time.sleep(0.3)
        print(
            f"switch interval {interval * 1e3:g} ms, beside a Python thread building columns: "
            f"{_query_latency(idx, x[:400], {'category': 'c3'})}"
        )
        stop.set()
        t.join()
    client.close()


def backlog() -> None:
    import importlib.util

    from spruce.engine.maintenance import Maintainer

    spec = importlib.util.spec_from_file_location("bench_stalls", HERE / "bench_stalls.py")
    assert spec and spec.loader
    stalls = importlib.util.module_from_spec(spec)
    sys.modules["bench_stalls"] = stalls
    spec.loader.exec_module(stalls)
    data = stalls.synthetic(200_000, 384)
    real, held = Maintainer._compact_step, {"on": False}
    Maintainer._compact_step = lambda self: False if held["on"] else real(self)  # type: ignore[method-assign]
    client = spruce.Client(tempfile.mkdtemp(prefix="bench-micro-"), flush_rows=50_000)
    client.create_index("b", dimension=384, metric="cosine")
    idx = client.Index("b")

    def load(lo: int, hi: int) -> None:
        for s in range(lo, hi, 1000):
            idx.upsert([(str(i), data.base[i], data.meta[i]) for i in range(s, min(hi, s + 1000))])

    load(0, 50_000)
    while idx.describe_index_stats().unindexed_records:
        time.sleep(0.2)
    held["on"] = True
    load(50_000, 200_000)
    idx.flush()
    segs = idx._st.namespaces[""].segments
    print(
        "segments:",
        [
            (
                b.n,
                "graph"
                if b.ann is not None
                else "clusters"
                if getattr(b, "clusters", None) is not None
                else "exact",
            )
            for b in segs
        ],
    )
    print("queries, 1 in 5 filtered (10%):", _query_latency(idx, data.queries[:300], data.flt))
    client.close()


def _percentiles(fn: Callable[[int], object], n: int) -> str:
    lat = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        lat.append(time.perf_counter() - t)
    a = np.array(lat) * 1e3
    return f"p50 {np.percentile(a, 50):.3f} ms  p99 {np.percentile(a, 99):.3f} ms"


def api() -> None:
    client, idx, x = _loaded_index(60_000)
    qs = x[:2000] + 0.01
    ids = [[str((i * 100 + j) % 60_000) for j in range(100)] for i in range(500)]
    new = np.random.default_rng(9).standard_normal((100, 384)).astype(np.float32)
    print("query top-10      ", _percentiles(lambda i: idx.query(vector=qs[i], top_k=10), 2000))
    flt = {"category": "c3"}
    print("query 10% filter  ", _percentiles(lambda i: idx.query(vector=qs[i], top_k=10, filter=flt), 2000))
    print("fetch 100 ids     ", _percentiles(lambda i: idx.fetch(ids[i % 500]), 500))
    print(
        "upsert 100 rows   ",
        _percentiles(lambda i: idx.upsert([(f"n{i}-{j}", new[j]) for j in range(100)]), 200),
    )
    client.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["kernels", "gil", "backlog", "api"])
    args = ap.parse_args()
    faiss.omp_set_num_threads(1)
    {"kernels": kernels, "gil": gil, "backlog": backlog, "api": api}[args.what]()


if __name__ == "__main__":
    main()
