"""Server benchmark: upsert throughput and query latency through the official ``pinecone`` SDK.

Starts ``spruce serve`` on a temporary data directory and a free loopback port, generates a *clustered*
data set (a Gaussian mixture of 64 centres, unit-normalised, with metadata), and prints:

* upsert records/s for batches of 100 and 1000 at dimension 384 and 1536 (one client, sequential calls:
  the SDK's own request building is part of what is measured, as a user would see it);
* query latency p50/p99 for top_k 10 without and with a metadata filter (~10 % selective);
* an empty-namespace query p50: the per-request overhead of HTTP + decoding + encoding, through the SDK
  and through a bare keep-alive HTTP client.

Upserts of 1000 x 1536 floats are far above Pinecone's 2 MB request cap, so the server under test is
started with ``--max-body-bytes 64 MiB``. Usage::

    .venv/bin/python benchmarks/bench_server.py [--records N] [--queries N]
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import numpy as np
import orjson

warnings.simplefilter("ignore")

from pinecone import Pinecone, ServerlessSpec  # noqa: E402

GENRES = ["drama", "comedy", "documentary", "thriller", "animation"]
READY = "spruce listening on "
JSON_HEADERS = {"Content-Type": "application/json", "Api-Key": "bench"}


@contextmanager
def spruce_server(data_dir: str) -> Iterator[str]:
    cmd = [sys.executable, "-m", "spruce.cli", "serve", "--data", data_dir, "--port", "0"]
    cmd += ["--max-body-bytes", str(64 * 1024 * 1024), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        if not line.startswith(READY):
            raise RuntimeError(f"server did not start: {line}{proc.stderr.read()}")
        yield line[len(READY) :].strip()
    finally:
        proc.terminate()
        proc.wait(60)


def clustered(n: int, dim: int, seed: int, centres: int = 64) -> tuple[np.ndarray, list[dict[str, object]]]:
    """A Gaussian mixture: ``centres`` random unit centres, points = centre + noise, re-normalised."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, dim)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    assign = rng.integers(0, centres, size=n)
    x = c[assign] + rng.normal(scale=0.35 / np.sqrt(dim) * 4, size=(n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    meta = [
        {"cluster": int(a), "genre": GENRES[int(rng.integers(0, 5))], "year": int(rng.integers(1990, 2025))}
        for a in assign
    ]
    return np.round(x, 6), meta


def bench_upsert(pc: Pinecone, url: str, dim: int, batch: int, records: int) -> tuple[float, float]:
    """records/s through the SDK, and with pre-encoded bodies over one raw keep-alive connection."""
    name = f"up-{dim}-{batch}"
    pc.create_index(
        name=name, dimension=dim, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1")
    )
    idx = pc.Index(name=name)
    x, meta = clustered(records, dim, seed=dim + batch)
    rows = [{"id": f"r{i}", "values": x[i].tolist(), "metadata": meta[i]} for i in range(records)]
    idx.upsert(vectors=rows[:batch], namespace="warmup")
    t0 = time.perf_counter()
    for start in range(0, records, batch):
        idx.upsert(vectors=rows[start : start + batch])
    sdk = records / (time.perf_counter() - t0)
    assert idx.describe_index_stats().namespaces[""].vector_count == records
    bodies = [
        orjson.dumps({"vectors": rows[start : start + batch], "namespace": "raw"})
        for start in range(0, records, batch)
    ]
    with httpx.Client(base_url=f"{url}/index/{name}", headers=JSON_HEADERS, timeout=120) as raw:
        t0 = time.perf_counter()
        for body in bodies:
            raw.post("/vectors/upsert", content=body).raise_for_status()
        wire = records / (time.perf_counter() - t0)
    pc.delete_index(name)
    return sdk, wire


def latencies(fn: Callable[[], object], n: int) -> tuple[float, float]:
    for _ in range(min(20, n)):
        fn()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=20_000, help="records per upsert run and query index")
    parser.add_argument("--queries", type=int, default=1_000, help="queries per latency figure")
    args = parser.parse_args()
    print("command:", shlex.join([os.path.relpath(sys.executable), *sys.argv]))
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp, spruce_server(tmp) as url:
        pc = Pinecone(api_key="bench", host=url)
        print("\nupsert (one client, sequential, clustered data with 3 metadata fields)")
        for dim in (384, 1536):
            for batch in (100, 1000):
                records = args.records if dim == 384 else args.records // 2
                sdk, wire = bench_upsert(pc, url, dim, batch, records)
                print(
                    f"  dim {dim:5d}  batch {batch:5d}  {records:6d} records  {sdk:8,.0f} records/s via SDK"
                    f"  ({wire:8,.0f} records/s with pre-encoded bodies)"
                )

        dim = 384
        pc.create_index(
            name="q", dimension=dim, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1")
        )
        idx = pc.Index(name="q")
        x, meta = clustered(args.records, dim, seed=7)
        rows = [{"id": f"r{i}", "values": x[i].tolist(), "metadata": meta[i]} for i in range(args.records)]
        for start in range(0, len(rows), 500):
            idx.upsert(vectors=rows[start : start + 500])
        time.sleep(2)  # let the background flush of the fresh segment finish before timing reads
        queries, _ = clustered(args.queries, dim, seed=8)
        qs = [q.tolist() for q in queries]
        it = iter(range(10**9))
        flt = {"genre": {"$eq": "drama"}, "year": {"$gte": 2012}}

        def q_plain() -> object:
            return idx.query(vector=qs[next(it) % len(qs)], top_k=10)

        def q_filtered() -> object:
            return idx.query(vector=qs[next(it) % len(qs)], top_k=10, filter=flt)

        def q_empty() -> object:
            return idx.query(vector=qs[0], top_k=10, namespace="empty")

        print(f"\nquery (top_k 10, dim {dim}, {args.records} records, {args.queries} queries each)")
        for label, fn in (("no filter", q_plain), ("filter ~10%", q_filtered), ("empty namespace", q_empty)):
            p50, p99 = latencies(fn, args.queries)
            print(f"  {label:16s} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   (pinecone SDK 10.2.0)")
        with httpx.Client(base_url=f"{url}/index/q", headers=JSON_HEADERS) as raw:
            body = orjson.dumps({"vector": qs[0], "topK": 10, "namespace": "empty"})
            p50, p99 = latencies(lambda: raw.post("/query", content=body).raise_for_status(), args.queries)
            print(
                f"  {'empty namespace':16s} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   (bare httpx keep-alive)"
            )


if __name__ == "__main__":
    main()
