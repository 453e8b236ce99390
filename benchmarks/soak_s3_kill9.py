"""The multi-process kill -9 soak on a bucket (issue 15), for as long as asked: 3 ``spruce serve`` processes
on one store in a real SeaweedFS on loopback, 4 clients upserting through random processes, and every
``--period`` seconds a random process killed with SIGKILL and replaced (every other time by a brand-new
process with an empty cache). At the end every process must serve every acknowledged write.

Run: ``.venv/bin/python benchmarks/soak_s3_kill9.py --cycles 200`` (about 1 s per cycle plus restarts).
``tests/integration/test_s3_shared.py`` runs the same soak (``tests/support/s3_cluster.py``) for 20 cycles.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
from s3_cluster import Cluster, kill9_soak  # noqa: E402
from seaweed import SeaweedFS  # noqa: E402
from spruce_server_proc import make_index  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cycles", type=int, default=200)
    ap.add_argument("--period", type=float, default=1.0, help="seconds between kills")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    print("command: python benchmarks/soak_s3_kill9.py " + " ".join(sys.argv[1:]))
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    print(f"spruce git {rev.stdout.strip()}; {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="soak-s3-") as tmp:
        weed = SeaweedFS(Path(tmp) / "weed").start()
        c = Cluster(Path(tmp), weed.env(), f"s3://{weed.bucket()}/soak", 3, ["--flush-rows", "300"]).start()
        try:
            with c.http(0) as http:
                make_index(http, "ix", 4, "euclidean")
            started = time.monotonic()
            report = kill9_soak(
                c, "ix", args.cycles, clients=args.clients, period=args.period, seed=args.seed
            )
            took = time.monotonic() - started
        finally:
            logs = c.stop()
            weed.stop()
    tracebacks = logs.count("Traceback")
    print(
        f"cycles: {report.cycles} in {took:.0f} s; acknowledged records: {len(report.acked)}; retryable "
        f"refusals (503 or a killed process): {report.retried}"
    )
    print(f"failures (answers a client must never get): {len(report.failures)} {report.failures[:3]}")
    print(f"acknowledged but missing, per process at the end: {report.missing}")
    print(f"totalVectorCount per process: {report.counts}; server tracebacks: {tracebacks}")
    ok = not report.failures and not any(report.missing.values()) and not tracebacks
    print("result: " + ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
