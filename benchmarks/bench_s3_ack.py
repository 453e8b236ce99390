"""Where a write's acknowledgement time goes on a bucket: the bare conditional PUT of a log entry's size,
and an embedded 1-record upsert (validate, encode, the PUT, apply) on the same SeaweedFS, in one process,
and on a local directory (its fsync in place of the PUT).
Next to ``bench_s3_scale.py``'s acknowledgement through the server, the difference is the server's own
per-request cost (HTTP, JSON, the worker pool), the same in local mode.

Run: ``.venv/bin/python benchmarks/bench_s3_ack.py [--n 400]`` (under a minute).
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
    args = ap.parse_args()
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


if __name__ == "__main__":
    raise SystemExit(main())
