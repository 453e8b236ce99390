"""Scale-out on a bucket (issue 15), next to local mode in the same run, against a real SeaweedFS on loopback.

Measures, with the official SDK against real ``spruce serve`` processes:

- upsert throughput, batches of 200 x 384 + metadata (``BATCH``: 1,000 would pass the 2 MB request
  limit): local mode, S3 mode with one process, S3 mode with two processes on one store (one client
  process per server);
- write acknowledgement p50/p99 (one record, and one batch of 200) next to the bare conditional PUT of
  an object of the same size on the same SeaweedFS, measured by this script;
- query p50 and QPS (top 10, 1 and 2 client processes) once the index is fully indexed and the cache
  warm: local mode, S3 mode with read-your-writes (a read barrier per read) and with ``--read-staleness
  1``, next to the barrier's probe alone (a GET of a missing object);
- cold start: a brand-new process with an empty cache on the store held only in the bucket: spawn to
  ready, and to the first query answered.

The data: 150,000 x 384 synthetic clustered unit vectors (``bench_server.clustered``) with metadata, or
with ``--dataset real`` the sentence embeddings of the suite (``datasets.py real`` builds their cache in
the bench venv once; this script only reads it) with their category and year, queried with the held-out
query texts' embeddings.

Run: ``.venv/bin/python benchmarks/bench_s3_scale.py [--dataset real]`` (about 10-15 minutes;
``--records`` to change the size). Nothing else should run meanwhile (2 cores).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_server import clustered  # noqa: E402
from seaweed import SeaweedFS  # noqa: E402
from spruce_server_proc import CLASSIC_API, ServerProcess, make_index  # noqa: E402

DIM = 384
# The issue asks for batches of 1,000 x 384, but such a body (about 8 MB of JSON: the SDK writes each float32
# with its float64 digits, about 20 characters) is over Pinecone's 2 MB request limit, which spruce enforces
# (413): 200 records (about 1.6 MB) is the largest round batch under it.
BATCH = 200


def _percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def _rows(x: np.ndarray, meta: list[dict[str, Any]], lo: int, hi: int, tag: str) -> list[dict[str, Any]]:
    return [{"id": f"{tag}{i}", "values": x[i].tolist(), "metadata": meta[i]} for i in range(lo, hi)]


CACHE = ROOT / "benchmarks" / ".cache"


def _records(dataset: str, n: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """The first ``n`` records of the data set: ``clustered`` (synthetic, made here) or ``real`` (the
    sentence embeddings ``datasets.py real`` caches, with their category and year as metadata)."""
    if dataset == "clustered":
        return clustered(n, DIM, seed=3)
    x = np.load(CACHE / "real_base.npy", mmap_mode="r")[:n]
    cat, year = np.load(CACHE / "real_category.npy"), np.load(CACHE / "real_year.npy")
    return np.round(np.asarray(x, dtype=np.float32), 6), [
        {"category": int(cat[i]), "year": int(year[i])} for i in range(len(x))
    ]


def _queries(dataset: str, seed: int) -> np.ndarray:
    """256 query vectors, different for each client (``seed``)."""
    if dataset == "clustered":
        return np.random.default_rng(seed).normal(size=(256, DIM)).astype(np.float32)
    held_out = np.load(CACHE / "real_queries.npy")  # (1,000 texts never in the base)
    return np.roll(held_out, -256 * seed, axis=0)[:256]


def _upsert_client(url: str, index: str, records: int, part: int, parts: int, dataset: str, out: Any) -> None:
    """One client process: its share of the records, in batches of ``BATCH``, through the SDK."""
    from pinecone import Pinecone

    x, meta = _records(dataset, records)
    idx = Pinecone(api_key="k", host=url).Index(name=index)
    mine = range(part * BATCH, records, parts * BATCH)
    batches = [_rows(x, meta, s, min(s + BATCH, records), "r") for s in mine]
    out.put(("ready", part))
    t0 = time.perf_counter()
    for rows in batches:
        idx.upsert(vectors=rows)
    out.put(("done", time.perf_counter() - t0))


def upsert_rate(urls: list[str], index: str, records: int, dataset: str) -> float:
    """records/s, all clients together, from the first client's start to the last one's end."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [
        ctx.Process(target=_upsert_client, args=(u, index, records, i, len(urls), dataset, q))
        for i, u in enumerate(urls)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        assert q.get(timeout=300)[0] == "ready"
    t0 = time.perf_counter()
    took = [q.get(timeout=1800)[1] for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    return records / max(wall, max(took))


def _query_client(url: str, index: str, seconds: float, seed: int, dataset: str, out: Any) -> None:
    from pinecone import Pinecone

    idx = Pinecone(api_key="k", host=url).Index(name=index)
    qs = _queries(dataset, seed)
    for q in qs[:20]:
        idx.query(vector=q.tolist(), top_k=10)
    lat: list[float] = []
    end = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < end:
        t = time.perf_counter()
        idx.query(vector=qs[i % len(qs)].tolist(), top_k=10)
        lat.append(time.perf_counter() - t)
        i += 1
    out.put((lat, seconds))


def query_load(
    url: str, index: str, dataset: str, clients: int = 2, seconds: float = 20.0
) -> tuple[float, float, float]:
    """p50 and p99 (ms) and QPS of ``clients`` client processes querying back to back."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [
        ctx.Process(target=_query_client, args=(url, index, seconds, i, dataset, q)) for i in range(clients)
    ]
    for p in procs:
        p.start()
    got = [q.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    lat = [s for samples, _ in got for s in samples]
    p50, p99 = _percentiles(lat)
    return p50 * 1e3, p99 * 1e3, len(lat) / seconds


def ack_latency(
    url: str, index: str, n: int, rows: Callable[[int], list[dict[str, Any]]]
) -> tuple[float, float]:
    """p50/p99 (ms) of an upsert's acknowledgement over one keep-alive connection (pre-encoded bodies)."""
    bodies = [orjson.dumps({"vectors": rows(i), "namespace": "ack"}) for i in range(n + 10)]
    headers = {**CLASSIC_API, "Content-Type": "application/json"}
    lat = []
    with httpx.Client(base_url=f"{url}/index/{index}", headers=headers, timeout=60) as http:
        for i, body in enumerate(bodies):
            t = time.perf_counter()
            http.post("/vectors/upsert", content=body).raise_for_status()
            if i >= 10:
                lat.append(time.perf_counter() - t)
    p50, p99 = _percentiles(lat)
    return p50 * 1e3, p99 * 1e3


def _bare_store(weed: SeaweedFS, bucket: str) -> Any:
    """An obstore client of the bucket, configured as spruce's store configures its own."""
    from obstore.store import S3Store

    env = weed.env()
    return S3Store(
        bucket,
        config={
            "endpoint": env["AWS_ENDPOINT_URL"],
            "access_key_id": env["AWS_ACCESS_KEY_ID"],
            "secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
            "region": "us-east-1",
        },
        client_options={"allow_http": True},
    )


def bare_put(weed: SeaweedFS, bucket: str, size: int, n: int) -> tuple[float, float]:
    """p50/p99 (ms) of one conditional PUT (``If-None-Match: *``, what a log entry's commit is) of ``size``
    bytes with obstore, the client the store uses."""
    import obstore

    store = _bare_store(weed, bucket)
    run = os.urandom(4).hex()  # (a second call in one bucket must not find its names taken)
    body = os.urandom(size)
    lat = []
    for i in range(n + 10):
        t = time.perf_counter()
        obstore.put(store, f"bare/{run}/{size}/{i}", body, mode="create")
        if i >= 10:
            lat.append(time.perf_counter() - t)
    p50, p99 = _percentiles(lat)
    return p50 * 1e3, p99 * 1e3


def bare_probe(weed: SeaweedFS, bucket: str, n: int) -> tuple[float, float]:
    """p50/p99 (ms) of the read barrier's probe alone: a GET of an object that does not exist (the next
    log entry, when nothing is new), with obstore from one thread, as the barrier makes it."""
    import obstore

    store = _bare_store(weed, bucket)
    lat = []
    for i in range(n + 10):
        t = time.perf_counter()
        with contextlib.suppress(FileNotFoundError):
            obstore.get(store, f"bare/missing/{i}").bytes()
        if i >= 10:
            lat.append(time.perf_counter() - t)
    p50, p99 = _percentiles(lat)
    return p50 * 1e3, p99 * 1e3


def wait_indexed(url: str, index: str, timeout: float = 1800) -> float:
    t0 = time.perf_counter()
    with httpx.Client(base_url=url, headers=CLASSIC_API, timeout=60) as http:
        while time.perf_counter() - t0 < timeout:
            stats = http.post(f"/index/{index}/describe_index_stats", json={}).json()
            if stats.get("unindexedRecordCount", 1) == 0:
                return time.perf_counter() - t0
            time.sleep(1)
    raise TimeoutError("never fully indexed")


def create(url: str, index: str) -> None:
    with httpx.Client(base_url=url, timeout=60) as http:
        make_index(http, index, DIM, "cosine")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=150_000)
    ap.add_argument("--acks", type=int, default=200)
    ap.add_argument(
        "--dataset",
        choices=("clustered", "real"),
        default="clustered",
        help="real: the 150,000 x 384 sentence embeddings cached by `datasets.py real` (bench venv)",
    )
    args = ap.parse_args()
    print("command: python benchmarks/bench_s3_scale.py " + " ".join(sys.argv[1:]))
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    print(
        f"spruce git {rev.stdout.strip()}; machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {args.records} x {DIM} {args.dataset} records + metadata"
    )
    x, meta = clustered(2 * BATCH, DIM, seed=5)
    one = lambda i: _rows(x, meta, i % BATCH, i % BATCH + 1, f"a{i}-")  # noqa: E731
    batch = lambda i: _rows(x, meta, 0, BATCH, f"b{i}-")  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as tmp:
        root = Path(tmp)
        weed = SeaweedFS(root / "weed").start()
        servers: list[ServerProcess] = []
        try:
            url = f"s3://{weed.bucket()}/bench"
            env = weed.env()

            def serve(where: str, extra: list[str] = ()) -> ServerProcess:  # type: ignore[assignment]
                name = f"p{len(servers)}"
                args_ = (
                    ["--store", where, "--cache", str(root / f"cache-{name}")]
                    if where.startswith("s3")
                    else []
                )
                proc = ServerProcess(root / name, [*args_, *extra], env=env).start(timeout=120)
                servers.append(proc)
                return proc

            # ---------------------------------------------------------------- acknowledgement latency
            print(
                "\nwrite acknowledgement (one keep-alive connection, pre-encoded bodies), and the bare "
                "conditional PUT of the same SeaweedFS"
            )
            local = serve("local")
            create(local.url, "ack")
            s3 = serve(url)
            create(s3.url, "ack")
            for label, rows, n in (("1 record", one, args.acks), (f"{BATCH} records", batch, args.acks // 4)):
                lp50, lp99 = ack_latency(local.url, "ack", n, rows)
                sp50, sp99 = ack_latency(s3.url, "ack", n, rows)
                # about the size of the write's log entry (float32 rows, ids, packed metadata)
                size = (BATCH if rows is batch else 1) * (DIM * 4 + 80)
                bp50, bp99 = bare_put(weed, url.removeprefix("s3://").split("/")[0], size, n)
                print(
                    f"  {label:13s} local p50 {lp50:6.2f} ms p99 {lp99:6.2f} | S3 p50 {sp50:6.2f} ms "
                    f"p99 {sp99:6.2f} | bare PUT of {size / 1024:7.1f} KiB p50 {bp50:6.2f} ms p99 {bp99:6.2f}"
                    f" | S3 ack / PUT at p50: {sp50 / bp50:4.2f}x"
                )
            for p in servers:
                p.stop()
            servers.clear()

            # ---------------------------------------------------------------- upsert throughput
            print(
                f"\nSDK upsert, batches of {BATCH} x {DIM} + metadata, {args.records} records, one client "
                "process per server"
            )
            rates = {}
            local = serve("local")
            create(local.url, "big")
            # each run starts with no background work left from the one before (a graph build of 150,000
            # rows takes minutes of both cores, and would be measured as the next run's slowness)
            rates["local, 1 process"] = upsert_rate([local.url], "big", args.records, args.dataset)
            print(f"  (local fully indexed {wait_indexed(local.url, 'big'):.0f} s later)")
            a = serve(url)
            create(a.url, "big")
            rates["S3, 1 process"] = upsert_rate([a.url], "big", args.records, args.dataset)
            print(f"  (S3 fully indexed {wait_indexed(a.url, 'big'):.0f} s later)")
            create(a.url, "two")
            b = serve(url)
            rates["S3, 2 processes on one store"] = upsert_rate(
                [a.url, b.url], "two", args.records, args.dataset
            )
            for label, rate in rates.items():
                print(
                    f"  {label:30s} {rate:8.0f} records/s  ({rate / rates['local, 1 process']:.0%} of local)"
                )

            # ---------------------------------------------------------------- queries
            print(
                "\nqueries, top 10, after fully indexed and a warm cache, no background "
                "work left anywhere (the index of the 2-process run is deleted first)"
            )
            with httpx.Client(base_url=a.url, headers=CLASSIC_API, timeout=60) as http:
                assert http.delete("/indexes/two").status_code == 202
            took = wait_indexed(local.url, "big")
            print(f"  local fully indexed after {took:.0f} s more")
            took = wait_indexed(a.url, "big")
            print(f"  S3 fully indexed after {took:.0f} s more")
            b.stop()
            servers.remove(b)
            fresh = serve(url)  # (a follower that adopted the holder's graphs)
            stale = serve(url, ["--read-staleness", "1"])
            for clients in (1, 2):
                print(f"  {clients} client process{'es' if clients > 1 else ''}:")
                for label, u in (
                    ("local", local.url),
                    ("S3, read-your-writes", a.url),
                    ("S3, follower", fresh.url),
                    ("S3, --read-staleness 1", stale.url),
                ):
                    p50, p99, qps = query_load(u, "big", args.dataset, clients=clients)
                    print(f"    {label:32s} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  {qps:7.0f} QPS")
            p50, p99 = bare_probe(weed, url.removeprefix("s3://").split("/")[0], 1000)
            print(f"  the probe alone (GET of a missing object, obstore): p50 {p50:.2f} ms  p99 {p99:.2f} ms")

            # ---------------------------------------------------------------- cold start
            print("\ncold start of a brand-new process, empty cache, the index only in the bucket")
            for p in list(servers):
                p.stop()
            servers.clear()
            from pinecone import Pinecone

            for attempt in range(3):
                t0 = time.perf_counter()
                cold = serve(url)
                ready = time.perf_counter() - t0
                idx = Pinecone(api_key="k", host=cold.url).Index(name="big")
                hits = idx.query(vector=x[0].tolist(), top_k=10).matches
                first = time.perf_counter() - t0
                assert len(hits) == 10
                print(
                    f"  run {attempt + 1}: spawn to ready {ready:5.2f} s, to the first query answered "
                    f"{first:5.2f} s"
                )
                cold.stop()
                servers.remove(cold)
        finally:
            for p in servers:
                p.stop()
            weed.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
