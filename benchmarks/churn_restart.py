"""Progress under churn at scale: issue 14's "a server restarted every 30 s while writes continue still
reaches fully indexed", in the setting where it first failed (763,000 records of 64 dimensions, default
tuning, SIGTERM every 30 s).

One ``spruce serve`` on a fresh store, default settings. A writer upserts ``--rows`` random records with
the official SDK (REST, batches of 1,000) as fast as the server takes them, across the restarts. Every
``--cycle`` seconds the server gets SIGTERM; the script times its exit (the issue's bound: 5 s) and the
next life's start to ``GET /ready`` = 200, then writes on. Once every record is written the restarts go
on until ``describe_index_stats`` says nothing is unindexed. At the end the record count must equal what
was written, and a sample of records is fetched and compared.

Run (about 15 minutes on two cores):

    .venv/bin/python benchmarks/churn_restart.py --rows 763000 --cycle 30

Prints the command, the machine, one line per life and a summary.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from soak_kill9 import CLASSIC_API, Pinecone, Server, ServerlessSpec

INDEX = "churn"
BATCH = 1_000


class Writer(threading.Thread):
    """Upserts ``rows`` records in order, retrying a batch across a restart (an upsert is idempotent)."""

    def __init__(self, server: Server, rows: int, dim: int) -> None:
        super().__init__(daemon=True)
        self.server, self.rows, self.dim = server, rows, dim
        self.written = 0  # acknowledged
        self.paused = threading.Event()  # set while the server restarts
        self.stopped = False

    def vectors(self, start: int, n: int) -> np.ndarray:
        return np.random.default_rng(start).normal(size=(n, self.dim)).astype(np.float32)

    def run(self) -> None:
        while self.written < self.rows and not self.stopped:
            while self.paused.is_set() and not self.stopped:
                time.sleep(0.01)
            start, n = self.written, min(BATCH, self.rows - self.written)
            vecs = self.vectors(start, n)
            batch = [(f"r{start + i}", vecs[i].tolist()) for i in range(n)]
            try:
                index = Pinecone(api_key="churn", host=self.server.url).Index(name=INDEX)
                index.upsert(vectors=batch)
            except Exception:  # the server went away mid-request: the batch is sent again
                time.sleep(0.05)
                continue
            self.written += n


def _stats(url: str) -> tuple[int, int]:
    """Records stored and unindexed, from the raw body: the SDK's struct drops ``unindexedRecordCount``."""
    with httpx.Client(base_url=url, headers=CLASSIC_API, timeout=30.0) as http:
        body = http.post(f"/index/{INDEX}/describe_index_stats", json={}).json()
    return int(body["totalVectorCount"]), int(body["unindexedRecordCount"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=763_000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--cycle", type=float, default=30.0, help="seconds between SIGTERMs (default: 30)")
    p.add_argument("--max-lives", type=int, default=200)
    p.add_argument("--data", type=Path, default=None, help="a fresh directory (default: a temporary one)")
    args = p.parse_args(argv)
    print("$ " + " ".join([Path(sys.executable).name, *sys.argv]))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    work = Path(tempfile.mkdtemp(prefix="spruce-churn-")) if args.data is None else args.data
    shutil.rmtree(work / "store", ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    server = Server(work / "store", work / "server.log", [])
    server.wait_ready(server.spawn(), 60)
    pc = Pinecone(api_key="churn", host=server.url)
    pc.create_index(INDEX, dimension=args.dim, metric="cosine", spec=ServerlessSpec(cloud="aws", region="x"))
    writer = Writer(server, args.rows, args.dim)
    writer.start()
    began = time.monotonic()
    exits: list[float] = []
    readies: list[float] = []
    codes: list[int] = []
    unindexed = -1
    try:
        for life in range(1, args.max_lives + 1):
            time.sleep(args.cycle)
            total, unindexed = _stats(server.url)
            written = writer.written
            print(
                f"life {life:3d} at {time.monotonic() - began:6.0f} s: {written:7d} written, "
                f"{total:7d} stored, {unindexed:7d} unindexed",
                flush=True,
            )
            if written == args.rows and unindexed == 0:
                break
            writer.paused.set()
            t = time.monotonic()
            codes.append(server.terminate(timeout=60))
            exits.append(time.monotonic() - t)
            readies.append(server.wait_ready(server.spawn(), 60))
            writer.paused.clear()
        writer.stopped = True
        writer.join()
        total, unindexed = _stats(server.url)
        index = Pinecone(api_key="churn", host=server.url).Index(name=INDEX)
        sample = np.random.default_rng(7).choice(args.rows, size=200, replace=False)
        got = index.fetch(ids=[f"r{i}" for i in sample]).vectors
        wrong = sum(
            1
            for i in sample
            if f"r{i}" not in got
            or not np.allclose(
                got[f"r{i}"].values, writer.vectors(int(i) // BATCH * BATCH, BATCH)[int(i) % BATCH]
            )
        )
    finally:
        writer.stopped = True
        server.terminate()
    took = time.monotonic() - began
    print(
        f"\n{len(exits)} restarts (SIGTERM every {args.cycle:.0f} s) over {took:.0f} s; "
        f"{'fully indexed' if unindexed == 0 else f'{unindexed} still unindexed'}"
    )
    print(f"records: {args.rows} written, {total} stored, {wrong} of 200 sampled wrong or missing")
    if exits:
        print(
            f"SIGTERM to exit: median {statistics.median(exits):.2f} s, max {max(exits):.2f} s; "
            f"exit codes {sorted(set(codes))}"
        )
        print(f"spawn to /ready: median {statistics.median(readies):.2f} s, max {max(readies):.2f} s")
    tracebacks = sum(1 for line in (work / "server.log").read_text().splitlines() if "Traceback" in line)
    print(f"tracebacks in the server log: {tracebacks}")
    ok = unindexed == 0 and total == args.rows and wrong == 0 and tracebacks == 0 and max(exits or [0]) < 5
    if args.data is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
