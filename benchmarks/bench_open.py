"""Open time of a large store: issue 14's "open < 2 s at 1M records whatever happened before".

What it measures, each in a fresh process (so nothing is cached in the interpreter; the OS page cache is
warm, as on a restart):

1. ``clean``: the store after a flush, fully indexed (one namespace, ``--rows`` records of ``--dim``
   random float32 values with a little metadata, graphs built): ``Database.open`` alone, and
   ``spruce serve`` from exec to ``GET /ready`` = 200 (imports included).
2. ``full log``: the same store with the unflushed log at its caps (``flush_log_bytes``, 64 MiB, and
   ``flush_log_records``, 250,000, ``engine.tuning``): a writer overwrites records with its background
   work stopped until one more batch would pass a cap, then exits with ``os._exit`` (as a kill -9 would
   leave it). A running server flushes at a cap, so this is the longest replay an open can meet.
   Measured the same two ways.
3. ``delete log``: the same with a log of deletes by id (1,000 per request) up to the caps: small in
   bytes, a lookup per id at replay.

Run (builds the store once in ``--data``, about 10 minutes for 1M x 64 on two cores; later runs reuse it):

    .venv/bin/python benchmarks/bench_open.py --rows 1000000 --dim 64 --data /var/tmp/spruce-open

Prints the command, the machine, and per case the median and max of ``--repeat`` opens.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

INDEX = "open"
BATCH = 10_000


def _build(data: Path, rows: int, dim: int) -> None:
    import spruce

    db = spruce.Client(path=data)
    if INDEX not in db.list_indexes().names():
        db.create_index(INDEX, dimension=dim, metric="cosine")
    idx = db.Index(INDEX)
    have = idx.describe_index_stats().total_vector_count
    rng = np.random.default_rng(0)
    started = time.monotonic()
    for start in range(have, rows, BATCH):
        n = min(BATCH, rows - start)
        vecs = rng.normal(size=(n, dim)).astype(np.float32)
        idx.upsert([(f"r{start + i}", vecs[i], {"g": (start + i) % 10}) for i in range(n)], batch_size=1000)
    print(f"  loaded {rows} rows in {time.monotonic() - started:.0f} s; indexing ...", flush=True)
    while (left := idx.describe_index_stats().unindexed_records) > 0:
        print(f"  {left} unindexed", flush=True)
        time.sleep(15)
    print(f"  fully indexed after {time.monotonic() - started:.0f} s", flush=True)
    db.close()


def _fill_log(data: Path, dim: int, rows: int, deletes: bool) -> str:
    """In a child: overwrite (or delete) records, background work stopped, until one more batch of 1,000
    would pass a cap."""
    code = f"""
import os, numpy as np, spruce
db = spruce.Client(path={str(data)!r})
idx = db.Index({INDEX!r}); eng = db.index({INDEX!r}); eng._maint.stop()
st = eng._st; cap_bytes, cap_records = st.tuning.flush_log_bytes, st.tuning.flush_log_records
rng = np.random.default_rng(1); start = 0; batch = 0
while st.unflushed_bytes + 2 * batch < cap_bytes and st.unflushed_records + 2000 < cap_records:
    before = st.unflushed_bytes
    ids = [f"r{{(start + i) % {rows}}}" for i in range(1000)]
    if {deletes}:
        idx.delete(ids=ids)
    else:
        vecs = rng.normal(size=(1000, {dim})).astype(np.float32)
        idx.upsert([(ids[i], vecs[i], {{"g": i % 10}}) for i in range(1000)], batch_size=1000)
    batch = st.unflushed_bytes - before; start += 1000
print(f"{{st.unflushed_bytes / 2**20:.1f}} MiB, {{st.unflushed_records}} records", flush=True)
os._exit(0)
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return run.stdout.strip().splitlines()[-1]


def _fresh(master: Path, data: Path) -> Path:
    """A copy of ``master`` at ``data``: an open may flush (the idle flush), the next must see the same."""
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(master, data)
    (data / "LOCK").unlink(missing_ok=True)
    os.sync()  # the copy written back, not competing with the open for the disk
    return data


def _open_once(data: Path) -> float:
    code = f"""
import time
from spruce.engine import Database
t = time.perf_counter(); db = Database.open({str(data)!r}); took = time.perf_counter() - t
db.index({INDEX!r})._maint.stop(); print(took); import os; os._exit(0)
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(run.stdout.split()[-1])


def _serve_once(data: Path) -> float:
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spruce.cli",
            "serve",
            "--data",
            str(data),
            "--port",
            "0",
            "--index-ports",
            "none",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        while line and not line.startswith("spruce listening on "):
            line = proc.stderr.readline()
        url = line.removeprefix("spruce listening on ").strip()
        while httpx.get(url + "/ready").status_code != 200:
            time.sleep(0.01)
        return time.monotonic() - started
    finally:
        proc.kill()  # as a crash: the next open sees the same store (nothing flushed in between)
        proc.wait()


def _report(label: str, times: list[float]) -> None:
    print(
        f"{label:<34} median {statistics.median(times):6.2f} s   max {max(times):6.2f} s   (n={len(times)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--data", type=Path, required=True, help="the store (built here once, then reused)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print("$ " + " ".join([Path(sys.executable).name, *sys.argv]))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    clean = args.data.with_name(args.data.name + ".clean")
    if not clean.exists():
        print(f"building {args.rows} x {args.dim} in {clean} ...", flush=True)
        _build(clean, args.rows, args.dim)
    size = sum(f.stat().st_size for f in clean.rglob("*") if f.is_file())
    print(f"store: {args.rows} records x {args.dim} dims, {size / 2**20:.0f} MiB on disk")
    _report("clean: Database.open", [_open_once(clean) for _ in range(args.repeat)])
    _report("clean: serve to /ready", [_serve_once(clean) for _ in range(args.repeat)])
    full = args.data.with_name(args.data.name + ".log")
    for case, deletes in (("full log", False), ("delete log", True)):
        logged = _fill_log(_fresh(clean, full), args.dim, args.rows, deletes)
        print(f"{case}: {logged} in the unflushed log")
        _report(f"{case}: Database.open", [_open_once(_fresh(full, args.data)) for _ in range(args.repeat)])
        _report(
            f"{case}: serve to /ready", [_serve_once(_fresh(full, args.data)) for _ in range(args.repeat)]
        )
        shutil.rmtree(full, ignore_errors=True)
    shutil.rmtree(args.data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
