"""Where a write's acknowledgement time goes on a bucket: the bare conditional PUT of a log entry's size,
and an embedded 1-record upsert (validate, encode, the PUT, apply) on the same SeaweedFS, in one process,
and on a local directory (its fsync in place of the PUT).
Next to ``bench_s3_scale.py``'s acknowledgement through the server, the difference is the server's own
per-request cost (HTTP, JSON, the worker pool), the same in local mode.

``--server``: instead, the acknowledgement through a local-mode and an S3-mode ``spruce serve`` (one
record, pre-encoded bodies, ``bench_s3_scale.ack_latency``) next to the bare PUT; with ``--pin``,
SeaweedFS and this script are pinned to one core and both servers to the other (``taskset``), to see
what their sharing 2 cores costs.

Run: ``.venv/bin/python benchmarks/bench_s3_ack.py [--n 400] [--server [--pin]]`` (a minute or two).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_s3_scale import DIM, bare_put  # noqa: E402
from seaweed import SeaweedFS  # noqa: E402


def _p50(fn: Callable[[int], object], n: int) -> float:
    lat = []
    for i in range(n + 20):
        t = time.perf_counter()
        fn(i)
        if i >= 20:
            lat.append(time.perf_counter() - t)
    return statistics.median(lat) * 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--server", action="store_true", help="through spruce serve, local and S3 mode")
    ap.add_argument(
        "--pin", action="store_true", help="with --server: SeaweedFS on one core, servers on the other"
    )
    args = ap.parse_args()
    if args.server:
        return through_servers(args.n, pin=args.pin)
    from spruce.engine.database import Database
    from spruce.storage.objectstore import LocalStore
    from spruce.storage.s3store import S3Store

    print("command: python benchmarks/bench_s3_ack.py " + " ".join(sys.argv[1:]))
    with tempfile.TemporaryDirectory(prefix="bench-s3-ack-") as tmp:
        weed = SeaweedFS(Path(tmp) / "weed").start()
        try:
            os.environ.update(weed.env())
            bucket = weed.bucket()
            db = Database(S3Store(f"s3://{bucket}/ack", cache_dir=Path(tmp) / "cache"))
            db.create_index("ix", dimension=DIM, metric="cosine")
            ix = db.index("ix")
            v = np.random.default_rng(1).normal(size=DIM).astype(np.float32)
            put50, _ = bare_put(weed, bucket, DIM * 4 + 80, args.n)
            up50 = _p50(lambda i: ix.upsert([(f"r{i}", v, {"n": i})]), args.n)
            db.close()
            local = Database(LocalStore(Path(tmp) / "local"))
            local.create_index("ix", dimension=DIM, metric="cosine")
            lx = local.index("ix")
            lo50 = _p50(lambda i: lx.upsert([(f"r{i}", v, {"n": i})]), args.n)
            local.close()
            print(f"bare conditional PUT of {DIM * 4 + 80} bytes   p50 {put50:.3f} ms")
            print(f"embedded upsert of 1 record        p50 {up50:.3f} ms ({up50 / put50:.2f}x the PUT)")
            print(f"the same on a local directory      p50 {lo50:.3f} ms (fsync'd)")
        finally:
            weed.stop()
    return 0


def through_servers(n: int, *, pin: bool) -> int:
    """The acknowledgement through ``spruce serve`` on a local directory and on the bucket."""
    import subprocess

    from bench_s3_scale import BATCH, _rows, ack_latency, create
    from bench_server import clustered
    from spruce_server_proc import ServerProcess

    x, meta = clustered(2 * BATCH, DIM, seed=5)
    print("command: python benchmarks/bench_s3_ack.py " + " ".join(sys.argv[1:]))
    with tempfile.TemporaryDirectory(prefix="bench-s3-ack-") as tmp:
        root = Path(tmp)
        weed = SeaweedFS(root / "weed").start()
        bucket = weed.bucket()
        env = weed.env()
        local = ServerProcess(root / "local", [], env=env).start(timeout=120)
        s3 = ServerProcess(
            root / "s3", ["--store", f"s3://{bucket}/ack", "--cache", str(root / "cache")], env=env
        ).start(timeout=120)
        try:
            if pin:
                found = subprocess.run(["pgrep", "-f", str(root / "weed")], capture_output=True, text=True)
                for pid in found.stdout.split():
                    subprocess.run(["taskset", "-a", "-p", "-c", "1", pid], capture_output=True, check=True)
                for proc in (local, s3):
                    assert proc.proc is not None
                    subprocess.run(
                        ["taskset", "-a", "-p", "-c", "0", str(proc.proc.pid)],
                        capture_output=True,
                        check=True,
                    )
                os.sched_setaffinity(0, {1})
            create(local.url, "ack")
            create(s3.url, "ack")
            for round_ in range(2):

                def rows(i: int, tag: str = f"r{round_}-") -> list[dict[str, object]]:
                    return _rows(x, meta, i % BATCH, i % BATCH + 1, f"{tag}{i}-")

                l50, _ = ack_latency(local.url, "ack", n, rows)
                s50, _ = ack_latency(s3.url, "ack", n, rows)
                b50, _ = bare_put(weed, bucket, DIM * 4 + 80, n)
                print(
                    f"{'pinned' if pin else 'unpinned'}, round {round_ + 1}: ack p50 local {l50:.2f} ms, "
                    f"S3 {s50:.2f} ms (S3 - local {s50 - l50:+.2f}); bare PUT {b50:.2f} ms; S3 / PUT "
                    f"{s50 / b50:.2f}x"
                )
        finally:
            local.stop()
            s3.stop()
            weed.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
