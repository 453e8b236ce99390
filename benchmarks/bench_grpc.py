"""gRPC against REST through the official SDK 10.x, on one ``spruce serve`` process (issue 12).

The same records and queries go through ``pc.index(name=..., grpc=True)`` (h2c on the index's own port)
and through ``pc.index(name=...)`` (REST, JSON over HTTP/1.1, same port), one client, sequential calls, as
a user would see them (the SDK's request building and response parsing are part of the figure). Printed:

* upsert records/s for batches of 100 and 1000 (``--dim`` floats plus three metadata fields each; the
  server runs with ``--max-body-bytes 64 MiB`` because 1000 x 384 floats in JSON exceed Pinecone's 2 MB,
  while the same batch is 1.6 MB as protobuf);
* query p50/p99 top_k 10 (ids and scores), top_k 10 with a ~20 % metadata filter and metadata returned,
  and fetch of 10 ids with values, on the index the 1000-batch run loaded, once its graph is built;
* each figure the median of ``--rounds`` (default 5) rounds, REST and gRPC alternating;
* each figure's gRPC/REST ratio (upsert: higher is better; latencies: lower is better).

Usage::

    .venv/bin/python benchmarks/bench_grpc.py [--records 20000] [--queries 1000] [--dim 384]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
import warnings
from typing import Any

import httpx
import numpy as np
from bench_server import GENRES, clustered, latencies, spruce_server

warnings.simplefilter("ignore")

from pinecone import Pinecone  # noqa: E402

SPEC = {"serverless": {"cloud": "aws", "region": "us-east-1"}}
TRANSPORTS = ("rest", "grpc")


def handle(pc: Pinecone, name: str, transport: str) -> Any:
    return pc.index(name=name, grpc=transport == "grpc")


def upsert_rate(
    pc: Pinecone, transport: str, rows: list[dict[str, Any]], dim: int, batch: int, tag: str
) -> tuple[str, float]:
    """records/s of sequential upserts of ``batch`` records into a fresh index; the index's name."""
    name = f"{transport}-{batch}-{tag}"
    pc.create_index(name=name, dimension=dim, metric="cosine", spec=SPEC)
    idx = handle(pc, name, transport)
    idx.upsert(vectors=rows[:batch], namespace="warmup")
    t0 = time.perf_counter()
    for start in range(0, len(rows), batch):
        idx.upsert(vectors=rows[start : start + batch])
    rate = len(rows) / (time.perf_counter() - t0)
    assert idx.describe_index_stats().namespaces[""].vector_count == len(rows)
    return name, rate


def settle(pc: Pinecone, names: list[str], timeout: float = 600) -> None:
    """Wait until the indexes' graphs are built (spruce's ``unindexedRecordCount``, REST only), so that
    the read figures are not taken while compaction runs beside them."""
    deadline = time.monotonic() + timeout
    for name in names:
        host = pc.describe_index(name).host
        while time.monotonic() < deadline:
            stats = httpx.post(f"{host}/describe_index_stats", json={}, headers={"Api-Key": "bench"}).json()
            if not stats.get("unindexedRecordCount"):
                break
            time.sleep(1)


def read_figures(
    idx: Any, queries: list[list[float]], fetch_ids: list[list[str]], n: int
) -> dict[str, float]:
    """p50 and p99 (ms) of the three reads, each call with the next query or id list."""
    it = iter(range(10**9))

    def query() -> None:
        idx.query(vector=queries[next(it) % len(queries)], top_k=10)

    def filtered() -> None:
        idx.query(
            vector=queries[next(it) % len(queries)],
            top_k=10,
            filter={"genre": {"$eq": GENRES[0]}},
            include_metadata=True,
        )

    def fetch() -> None:
        idx.fetch(ids=fetch_ids[next(it) % len(fetch_ids)])

    out: dict[str, float] = {}
    for label, fn in (("query top10", query), ("query top10 filter+metadata", filtered), ("fetch 10", fetch)):
        out[f"{label} p50 ms"], out[f"{label} p99 ms"] = latencies(fn, n)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=20_000, help="records per upsert run (default 20000)")
    parser.add_argument("--queries", type=int, default=1_000, help="calls per latency figure (default 1000)")
    parser.add_argument("--dim", type=int, default=384, help="vector dimension (default 384)")
    parser.add_argument("--rounds", type=int, default=5, help="runs per figure, medians printed (default 5)")
    args = parser.parse_args()
    print("command:", shlex.join([os.path.relpath(sys.executable), *sys.argv]))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")

    x, meta = clustered(args.records, args.dim, seed=args.dim)
    rows = [{"id": f"r{i}", "values": x[i].tolist(), "metadata": meta[i]} for i in range(args.records)]
    rng = np.random.default_rng(1)
    queries = [x[int(i)].tolist() for i in rng.integers(0, args.records, size=args.queries)]
    fetch_ids = [[f"r{int(i)}" for i in rng.integers(0, args.records, size=10)] for _ in range(args.queries)]

    # every figure is the median of --rounds runs, REST and gRPC alternating, so that drift of the
    # machine (other load, caches, background compaction) falls on both alike
    runs: dict[str, dict[str, list[float]]] = {t: {} for t in TRANSPORTS}
    with tempfile.TemporaryDirectory() as data, spruce_server(data) as url:
        pc = Pinecone(api_key="bench", host=url, grpc_scheme="http")
        for r in range(args.rounds):
            for batch in (100, 1000):
                for transport in TRANSPORTS:
                    name, rate = upsert_rate(pc, transport, rows, args.dim, batch, f"{r}")
                    runs[transport].setdefault(f"upsert rec/s, batch {batch}", []).append(rate)
                    if batch == 100 or r < args.rounds - 1:
                        pc.delete_index(name)
        loaded = {t: f"{t}-1000-{args.rounds - 1}" for t in TRANSPORTS}
        settle(pc, list(loaded.values()))
        for _ in range(args.rounds):
            for transport in TRANSPORTS:
                idx = handle(pc, loaded[transport], transport)
                for key, value in read_figures(idx, queries, fetch_ids, args.queries).items():
                    runs[transport].setdefault(key, []).append(value)
    figures = {t: {key: statistics.median(v) for key, v in runs[t].items()} for t in TRANSPORTS}

    print(
        f"\n{args.records:,} records x {args.dim}, {args.queries:,} calls per latency figure, one client, "
        f"median of {args.rounds} alternating rounds"
    )
    print(f"{'figure':<40} {'REST':>10} {'gRPC':>10} {'gRPC/REST':>10}")
    for key in figures["rest"]:
        rest, grpc = figures["rest"][key], figures["grpc"][key]
        fmt = "{:>10,.0f}" if "rec/s" in key else "{:>10.3f}"
        print(f"{key:<40} {fmt.format(rest)} {fmt.format(grpc)} {grpc / rest:>10.2f}")


if __name__ == "__main__":
    main()
