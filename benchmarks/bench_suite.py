"""Bench suite (issue 4, point 6): the same workload on spruce (embedded and server) and on the peers.

Run on demand, never in CI, from the bench venv (see benchmarks/README.md)::

    .venv-bench/bin/python benchmarks/bench_suite.py --dataset real --subset 20000 --queries 200   # smoke
    .venv-bench/bin/python benchmarks/bench_suite.py --dataset real                                # full
    .venv-bench/bin/python benchmarks/bench_suite.py --dataset clustered --systems spruce,milvus

Each system runs in its own subprocess (``--worker``), so its peak RSS is its own, with a timeout
(``--timeout``; a system that runs out prints ``timeout`` for the figures it did not reach). The
workload, per system, on a fresh directory:

1. create, ingest the base vectors with metadata in batches of ``--batch`` (timed: to queryable);
   then ``wait_indexed()`` (timed: to fully indexed = ingest + wait);
2. peak RSS (VmHWM of the worker minus its RSS before the system was imported, with the data set already
   loaded into anonymous memory, plus the VmHWM of any child process the system started: Milvus Lite's
   engine, spruce's server), read once fully indexed (the peak "during ingest") and again at the end
   (the whole run, including close, reopen and deletes); disk bytes / vector;
3. queries one at a time (single client, top-10), unfiltered, ``category == docs`` (10 %) and
   ``category == legal`` (1 %): p50 / p99 latency, QPS = queries / wall time, recall@10 against the
   exact ground truth (recomputed exactly on the subset when ``--subset`` is given). Each phase stops
   after ``--phase-budget`` seconds if not done (the QPS and recall are over the queries that ran);
4. fetch of 100 random ids (median of 20), close, open-to-first-query (open the persisted store and
   answer one query), delete of 1,000 ids (median of 3 disjoint sets), delete by filter
   ``category == docs`` (~10 %), then the exact count checked against the expected one.

Results: a table per data set (raw figures, then spruce/peer per figure) and JSON in
``benchmarks/results/`` (git-ignored).

With ``spruce-server`` among the systems, the same run also makes the same SDK calls (the spruce-server
adapter's own ``ingest`` of every batch, the same queries and filters at top-10, fetch of 100 ids) against a
do-nothing server (``bench_server.py --null-server``: uvicorn + httptools, reading each body and answering
at once: an upsert count, a canned fetch answer of the data set's dimension, a fixed top-10) and prints a
second table for the server target: every figure within 2x of embedded spruce, except query latency, which
may instead be within 1 ms of that bare HTTP round trip (the part of a server query that no engine work can
remove). "server - bare" per call shows how much of each gap is the SDK/HTTP/JSON round trip itself.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
# benchmarks/datasets.py must not shadow Hugging Face's ``datasets`` (LanceDB imports it when present):
# keep this directory off sys.path and load our two modules by file.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]


def _load_local(name: str, file: str):  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        name,
        HERE / file,
        submodule_search_locations=[str(HERE / "peers")] if file.endswith("__init__.py") else None,
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


ALL_SYSTEMS = ["spruce", "spruce-server", "chroma", "qdrant", "milvus", "lancedb"]
BASELINE = "http-baseline"  # worker name of the do-nothing-server round trip, not a system
SERVER_SLOWDOWN_MAX = 2.0  # target: spruce-server within 2x of embedded spruce on every figure ...
HTTP_OVERHEAD_MAX_MS = 1.0  # ... or, for query p50, within 1 ms of the bare HTTP round trip
FILTER_NAMES = ["none", "cat10", "cat1"]
VERSIONS = {
    "spruce": ["spruce", "faiss-cpu"],
    "spruce-server": ["spruce", "pinecone", "faiss-cpu"],
    "chroma": ["chromadb"],
    "qdrant": ["qdrant-client"],
    "milvus": ["pymilvus", "milvus-lite"],
    "lancedb": ["lancedb", "pylance"],
}


# ------------------------------------------------------------------------------------------ helpers


def status_kb(pid: int | str, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    try:
        import psutil

        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except Exception:
        return []


def du(path: str) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                st = os.lstat(os.path.join(dirpath, f))
            except OSError:
                continue
            total += st.st_blocks * 512 if hasattr(st, "st_blocks") else st.st_size
    return total


def exact_gt(
    base: np.ndarray, queries: np.ndarray, metric: str, mask: np.ndarray | None, k: int
) -> np.ndarray:
    rows = np.arange(len(base)) if mask is None else np.flatnonzero(mask)
    out = np.empty((len(queries), k), dtype=np.int64)
    sub = base[rows]
    for s in range(0, len(queries), 100):
        q = queries[s : s + 100]
        score = -(q @ sub.T) if metric == "ip" else (sub * sub).sum(1)[None, :] - 2 * (q @ sub.T)
        part = np.argpartition(score, k, axis=1)[:, :k]
        order = np.take_along_axis(score, part, 1).argsort(1)
        out[s : s + 100] = rows[np.take_along_axis(part, order, 1)]
    return out


def versions(system: str) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for p in VERSIONS.get(system, []):
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = "not installed"
    return out


# ------------------------------------------------------------------------------------------ worker


def worker(args: argparse.Namespace) -> None:
    """Run the whole workload on one system; write partial results to ``args.out`` after each phase."""
    bench_datasets = _load_local("bench_datasets", "datasets.py")
    FILTERS, load = bench_datasets.FILTERS, bench_datasets.load

    res: dict = {"system": args.worker, "versions": versions(args.worker), "status": "running"}
    out = Path(args.out)

    def save() -> None:
        out.write_text(json.dumps(res, indent=1, default=str))

    save()
    ds = load(args.dataset)
    if args.worker == BASELINE:
        try:
            queries = np.array(ds.queries[: args.queries], dtype=np.float32, order="C")
            http_baseline(args, ds, queries, {f: FILTERS[f][1] for f in FILTER_NAMES}, res, save)
        finally:
            save()
        return
    n_full = len(ds.base)
    n = min(args.subset or n_full, n_full)
    # Copies, not views of the cached .npy files: a memory-mapped data set would be paged in during ingest
    # and counted as the system's own RSS (about raw-vector-bytes more, for every system alike).
    base = np.array(ds.base[:n], dtype=np.float32, order="C")
    queries = np.array(ds.queries[: args.queries], dtype=np.float32, order="C")
    dim = base.shape[1]
    metric = "cosine" if ds.metric == "ip" else "euclidean"
    masks = {f: (None if f == "none" else ds.mask(f)[:n]) for f in FILTER_NAMES}
    if n == n_full:
        gt = {f: ds.gt[f][: len(queries), :10] for f in FILTER_NAMES}
    else:
        gt = {f: exact_gt(base, queries, ds.metric, masks[f], 10) for f in FILTER_NAMES}
    filters = {f: FILTERS[f][1] for f in FILTER_NAMES}
    res.update(n=n, dim=dim, metric=metric, queries=len(queries), batch=args.batch)

    rss0 = status_kb("self", "VmRSS")
    peak_kb = [0]

    def rss_mb() -> float:
        """Peak so far of the worker's own high-water mark plus those of the children alive now (Milvus
        Lite's engine runs beside the worker; spruce's server is restarted for the reopen, and the two
        server processes never coexist, so a dead child's peak must not be added to the next one's)."""
        live = sum(status_kb(pid, "VmHWM") for pid in descendants(os.getpid()))
        peak_kb[0] = max(peak_kb[0], status_kb("self", "VmHWM") - rss0 + live)
        return round(peak_kb[0] / 1024, 1)

    peers = _load_local("peers", "peers/__init__.py")

    path = tempfile.mkdtemp(prefix=f"bench-{args.worker}-", dir=args.workdir)
    try:
        ad = peers.get(args.worker)
        res["settings"] = ad.settings
        res["durable"] = ad.durable
        ad.open(path)
        ad.create(dim, metric)
        ids = list(range(n))
        chunk = 5 * args.batch
        t_ingest = 0.0
        for s in range(0, n, chunk):
            e = min(s + chunk, n)
            meta = [ds.metadata(i) for i in range(s, e)]
            t0 = time.perf_counter()
            ad.ingest(ids[s:e], base[s:e], meta, args.batch)
            t_ingest += time.perf_counter() - t0
            res["ingested_rows"], res["ingest_s_so_far"] = e, round(t_ingest, 2)
            save()
        res["ingest_s"] = round(t_ingest, 2)
        res["ingest_rps_queryable"] = round(n / t_ingest, 1)
        res["rss_ingest_mb"] = rss_mb()
        save()
        t0 = time.perf_counter()
        ad.wait_indexed()
        t_index = time.perf_counter() - t0
        res["index_wait_s"] = round(t_index, 2)
        res["ingest_rps_indexed"] = round(n / (t_ingest + t_index), 1)
        res["settings"] = ad.settings
        res["rss_indexed_mb"] = rss_mb()
        res["disk_bytes_per_vector"] = round(du(path) / n, 1)
        res["raw_bytes_per_vector"] = dim * 4
        save()

        rng = np.random.default_rng(7)
        for f in FILTER_NAMES:
            for q in queries[:10]:  # warm-up
                ad.query(q, 10, filters[f])
            lat, found = [], []
            t_start = time.perf_counter()
            for q in queries:
                t0 = time.perf_counter()
                found.append(ad.query(q, 10, filters[f]))
                lat.append(time.perf_counter() - t0)
                if time.perf_counter() - t_start > args.phase_budget:
                    break
            wall = time.perf_counter() - t_start
            m = len(found)
            hits = sum(len(set(fo[:10]) & set(gt[f][i].tolist())) for i, fo in enumerate(found))
            res[f"q_{f}"] = {
                "recall": round(hits / (10 * m), 4),
                "p50_ms": round(float(np.percentile(lat, 50)) * 1e3, 3),
                "p99_ms": round(float(np.percentile(lat, 99)) * 1e3, 3),
                "qps": round(m / wall, 1),
                "n": m,
            }
            save()
        res["rss_peak_mb"] = rss_mb()

        fetch_t, fetched = [], []
        for _ in range(20):
            pick = rng.choice(n, 100, replace=False).tolist()
            t0 = time.perf_counter()
            fetched.append(ad.fetch(pick))
            fetch_t.append(time.perf_counter() - t0)
        res["fetch100_ms"] = round(float(np.median(fetch_t)) * 1e3, 3)
        res["fetch100_found"] = int(min(fetched))
        save()

        ad.close()
        del ad
        t0 = time.perf_counter()
        ad = peers.get(args.worker)
        ad.open(path)
        ad.query(queries[0], 10, None)
        res["open_first_query_ms"] = round((time.perf_counter() - t0) * 1e3, 1)
        save()

        perm = rng.permutation(n)
        deleted = set()
        del_t = []
        for r in range(3):
            pick = perm[r * 1000 : (r + 1) * 1000].tolist()
            t0 = time.perf_counter()
            ad.delete_ids(pick)
            del_t.append(time.perf_counter() - t0)
            deleted.update(pick)
        res["delete1000_ms"] = round(float(np.median(del_t)) * 1e3, 3)
        save()
        t0 = time.perf_counter()
        ad.delete_filter(filters["cat10"])
        res["delete_filter_ms"] = round((time.perf_counter() - t0) * 1e3, 3)
        alive = np.ones(n, dtype=bool)
        alive[list(deleted)] = False
        alive &= ~masks["cat10"]
        expected = int(alive.sum())
        t0 = time.perf_counter()
        got = ad.count()
        res["count_after_s"] = round(time.perf_counter() - t0, 3)
        res["delete_filter_rows"] = int(masks["cat10"].sum())
        res["count_expected"], res["count_got"] = expected, got
        res["count_ok"] = got == expected
        res["rss_peak_mb"] = max(res["rss_peak_mb"], rss_mb())
        ad.close()
        res["status"] = "ok"
    except Exception as exc:  # report what broke, keep what was measured
        import traceback

        res["status"] = f"error: {type(exc).__name__}: {exc}"[:500]
        res["traceback"] = traceback.format_exc()[-3000:]
    finally:
        save()
        shutil.rmtree(path, ignore_errors=True)


def http_baseline(
    args: argparse.Namespace,
    ds,  # type: ignore[no-untyped-def]
    queries: np.ndarray,
    filters: dict[str, dict | None],
    res: dict,
    save: Callable[[], None],
) -> None:
    """The same SDK calls as spruce-server's, against the do-nothing server: the HTTP/JSON round trip alone.

    Same client (pinecone 10.2.0, one connection, sequential) and the very code of the spruce-server
    adapter (``ingest``, ``fetch``), so the difference to spruce-server is engine work plus the server's own
    request handling:

    * ingest: every batch of ``--batch`` records with metadata, as the adapter sends them (``tolist`` and
      the SDK's request building included, as in spruce-server's ingest time), checking that the server's
      count came back right;
    * queries: same query vectors, filters, top-10, warm-up and phase budget as the systems' query phases;
    * fetch of 100 random ids, median of 20; the server answers with vectors of the data set's dimension
      and metadata shaped like the data set's, so the SDK decodes a payload the size of spruce's.
    """
    bench_server = _load_local("bench_server", "bench_server.py")
    peers = _load_local("peers", "peers/__init__.py")
    from pinecone import Pinecone

    n_full = len(ds.base)
    n = min(args.subset or n_full, n_full)
    base = np.array(ds.base[:n], dtype=np.float32, order="C")
    res.update(n=n, queries=len(queries), dim=queries.shape[1], batch=args.batch)
    with bench_server.null_server(dim=base.shape[1], metadata=ds.metadata(0)) as url:
        ad = peers.get("spruce-server")  # not opened: only its SDK calls are used, on the null server
        ad.idx = Pinecone(api_key="bench", host=url).Index(host=url)
        ids = list(range(n))
        upserted = 0
        t_ingest = 0.0
        for s in range(0, n, args.batch):
            e = min(s + args.batch, n)
            meta = [ds.metadata(i) for i in range(s, e)]
            t0 = time.perf_counter()
            upserted += ad.ingest(ids[s:e], base[s:e], meta, args.batch)
            t_ingest += time.perf_counter() - t0
        if upserted != n:
            raise AssertionError(f"the null server counted {upserted} upserted records, not {n}")
        res["ingest_s"] = round(t_ingest, 2)
        res["ingest_rps_queryable"] = round(n / t_ingest, 1)
        save()
        for f in FILTER_NAMES:
            for q in queries[:10]:
                ad.query(q, 10, filters[f])
            lat: list[float] = []
            t_start = time.perf_counter()
            for q in queries:
                t0 = time.perf_counter()
                ad.query(q, 10, filters[f])
                lat.append(time.perf_counter() - t0)
                if time.perf_counter() - t_start > args.phase_budget:
                    break
            res[f"q_{f}"] = {
                "p50_ms": round(float(np.percentile(lat, 50)) * 1e3, 3),
                "p99_ms": round(float(np.percentile(lat, 99)) * 1e3, 3),
                "n": len(lat),
            }
            save()
        rng = np.random.default_rng(7)
        fetch_t = []
        for _ in range(20):
            pick = rng.choice(n, 100, replace=False).tolist()
            t0 = time.perf_counter()
            found = ad.fetch(pick)
            fetch_t.append(time.perf_counter() - t0)
            if found != 100:
                raise AssertionError(f"the null server's fetch answer decoded to {found} records, not 100")
        res["fetch100_ms"] = round(float(np.median(fetch_t)) * 1e3, 3)
    res["status"] = "ok"


# ------------------------------------------------------------------------------------------ parent

# (key, label, higher is better)
FIGURES: list[tuple[str, str, bool]] = [
    ("ingest_rps_queryable", "ingest rec/s to queryable", True),
    ("ingest_rps_indexed", "ingest rec/s to fully indexed", True),
    ("rss_indexed_mb", "peak RSS MB, ingest to fully indexed", False),
    ("rss_peak_mb", "peak RSS MB, whole run (incl. reopen)", False),
    ("disk_bytes_per_vector", "disk bytes/vector", False),
]
for _f, _lab in [("none", "unfiltered"), ("cat10", "10% filter"), ("cat1", "1% filter")]:
    FIGURES += [
        (f"q_{_f}.recall", f"{_lab}: recall@10", True),
        (f"q_{_f}.p50_ms", f"{_lab}: p50 ms", False),
        (f"q_{_f}.p99_ms", f"{_lab}: p99 ms", False),
        (f"q_{_f}.qps", f"{_lab}: QPS", True),
    ]
FIGURES += [
    ("fetch100_ms", "fetch 100 ids ms", False),
    ("delete1000_ms", "delete 1000 ids ms", False),
    ("delete_filter_ms", "delete by filter (10%) ms", False),
    ("count_ok", "exact count after deletes", True),
    ("open_first_query_ms", "open to first query ms", False),
]


def get(res: dict, key: str):  # type: ignore[no-untyped-def]
    cur = res
    for part in key.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def fmt(v) -> str:  # type: ignore[no-untyped-def]
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, float) and v < 1 and v != 0:
        return f"{v:.3f}"
    if isinstance(v, (int, float)):
        return f"{v:,.1f}" if v < 100 else f"{v:,.0f}"
    return str(v)


def table(results: dict[str, dict]) -> str:
    systems = list(results)
    peers = [s for s in systems if s != "spruce"]
    head = ["figure", *systems] + ([f"spruce/{p}" for p in peers] if "spruce" in systems else [])
    rows = [head, ["---"] * len(head)]
    for key, label, higher in FIGURES:
        row = [f"{label} {'↑' if higher else '↓'}"]
        for s in systems:
            v = get(results[s], key)
            if v is None and results[s].get("status") == "timeout":
                row.append("timeout")
            elif v is None and str(results[s].get("status", "")).startswith("error"):
                row.append("error")
            else:
                row.append(fmt(v))
        if "spruce" in systems:
            a = get(results["spruce"], key)
            for p in peers:
                b = get(results[p], key)
                ok = isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool)
                row.append(f"{a / b:.3g}" if ok and b else "-")
        rows.append(row)
    lines = ["| " + " | ".join(r) + " |" for r in rows]
    notes = []
    for s in systems:
        r = results[s]
        notes.append(
            f"- {s}: status {r.get('status')}; {r.get('versions')}; durability: {r.get('durable')}; "
            f"settings: {json.dumps(r.get('settings'), default=str)}"
        )
        for f in FILTER_NAMES:
            q = r.get(f"q_{f}")
            if q and q["n"] < r.get("queries", 0):
                notes.append(f"  - {s} {f}: only {q['n']} of {r['queries']} queries within the phase budget")
        if r.get("status") == "timeout" and "ingest_s" not in r and r.get("ingested_rows"):
            rate = r["ingested_rows"] / max(r["ingest_s_so_far"], 1e-9)
            notes.append(
                f"  - {s}: timed out while ingesting: {r['ingested_rows']:,} rows in "
                f"{r['ingest_s_so_far']} s ({rate:,.0f} rec/s)"
            )
        if r.get("count_ok") is False:
            notes.append(
                f"  - {s}: count after deletes {r.get('count_got')} != expected {r.get('count_expected')}"
            )
    legend = "(↑ higher is better, ↓ lower is better; spruce/peer = spruce's figure divided by the peer's)"
    return "\n".join(lines) + "\n" + legend + "\n\n" + "\n".join(notes)


FILTER_LABELS = {"none": "unfiltered", "cat10": "10% filter", "cat1": "1% filter"}


def _per_batch_ms(res: dict) -> float | None:
    """Mean ingest time per upsert batch (to queryable), in ms."""
    n, batch, secs = res.get("n"), res.get("batch"), res.get("ingest_s")
    if not (isinstance(n, int) and isinstance(batch, int) and isinstance(secs, (int, float)) and batch):
        return None
    return secs * 1e3 / -(-n // batch)


def _signed(v: float) -> str:
    """A difference in ms: 3 decimals where sub-ms matters (queries), fewer for tens of ms."""
    return f"{v:+.3f}" if abs(v) < 10 else f"{v:+.1f}" if abs(v) < 100 else f"{v:+.0f}"


def _ms(v: object) -> str:
    """A time in ms for the server table: sub-ms differences matter there, so 3 decimals below 10."""
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return "-"
    return f"{v:.3f}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:.0f}"


def _num(v: object) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def server_table(results: dict[str, dict], baseline: dict) -> str:
    """The server target: each SDK call vs the same call on the do-nothing server, then spruce-server vs
    embedded per figure.

    First table: query p50s (target: within 1 ms of bare), ingest time per batch and fetch-100 median,
    each with "server - bare" (what is not the SDK/HTTP/JSON round trip) and "server - embedded - bare"
    (what neither the engine nor the round trip accounts for: the server's own work).

    Second table: the slowdown is oriented so that 1.0 = as good as embedded and the target is <= 2 for
    every figure (server/embedded for lower-is-better figures, embedded/server for higher-is-better ones).
    "bare alone" is the same ratio for the do-nothing server: above 2, the round trip by itself misses the
    target, whatever the server does.
    """
    srv, emb = results.get("spruce-server", {}), results.get("spruce", {})
    batch = srv.get("batch", "?")
    lines = [
        "| SDK call (one client) | spruce-server | bare HTTP | server - bare ms (query target <= 1) "
        "| server - embedded - bare ms | spruce-server p99 | bare HTTP p99 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    near_bare: dict[str, bool] = {}
    rows: list[tuple[str, str, float | None, float | None, float | None, object, object]] = [
        (
            f"query {FILTER_LABELS[f]}, p50 ms",
            f,
            *(_num(get(r, f"q_{f}.p50_ms")) for r in (srv, baseline, emb)),
            get(srv, f"q_{f}.p99_ms"),
            get(baseline, f"q_{f}.p99_ms"),
        )
        for f in FILTER_NAMES
    ]
    rows.append(
        (
            f"ingest, ms per batch of {batch}",
            "",
            *(_per_batch_ms(r) for r in (srv, baseline, emb)),
            None,
            None,
        )
    )
    rows.append(
        (
            "fetch 100 ids, median ms",
            "",
            *(_num(get(r, "fetch100_ms")) for r in (srv, baseline, emb)),
            None,
            None,
        )
    )
    for label, f, a, b, e, p99a, p99b in rows:
        diff = a - b if a is not None and b is not None else None
        if diff is None:
            shown = "-"
        elif f:
            near_bare[f] = diff <= HTTP_OVERHEAD_MAX_MS
            shown = f"{_signed(diff)} {'ok' if near_bare[f] else 'OVER'}"
        else:
            shown = _signed(diff)
        rest = "-" if diff is None or e is None else _signed(diff - e)
        lines.append(f"| {label} | {_ms(a)} | {_ms(b)} | {shown} | {rest} | {_ms(p99a)} | {_ms(p99b)} |")
    if not emb:
        return "\n".join(lines)
    lines += [
        "",
        "| figure | spruce | spruce-server | bare HTTP | server slowdown (target <= 2) | bare alone "
        "| verdict |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]

    def slowdown(e: float, v: float, higher: bool) -> float:
        return (e / v if higher else v / e) if (v if higher else e) else float("inf")

    for key, label, higher in FIGURES:
        e, v, b = _num(get(emb, key)), _num(get(srv, key)), _num(get(baseline, key))
        if e is None or v is None:
            continue
        slow = slowdown(e, v, higher)
        bare = slowdown(e, b, higher) if b is not None else None
        verdict = "ok" if slow <= SERVER_SLOWDOWN_MAX else "OVER"
        f = key[2:].split(".")[0] if key.startswith("q_") else ""
        if verdict == "OVER" and key.endswith("p50_ms") and near_bare.get(f):
            verdict = f"HTTP-bound (within {HTTP_OVERHEAD_MAX_MS:g} ms of bare)"
        elif verdict == "OVER" and bare is not None and bare > SERVER_SLOWDOWN_MAX:
            verdict = "OVER; round-trip-bound (bare alone > 2)"
        lines.append(
            f"| {label} {'↑' if higher else '↓'} | {fmt(e)} | {fmt(v)} | {fmt(b)} | {slow:.2f} "
            f"| {'-' if bare is None else f'{bare:.2f}'} | {verdict} |"
        )
    return "\n".join(lines)


def run_one(system: str, args: argparse.Namespace, out_dir: Path) -> dict:
    out = out_dir / f".{system}.part.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", system, "--out", str(out)]
    cmd += ["--dataset", args.dataset, "--queries", str(args.queries), "--batch", str(args.batch)]
    cmd += ["--phase-budget", str(args.phase_budget)]
    if args.subset:
        cmd += ["--subset", str(args.subset)]
    if args.workdir:
        cmd += ["--workdir", args.workdir]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        log_text, _ = proc.communicate(timeout=args.timeout)
        status = None
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        log_text, _ = proc.communicate()
        status = "timeout"
    res = json.loads(out.read_text()) if out.exists() else {"system": system}
    out.unlink(missing_ok=True)
    if status:
        res["status"] = "timeout"
    elif res.get("status") == "running" or "status" not in res:
        res["status"] = f"worker died (rc {proc.returncode})"
    res["wall_s"] = round(time.perf_counter() - t0, 1)
    res["log_tail"] = (log_text or "")[-2000:]
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description="spruce vs peers: the same workload on each system")
    ap.add_argument("--dataset", choices=["real", "clustered"], default="real")
    ap.add_argument("--systems", default=",".join(ALL_SYSTEMS))
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--subset", type=int, default=0, help="use the first N base vectors (0 = all)")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per system")
    ap.add_argument("--phase-budget", type=float, default=30, help="seconds per query phase")
    ap.add_argument("--workdir", default=None, help="where the stores are created (default: $TMPDIR)")
    ap.add_argument(
        "--report",
        nargs="+",
        metavar="JSON",
        help="print one table from earlier results files (later files win per system)",
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    if args.report:
        merged: dict[str, dict] = {}
        baseline: dict = {}
        for f in args.report:
            doc = json.loads(Path(f).read_text())
            print(f"from {f}: {doc['command']}")
            for name, r in doc["results"].items():
                merged.pop(name, None)
                merged[name] = r
            if "http_baseline" in doc:
                baseline = doc["http_baseline"]
        order = [s for s in ALL_SYSTEMS if s in merged]
        print()
        print(table({s: merged[s] for s in order}))
        if "spruce-server" in merged and baseline:
            print("\n" + server_table(merged, baseline))
        return

    command = shlex.join([os.path.relpath(sys.executable), os.path.relpath(__file__), *sys.argv[1:]])
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    for s in systems:
        if s not in ALL_SYSTEMS:
            ap.error(f"unknown system {s}; choose from {','.join(ALL_SYSTEMS)}")
    try:
        rev = subprocess.run(
            ["git", "-C", str(HERE), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = "?"
    header = (
        f"command: {command}\n"
        f"spruce source: {rev}\n"
        f"machine: {platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}, "
        f"load average at start {os.getloadavg()[0]:.1f}\n"
        f"started: {time.strftime('%Y-%m-%d %H:%M:%S')}"
    )
    print(header, flush=True)
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    results: dict[str, dict] = {}
    for s in systems:
        print(f"[{time.strftime('%H:%M:%S')}] {s} ...", flush=True)
        results[s] = run_one(s, args, out_dir)
        r = results[s]
        print(
            f"[{time.strftime('%H:%M:%S')}] {s}: {r['status']} in {r['wall_s']} s "
            f"(load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
        if r["status"] != "ok":
            print("  " + (r.get("traceback") or r.get("log_tail") or "")[-1500:].replace("\n", "\n  "))
    baseline: dict = {}
    if "spruce-server" in results:
        print(f"[{time.strftime('%H:%M:%S')}] {BASELINE} (do-nothing server, same SDK calls) ...", flush=True)
        baseline = run_one(BASELINE, args, out_dir)
        print(
            f"[{time.strftime('%H:%M:%S')}] {BASELINE}: {baseline['status']} (load {os.getloadavg()[0]:.1f})"
        )
        if baseline["status"] != "ok":
            print("  " + (baseline.get("traceback") or baseline.get("log_tail") or "")[-1500:])
    n = next((r["n"] for r in results.values() if "n" in r), "?")
    q = next((r["queries"] for r in results.values() if "queries" in r), "?")
    print(f"\n## {args.dataset}: {n} vectors, {q} queries, top-10, single client\n")
    print(table(results))
    if baseline:
        print(f"\n### spruce-server vs embedded and vs a bare HTTP server ({BASELINE}), same run\n")
        print(server_table(results, baseline))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = out_dir / f"suite_{args.dataset}_{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "command": command,
                "header": header,
                "args": vars(args),
                "results": results,
                **({"http_baseline": baseline} if baseline else {}),
            },
            indent=1,
            default=str,
        )
    )
    print(f"\nresults: {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
