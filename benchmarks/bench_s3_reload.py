"""What a follower pays to adopt a manifest (issue 15): ``IndexState.reload`` re-opens the index from the
cache (segments parsed again, graphs read, the log above the manifest replayed) and swaps the result in.

Builds ``--rows`` x 384 clustered records, fully indexed, on a bucket of a real SeaweedFS on loopback
(embedded), adds ``--log`` records to the log above the manifest, and times ``reload`` a few times.

Run: ``.venv/bin/python benchmarks/bench_s3_reload.py --rows 50000`` (about 2 minutes at 50,000).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_server import clustered  # noqa: E402
from seaweed import SeaweedFS  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--log", type=int, default=5_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print("command: python benchmarks/bench_s3_reload.py " + " ".join(sys.argv[1:]))
    with tempfile.TemporaryDirectory(prefix="bench-reload-") as tmp:
        weed = SeaweedFS(Path(tmp) / "weed").start()
        os.environ.update(weed.env())
        from spruce.engine.database import Database
        from spruce.storage.s3store import S3Store

        db = Database(S3Store(f"s3://{weed.bucket()}/r", cache_dir=Path(tmp) / "cache"))
        try:
            db.create_index("ix", dimension=384, metric="cosine")
            ix = db.index("ix")
            x, meta = clustered(args.rows, 384, seed=1)
            for s in range(0, args.rows, 1000):
                ix.upsert([(f"r{i}", x[i], meta[i]) for i in range(s, min(args.rows, s + 1000))])
            ix.flush()
            ix.compact()
            while ix.describe_index_stats().unindexed_records:
                time.sleep(0.5)
            for s in range(0, args.log, 1000):
                ix.upsert([(f"t{i}", x[i], meta[i]) for i in range(s, min(args.log, s + 1000))])
            took = []
            for _ in range(args.runs):
                t = time.perf_counter()
                ix._st.reload()
                took.append(time.perf_counter() - t)
            print(
                f"reload of {args.rows} indexed rows + {args.log} in the log: "
                + ", ".join(f"{s:.3f}" for s in took)
                + " s"
            )
        finally:
            db.close()
            weed.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
