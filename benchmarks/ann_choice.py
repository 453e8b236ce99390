"""Pick spruce's ANN library by measurement (issue 4): faiss vs usearch vs hnswlib.

Run on demand, never in CI, in the bench venv (see docs/ann-choice.md)::

    python benchmarks/ann_choice.py --dataset real                 # full 150k x 384 real set
    python benchmarks/ann_choice.py --dataset real --subset 50000  # quick look
    python benchmarks/ann_choice.py --dataset clustered --libs faiss-hnsw-flat-m32,hnswlib-m32

For each configuration it measures, on this machine:

- build time with all cores (2 here) and the index RSS growth;
- serialized size, save time, load time, and a memory-mapped / view load where the library has one,
  and "open to first query" (load + one search);
- single-query (one client, one vector per call, 1 search thread) recall@10, p50/p99 latency and QPS
  over a sweep of ef_search;
- filtered search at 10 % and 1 % selectivity with the allow-set pushed inside the library search
  (faiss: SearchParametersHNSW + IDSelectorBitmap / IDSelectorBatch; hnswlib: the ``filter`` callback;
  usearch: its Python API has no predicate, so it is shown as adaptive post-filtering, marked as such);
- the per-call Python overhead (a search against a 64-vector index through the same API path).

Exact numpy search over the allowed rows is measured too, as the planner's alternative for small
allow-sets.  Results are printed as tables and written to ``benchmarks/.cache/ann_choice_<dataset>.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import datasets as dsm

K = 10
EF_SWEEP = [16, 24, 32, 48, 64, 96, 128, 192, 256, 384]
FILTER_EF_SWEEP = [16, 32, 64, 128, 256, 512, 1024, 2048]
N_CORES = os.cpu_count() or 2


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def recall(found: np.ndarray, truth: np.ndarray, k: int = K) -> float:
    """Mean recall@k; ``found`` may contain -1 / padding."""
    return float(np.mean([len(np.intersect1d(f[:k], t[:k])) / k for f, t in zip(found, truth, strict=True)]))


def timed_queries(
    fn: Callable[[np.ndarray], np.ndarray], queries: np.ndarray, warm: int = 50
) -> dict[str, Any]:
    """One query per call, like a single client.  Returns ids (nq, K) and latency stats."""
    qs = [queries[i : i + 1] for i in range(len(queries))]
    for q in qs[:warm]:
        fn(q)
    out = np.full((len(qs), K), -1, dtype=np.int64)
    lat = np.empty(len(qs))
    t_all = time.perf_counter()
    for i, q in enumerate(qs):
        t = time.perf_counter()
        ids = fn(q)
        lat[i] = time.perf_counter() - t
        out[i, : len(ids)] = ids[:K]
    total = time.perf_counter() - t_all
    return {
        "ids": out,
        "p50_ms": float(np.percentile(lat, 50) * 1e3),
        "p99_ms": float(np.percentile(lat, 99) * 1e3),
        "qps": len(qs) / total,
    }


# --------------------------------------------------------------------------------------------------
# library adapters: build / save / load / search(q, ef, allow) -> ids


@dataclass
class Adapter:
    name: str
    lib: str
    params: dict[str, Any]

    def build(self, x: np.ndarray, metric: str) -> None: ...
    def save(self, path: str) -> None: ...
    def load(self, path: str, mmap: bool = False) -> None: ...
    def searcher(self, ef: int, allow: np.ndarray | None) -> Callable[[np.ndarray], np.ndarray]: ...
    def batch_search(self, q: np.ndarray, ef: int) -> np.ndarray: ...

    mmap_supported = False
    filter_in_library = True


class FaissHNSW(Adapter):
    """faiss IndexHNSWFlat / IndexHNSWSQ (8-bit or fp16 scalar quantiser) with inner product or L2."""

    def _faiss(self):  # type: ignore[no-untyped-def]
        import faiss

        return faiss

    def build(self, x: np.ndarray, metric: str) -> None:
        faiss = self._faiss()
        faiss.omp_set_num_threads(N_CORES)
        d = x.shape[1]
        mt = faiss.METRIC_INNER_PRODUCT if metric == "ip" else faiss.METRIC_L2
        m = self.params["M"]
        sq = self.params.get("sq")
        if sq is None:
            self.index = faiss.IndexHNSWFlat(d, m, mt)
        else:
            qt = {"sq8": faiss.ScalarQuantizer.QT_8bit, "fp16": faiss.ScalarQuantizer.QT_fp16}[sq]
            self.index = faiss.IndexHNSWSQ(d, qt, m, mt)
            self.index.train(np.ascontiguousarray(x[:: max(1, len(x) // 50_000)]))
        self.index.hnsw.efConstruction = self.params["efc"]
        for s in range(0, len(x), 50_000):  # labels are 0..n-1 in add order == our row numbers
            self.index.add(np.ascontiguousarray(x[s : s + 50_000]))
        faiss.omp_set_num_threads(1)

    def save(self, path: str) -> None:
        self._faiss().write_index(self.index, path)

    mmap_supported = True

    def load(self, path: str, mmap: bool = False) -> None:
        faiss = self._faiss()
        flags = (faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY) if mmap else 0
        self.index = faiss.read_index(path, flags)
        faiss.omp_set_num_threads(1)

    def searcher(self, ef: int, allow: np.ndarray | None) -> Callable[[np.ndarray], np.ndarray]:
        faiss = self._faiss()
        kind = self.params.get("sel", "bitmap")
        if allow is None:
            params = faiss.SearchParametersHNSW(efSearch=ef)
        elif kind == "bitmap":
            self._bits = np.packbits(allow, bitorder="little")  # bit i of byte i>>3 == row i; keep alive
            self._sel = faiss.IDSelectorBitmap(len(allow), faiss.swig_ptr(self._bits))
            params = faiss.SearchParametersHNSW(efSearch=ef, sel=self._sel)
        else:
            self._ids = np.flatnonzero(allow).astype(np.int64)
            self._sel = faiss.IDSelectorBatch(len(self._ids), faiss.swig_ptr(self._ids))
            params = faiss.SearchParametersHNSW(efSearch=ef, sel=self._sel)
        index = self.index

        def fn(q: np.ndarray) -> np.ndarray:
            return index.search(q, K, params=params)[1][0]

        return fn

    def batch_search(self, q: np.ndarray, ef: int) -> np.ndarray:
        faiss = self._faiss()
        faiss.omp_set_num_threads(N_CORES)
        ids = self.index.search(q, K, params=faiss.SearchParametersHNSW(efSearch=ef))[1]
        faiss.omp_set_num_threads(1)
        return ids


class USearch(Adapter):
    """usearch Index (HNSW), dtype f32 / f16 / i8, metric ip (unit vectors) or l2sq."""

    mmap_supported = True
    filter_in_library = False

    def build(self, x: np.ndarray, metric: str) -> None:
        from usearch.index import Index

        # i8 is only meaningful with "cos" (usearch normalises before quantising); on unit vectors cos == ip
        self.metric = ("cos" if self.params["dtype"] == "i8" else "ip") if metric == "ip" else "l2sq"
        self.index = Index(
            ndim=x.shape[1],
            metric=self.metric,
            dtype=self.params["dtype"],
            connectivity=self.params["M"],
            expansion_add=self.params["efc"],
        )
        for s in range(0, len(x), 50_000):
            keys = np.arange(s, min(s + 50_000, len(x)), dtype=np.uint64)  # key == row number
            self.index.add(keys, np.ascontiguousarray(x[s : s + 50_000]), threads=N_CORES)

    def save(self, path: str) -> None:
        self.index.save(path)

    def load(self, path: str, mmap: bool = False) -> None:
        from usearch.index import Index

        self.index = Index.restore(path, view=mmap)

    def searcher(self, ef: int, allow: np.ndarray | None) -> Callable[[np.ndarray], np.ndarray]:
        index = self.index
        index.expansion_search = ef  # per index, not per query
        compiled = index._compiled
        if allow is None:

            def fn(q: np.ndarray) -> np.ndarray:
                return compiled.search_many(q, count=K, exact=False, threads=1)[0][0]

            return fn
        # no predicate in the Python API: adaptive post-filter (NOT pushed inside the library)
        # oversampling grows with the sweep: ef=16 -> K/selectivity candidates, ef=32 -> twice that, ...
        sel = max(allow.mean(), 1e-4)
        count = int(min(len(allow), np.ceil(K / sel) * ef // 16))

        def fpost(q: np.ndarray) -> np.ndarray:
            keys = compiled.search_many(q, count=count, exact=False, threads=1)[0][0]
            keys = keys[keys < len(allow)].astype(np.int64)
            return keys[allow[keys]][:K]

        return fpost

    def batch_search(self, q: np.ndarray, ef: int) -> np.ndarray:
        self.index.expansion_search = ef
        return self.index.search(q, K, threads=N_CORES).keys.astype(np.int64)


class HNSWLib(Adapter):
    """hnswlib Index, space ip or l2; filter = Python callable on labels."""

    def build(self, x: np.ndarray, metric: str) -> None:
        import hnswlib

        self.space = "ip" if metric == "ip" else "l2"
        self.dim = x.shape[1]
        self.index = hnswlib.Index(space=self.space, dim=self.dim)
        self.index.init_index(max_elements=len(x), ef_construction=self.params["efc"], M=self.params["M"])
        for s in range(0, len(x), 50_000):
            self.index.add_items(
                np.ascontiguousarray(x[s : s + 50_000]),
                np.arange(s, min(s + 50_000, len(x))),
                num_threads=N_CORES,
            )

    def save(self, path: str) -> None:
        self.index.save_index(path)

    def load(self, path: str, mmap: bool = False) -> None:
        import hnswlib

        self.index = hnswlib.Index(space=self.space, dim=self.dim)
        self.index.load_index(path)

    def searcher(self, ef: int, allow: np.ndarray | None) -> Callable[[np.ndarray], np.ndarray]:
        index = self.index
        index.set_ef(ef)  # per index, not per query
        if allow is None:

            def fn(q: np.ndarray) -> np.ndarray:
                return index.knn_query(q, k=K, num_threads=1)[0][0]

            return fn
        allowed = allow.tolist()  # list of Python bools: the cheapest lookup from the callback
        pred = allowed.__getitem__

        def ff(q: np.ndarray) -> np.ndarray:
            return index.knn_query(q, k=K, num_threads=1, filter=pred)[0][0]

        return ff

    def batch_search(self, q: np.ndarray, ef: int) -> np.ndarray:
        self.index.set_ef(ef)
        return self.index.knn_query(q, k=K, num_threads=N_CORES)[0].astype(np.int64)


CONFIGS: dict[str, Callable[[], Adapter]] = {
    "faiss-hnsw-flat-m16": lambda: FaissHNSW("faiss-hnsw-flat-m16", "faiss", {"M": 16, "efc": 200}),
    "faiss-hnsw-flat-m32": lambda: FaissHNSW("faiss-hnsw-flat-m32", "faiss", {"M": 32, "efc": 200}),
    "faiss-hnsw-sq8-m32": lambda: FaissHNSW(
        "faiss-hnsw-sq8-m32", "faiss", {"M": 32, "efc": 200, "sq": "sq8"}
    ),
    "faiss-hnsw-fp16-m32": lambda: FaissHNSW(
        "faiss-hnsw-fp16-m32", "faiss", {"M": 32, "efc": 200, "sq": "fp16"}
    ),
    "usearch-f32-m16": lambda: USearch("usearch-f32-m16", "usearch", {"M": 16, "efc": 200, "dtype": "f32"}),
    "usearch-f16-m16": lambda: USearch("usearch-f16-m16", "usearch", {"M": 16, "efc": 200, "dtype": "f16"}),
    "usearch-i8-m16": lambda: USearch("usearch-i8-m16", "usearch", {"M": 16, "efc": 200, "dtype": "i8"}),
    "usearch-f32-m32": lambda: USearch("usearch-f32-m32", "usearch", {"M": 32, "efc": 200, "dtype": "f32"}),
    "usearch-f16-m32": lambda: USearch("usearch-f16-m32", "usearch", {"M": 32, "efc": 200, "dtype": "f16"}),
    "usearch-i8-m32": lambda: USearch("usearch-i8-m32", "usearch", {"M": 32, "efc": 200, "dtype": "i8"}),
    "faiss-hnsw-flat-m32-efc100": lambda: FaissHNSW(
        "faiss-hnsw-flat-m32-efc100", "faiss", {"M": 32, "efc": 100}
    ),
    "faiss-hnsw-flat-m32-efc64": lambda: FaissHNSW(
        "faiss-hnsw-flat-m32-efc64", "faiss", {"M": 32, "efc": 64}
    ),
    "faiss-hnsw-flat-m24-efc80": lambda: FaissHNSW(
        "faiss-hnsw-flat-m24-efc80", "faiss", {"M": 24, "efc": 80}
    ),
    "hnswlib-m16": lambda: HNSWLib("hnswlib-m16", "hnswlib", {"M": 16, "efc": 200}),
    "hnswlib-m32": lambda: HNSWLib("hnswlib-m32", "hnswlib", {"M": 32, "efc": 200}),
}
DEFAULT = [
    "faiss-hnsw-flat-m32",
    "faiss-hnsw-sq8-m32",
    "faiss-hnsw-flat-m16",
    "usearch-f32-m32",
    "usearch-f16-m32",
    "usearch-i8-m32",
    "hnswlib-m32",
]


# --------------------------------------------------------------------------------------------------
# measurements


def python_overhead(make: Callable[[], Adapter], d: int, metric: str) -> float:
    """Median seconds of one search call on a 64-vector index: the fixed per-call cost."""
    a = make()
    x = np.random.default_rng(0).normal(size=(64, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    a.build(x, metric)
    fn = a.searcher(16, None)
    q = x[:1].copy()
    for _ in range(200):
        fn(q)
    lat = []
    for _ in range(2000):
        t = time.perf_counter()
        fn(q)
        lat.append(time.perf_counter() - t)
    return float(np.median(lat))


def exact_filtered(base: np.ndarray, queries: np.ndarray, allow: np.ndarray, metric: str) -> dict[str, Any]:
    """Planner alternative: gather the allowed rows, one BLAS matvec per query."""
    rows = np.flatnonzero(allow)

    def fn(q: np.ndarray) -> np.ndarray:
        x = base[rows]
        s = x @ q[0] if metric == "ip" else -((x - q[0]) ** 2).sum(1)
        top = np.argpartition(-s, K)[:K]
        return rows[top[np.argsort(-s[top])]]

    return timed_queries(fn, queries, warm=20)


def smoke_dataset() -> dsm.Dataset:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(21_000, 64)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    meta = dsm.make_metadata(20_000, 0)
    return dsm.Dataset("smoke", x[:20_000], x[20_000:], "ip", meta["category"], meta["year"], meta["tags"])


def run_config(
    make: Callable[[], Adapter],
    base: np.ndarray,
    queries: np.ndarray,
    gt: dict[str, np.ndarray],
    masks: dict[str, np.ndarray | None],
    metric: str,
    tmp: str,
) -> dict[str, Any]:
    a = make()
    res: dict[str, Any] = {
        "name": a.name,
        "lib": a.lib,
        "params": dict(a.params),
        "loadavg_before": os.getloadavg(),
    }
    gc.collect()
    r0 = rss_mb()
    t = time.perf_counter()
    a.build(base, metric)
    res["build_s"] = time.perf_counter() - t
    res["build_rate"] = len(base) / res["build_s"]
    res["rss_growth_mb"] = rss_mb() - r0
    path = os.path.join(tmp, a.name + ".idx")
    t = time.perf_counter()
    a.save(path)
    res["save_s"] = time.perf_counter() - t
    res["file_mb"] = os.path.getsize(path) / 2**20
    res["bytes_per_vector"] = os.path.getsize(path) / len(base)
    print(
        f"  {a.name}: build {res['build_s']:.1f} s ({res['build_rate']:,.0f}/s),"
        f" +{res['rss_growth_mb']:.0f} MB RSS,"
        f" file {res['file_mb']:.0f} MB, save {res['save_s']:.2f} s",
        flush=True,
    )
    del a.index
    gc.collect()
    os.system(f"cat {path} > /dev/null")  # page cache warm: we measure parsing, not the disk
    for mode in ("load", "mmap") if a.mmap_supported else ("load",):
        gc.collect()
        r0 = rss_mb()
        t = time.perf_counter()
        try:
            a.load(path, mmap=(mode == "mmap"))
        except Exception as e:
            res[f"{mode}_error"] = repr(e)
            print(f"    {mode}: FAILED {e!r}", flush=True)
            continue
        load_s = time.perf_counter() - t
        fn = a.searcher(64, None)
        fn(queries[:1])
        res[f"{mode}_s"] = load_s
        res[f"{mode}_first_query_s"] = time.perf_counter() - t
        res[f"{mode}_rss_mb"] = rss_mb() - r0
        check = timed_queries(a.searcher(64, None), queries[:200], warm=0)
        res[f"{mode}_recall_ef64"] = recall(check["ids"], gt["none"][:200])
        print(
            f"    {mode}: {load_s:.3f} s, open->first query {res[f'{mode}_first_query_s']:.3f} s,"
            f" +{res[f'{mode}_rss_mb']:.0f} MB RSS, recall@10(ef64)={res[f'{mode}_recall_ef64']:.3f}",
            flush=True,
        )
        if mode == "load":
            continue
        a.load(path, mmap=False)  # sweep on the in-memory index
    res["sweep"] = []
    for ef in EF_SWEEP:
        r = timed_queries(a.searcher(ef, None), queries)
        row = {
            "ef": ef,
            "recall": recall(r["ids"], gt["none"]),
            "p50_ms": r["p50_ms"],
            "p99_ms": r["p99_ms"],
            "qps": r["qps"],
        }
        res["sweep"].append(row)
        print(
            f"    ef={ef:4d} recall@10={row['recall']:.4f} p50={row['p50_ms']:.3f} ms"
            f" p99={row['p99_ms']:.3f} ms"
            f" qps={row['qps']:,.0f}",
            flush=True,
        )
        if row["recall"] > 0.995:
            break
    best = next((r for r in res["sweep"] if r["recall"] >= 0.95), None)
    if best:
        ids = a.batch_search(np.ascontiguousarray(queries), best["ef"])
        t = time.perf_counter()
        for _ in range(3):
            a.batch_search(np.ascontiguousarray(queries), best["ef"])
        res["batch_qps_at_095"] = 3 * len(queries) / (time.perf_counter() - t)
        res["batch_recall"] = recall(ids, gt["none"])
        print(
            f"    batch ({N_CORES} threads) at ef={best['ef']}: {res['batch_qps_at_095']:,.0f} qps",
            flush=True,
        )
    res["filtered"] = {}
    for fname, allow in masks.items():
        if allow is None:
            continue
        rows = []
        for ef in FILTER_EF_SWEEP:
            r = timed_queries(a.searcher(ef, allow), queries, warm=20)
            row = {
                "ef": ef,
                "recall": recall(r["ids"], gt[fname]),
                "p50_ms": r["p50_ms"],
                "p99_ms": r["p99_ms"],
                "qps": r["qps"],
                "in_library": a.filter_in_library,
            }
            rows.append(row)
            print(
                f"    {fname} ef={ef:4d} recall@10={row['recall']:.4f} p50={row['p50_ms']:.3f} ms"
                f" qps={row['qps']:,.0f}"
                f"{'' if a.filter_in_library else ' (post-filter)'}",
                flush=True,
            )
            if row["recall"] > 0.99 or row["qps"] < 150:
                break
        res["filtered"][fname] = rows
    if isinstance(a, FaissHNSW) and a.params.get("sel", "bitmap") == "bitmap":
        a.params["sel"] = "batch"  # same index, IDSelectorBatch instead of the bitmap
        for fname, allow in masks.items():
            if allow is None:
                continue
            r = timed_queries(a.searcher(64, allow), queries, warm=20)
            res["filtered"][fname + "_idselectorbatch_ef64"] = {
                "recall": recall(r["ids"], gt[fname]),
                "qps": r["qps"],
                "p50_ms": r["p50_ms"],
            }
            print(
                f"    {fname} IDSelectorBatch ef=64 recall@10={recall(r['ids'], gt[fname]):.4f}"
                f" qps={r['qps']:,.0f}"
            )
        a.params["sel"] = "bitmap"
    res["loadavg_after"] = os.getloadavg()
    os.remove(path)
    del a
    gc.collect()
    return res


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="ANN library choice benchmark")
    ap.add_argument(
        "--dataset",
        default="real",
        choices=["real", "clustered", "smoke"],
        help="smoke: 20,000 x 64 random unit vectors, to check this script in seconds",
    )
    ap.add_argument(
        "--subset", type=int, default=0, help="use only the first N base rows (ground truth recomputed)"
    )
    ap.add_argument("--libs", default=",".join(DEFAULT), help=f"comma list of {','.join(CONFIGS)}")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    ds = smoke_dataset() if args.dataset == "smoke" else dsm.load(args.dataset)
    args.subset = args.subset or (len(ds.base) if args.dataset == "smoke" else 0)
    base = np.ascontiguousarray(ds.base[: args.subset] if args.subset else ds.base)
    queries = ds.queries
    cat = ds.category[: len(base)]
    masks = {f: (None if v is None else cat == dsm.CATEGORIES.index(v)) for f, (v, _) in dsm.FILTERS.items()}
    if args.subset:
        print(f"subset {len(base):,}: recomputing ground truth", flush=True)
        gt = {
            f: dsm.exact_topk(base, queries, K, ds.metric, None if m is None else np.flatnonzero(m))[0]
            for f, m in masks.items()
        }
    else:
        gt = {f: g[:, :K] for f, g in ds.gt.items()}
    print(
        f"dataset {args.dataset}: {base.shape[0]:,} x {base.shape[1]} ({ds.metric}), {len(queries)} queries,"
        f" selectivities " + ", ".join(f"{f}={m.mean():.4f}" for f, m in masks.items() if m is not None),
        flush=True,
    )
    import faiss
    import hnswlib
    import usearch

    versions = {
        "faiss": faiss.__version__,
        "usearch": usearch.__version__,
        "hnswlib": getattr(hnswlib, "__version__", "0.8.0"),
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "cores": N_CORES,
    }
    print("versions", versions, flush=True)
    results: dict[str, Any] = {
        "dataset": args.dataset,
        "n": len(base),
        "dim": base.shape[1],
        "versions": versions,
        "configs": [],
        "exact": {},
        "overhead_us": {},
    }
    for fname, m in masks.items():
        if m is None:
            continue
        r = exact_filtered(base, queries, m, ds.metric)
        results["exact"][fname] = {
            "recall": recall(r["ids"], gt[fname]),
            "p50_ms": r["p50_ms"],
            "qps": r["qps"],
        }
        print(
            f"exact numpy over allowed rows {fname}: recall={results['exact'][fname]['recall']:.4f}"
            f" p50={r['p50_ms']:.3f} ms qps={r['qps']:,.0f}",
            flush=True,
        )
    with tempfile.TemporaryDirectory(dir=str(dsm.CACHE)) as tmp:
        for name in args.libs.split(","):
            print(f"== {name}", flush=True)
            lib = CONFIGS[name]().lib
            if lib not in results["overhead_us"]:
                results["overhead_us"][lib] = python_overhead(CONFIGS[name], base.shape[1], ds.metric) * 1e6
                print(
                    f"  per-call overhead ({lib}, 64-vector index): {results['overhead_us'][lib]:.1f} us",
                    flush=True,
                )
            results["configs"].append(run_config(CONFIGS[name], base, queries, gt, masks, ds.metric, tmp))
            out = Path(
                args.out
                or dsm.CACHE
                / f"ann_choice_{args.dataset}{'_' + str(args.subset) if args.subset else ''}.json"
            )
            out.write_text(json.dumps(results, indent=1))
    summarize(results)


def summarize(results: dict[str, Any]) -> None:
    print(f"\nSUMMARY {results['dataset']} n={results['n']:,} d={results['dim']}")
    print(
        "| config | build s (rec/s) | file MB | load s | mmap load s | unfiltered: ef, recall, p50 ms, QPS"
        " | 10%: ef, recall, QPS | 1%: ef, recall, QPS |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for c in results["configs"]:
        u = next((r for r in c["sweep"] if r["recall"] >= 0.95), c["sweep"][-1])
        cells = []
        for f in ("cat10", "cat1"):
            rows = c["filtered"].get(f, [])
            b = next((r for r in rows if r["recall"] >= 0.95), rows[-1] if rows else None)
            cells.append(
                "-"
                if b is None
                else f"{b['ef']}, {b['recall']:.3f}, {b['qps']:,.0f}" + ("" if b["in_library"] else " (post)")
            )
        mm = f"{c['mmap_s']:.3f}" if "mmap_s" in c else ("fails" if "mmap_error" in c else "n/a")
        print(
            f"| {c['name']} | {c['build_s']:.1f} ({c['build_rate']:,.0f}) | {c['file_mb']:.0f}"
            f" | {c['load_s']:.3f} | {mm}"
            f" | {u['ef']}, {u['recall']:.3f}, {u['p50_ms']:.3f}, {u['qps']:,.0f} | {cells[0]} | {cells[1]} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
