"""Do flush and compaction stall reads and writes? The spec says "compaction never blocks reads or writes
for more than a few milliseconds"; this measures it.

Run on demand, never in CI (a few minutes, ~2 GB of RAM at the defaults)::

    .venv-bench/bin/python benchmarks/bench_stalls.py                      # 200,000 x 384 synthetic
    .venv-bench/bin/python benchmarks/bench_stalls.py --rows 100000 --dim 128
    .venv-bench/bin/python benchmarks/bench_stalls.py --dataset real       # datasets.py "real" (cached)
    .venv-bench/bin/python benchmarks/bench_stalls.py --switch-interval 0.001   # GIL experiment
    .venv-bench/bin/python benchmarks/bench_stalls.py --build-threads 1    # graph build on one core
    .venv-bench/bin/python benchmarks/bench_stalls.py --profile            # cProfile of background steps

One embedded index, four threads:

* *loader*: upserts every row in batches of 1,000 as fast as it can (this triggers flushes every
  ``flush_rows`` rows and merges of ever larger segments);
* *reader*: single top-10 queries back to back, every 5th with a filter matching 10 % of rows;
* *writer*: ~50 small writes/s, alternating a 1-record upsert and a 1-id delete of a loaded id;
* the main thread polls the background backlog every 50 ms. After the loader is done, reader and writer
  go on until nothing but the writer's own memtable rows is left for background work (``unindexed_records``
  counts those too, and no background step moves them before the next ``flush_rows``), plus ``--tail`` s,
  so the final big merge is covered.

Every read and small write is classified by what it overlapped: a *build* (``Maintainer._build``: copying
rows, the HNSW graph, columns, writing the segment; no index lock), an *install+finish* (from the end of
the step's last build to the end of ``Maintainer._finish``: the in-memory swap under ``write_mu`` and the
exclusive ``rw``, the manifest commit under ``write_mu``, the id map re-pointed in steps), or *none*.

Observation only: the benchmark wraps ``Maintainer._flush_frozen``, ``_compact_step``, ``_build`` and
``_finish``, and times every call of ``IndexState.commit_manifest``, ``Log.append``, ``Namespace.install``
and ``Namespace.repoint`` (class attributes, patched from here); it replaces the index's ``write_mu`` and
``rw`` by proxies around the same lock objects that record who waited for and held them, and where
(the calling function). None of this changes behaviour. A sampler thread records where the background,
loader, reader and writer threads are every ``--sample-ms`` (``sys._current_frames``), so a stall can be
tied to the code running at the time. Each op also records its thread's CPU time, so its latency splits
into lock waits, own CPU, and the rest (waiting for the GIL, for a core, or for I/O).

Two flags are experiments and do change behaviour: ``--switch-interval`` (``sys.setswitchinterval``) and
``--build-threads`` (overrides ``spruce.index.omp.BUILD_THREADS``, the OpenMP threads of a graph build).

The machine's load average is printed at start and end: other processes on a 2-core machine show up as
stalls here too.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import platform
import pstats
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

HERE = Path(__file__).resolve().parent
# benchmarks/datasets.py must not shadow Hugging Face's ``datasets``: keep this directory off sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import spruce  # noqa: E402
import spruce.index.omp  # noqa: E402
from spruce.engine.maintenance import Maintainer  # noqa: E402
from spruce.engine.namespace import Namespace  # noqa: E402
from spruce.engine.state import IndexState  # noqa: E402
from spruce.storage.log import Log  # noqa: E402

NOW = time.perf_counter
CATEGORIES = [f"cat{i}" for i in range(10)]
BATCH = 1000
WRITE_PERIOD_S = 0.02  # ~50 small writes/s
POLL_S = 0.05
CLASSES = ["build", "install+finish", "none"]
# The same, split by whether the loader's bulk load (foreground work as hungry for CPU as the build) was
# still running: after it, what is left is the background work alone beside the reader and the writer.
ROWS = ["build, loading", "build, after", "install+finish, loading", "install+finish, after", "none"]
SAMPLED = {"loader", "reader", "writer"}  # plus the background thread

# ------------------------------------------------------------------------------------------ data


@dataclass
class Data:
    base: np.ndarray
    queries: np.ndarray
    meta: list[dict[str, Any]]
    metric: str
    flt: dict[str, Any]  # matches ~10 % of rows


def clustered(n: int, dim: int, seed: int, clusters: int = 256, chunk: int = 20_000) -> np.ndarray:
    """Seeded unit vectors around ``clusters`` random centres."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(0).standard_normal((clusters, dim)).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        x = centres[rng.integers(clusters, size=e - s)]
        x += 0.6 * rng.standard_normal((e - s, dim), dtype=np.float32)
        out[s:e] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def synthetic(n: int, dim: int) -> Data:
    rng = np.random.default_rng(7)
    cats, years = rng.integers(len(CATEGORIES), size=n), rng.integers(1990, 2025, size=n)
    meta = [{"category": CATEGORIES[c], "year": int(y)} for c, y in zip(cats, years, strict=True)]
    flt = {"category": {"$eq": CATEGORIES[3]}}
    return Data(clustered(n, dim, 1), clustered(1000, dim, 2), meta, "cosine", flt)


def real(n: int | None) -> Data:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_datasets", HERE / "datasets.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_datasets"] = mod
    spec.loader.exec_module(mod)
    ds = mod.load("real")
    rows = len(ds.base) if n is None else min(n, len(ds.base))
    base = np.ascontiguousarray(ds.base[:rows], dtype=np.float32)
    meta = [ds.metadata(i) for i in range(rows)]
    metric = "cosine" if ds.metric == "ip" else "euclidean"
    return Data(base, np.asarray(ds.queries, dtype=np.float32), meta, metric, mod.FILTERS["cat10"][1])


# ------------------------------------------------------------------------------------------ recording


class Span(NamedTuple):
    kind: str  # "flush build", "merge install", "merge finish", ...
    start: float
    end: float
    rows: int


class Hold(NamedTuple):
    lock: str  # "write_mu", "rw.write", "rw.read"
    thread: str
    caller: str  # the function that took the lock
    asked: float
    got: float
    released: float


class Op(NamedTuple):
    kind: str
    start: float
    latency: float
    lock_wait: float  # time this op spent waiting for write_mu / rw
    cpu: float  # CPU time of the op's thread during the op (time.thread_time)


@dataclass
class Recorder:
    spans: list[Span] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    samples: list[tuple[float, str, str]] = field(default_factory=list)  # (t, thread, where)
    waits: dict[int, float] = field(default_factory=dict)  # thread ident -> lock wait of its current op
    step: str = ""  # "flush" / "merge" while a background step runs
    builds: list[float] = field(default_factory=list)  # build ends of the running step
    finish_start: float | None = None
    profile: cProfile.Profile | None = None
    calls: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # name -> (start, duration)
    gcs: list[tuple[int, float, float, str]] = field(default_factory=list)  # (generation, start, end, thread)
    _gc_start: float = 0.0

    def on_gc(self, phase: str, info: dict[str, int]) -> None:
        """``gc.callbacks`` hook: a collection holds the GIL, so it stalls every thread for its length."""
        if phase == "start":
            self._gc_start = NOW()
        else:
            self.gcs.append((info["generation"], self._gc_start, NOW(), threading.current_thread().name))

    def add_wait(self, dt: float) -> None:
        ident = threading.get_ident()
        if ident in self.waits:
            self.waits[ident] += dt


def caller_name(depth: int) -> str:
    code = sys._getframe(depth + 1).f_code
    return f"{Path(code.co_filename).stem}.{code.co_name}"


class TimedLock:
    """Stands in for ``IndexState.write_mu``: the same lock, with acquire/release times recorded."""

    def __init__(self, inner: Any, rec: Recorder) -> None:
        self._inner, self._rec, self._tls = inner, rec, threading.local()

    def __enter__(self) -> bool:
        caller, asked = caller_name(1), NOW()
        self._inner.acquire()
        got = NOW()
        self._rec.add_wait(got - asked)
        self._tls.__dict__.setdefault("stack", []).append((caller, asked, got))
        return True

    def __exit__(self, *exc: object) -> None:
        caller, asked, got = self._tls.stack.pop()
        self._inner.release()
        self._rec.holds.append(Hold("write_mu", threading.current_thread().name, caller, asked, got, NOW()))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class TimedRW:
    """Stands in for ``IndexState.rw`` (the same ``RWLock``), recording waits and holds."""

    def __init__(self, inner: Any, rec: Recorder) -> None:
        self._inner, self._rec = inner, rec

    def read(self) -> Any:
        return self._timed("rw.read", self._inner.read, caller_name(1))

    def write(self) -> Any:
        return self._timed("rw.write", self._inner.write, caller_name(1))

    @contextmanager
    def _timed(self, lock: str, take: Callable[[], Any], caller: str) -> Iterator[None]:
        asked = NOW()
        with take():
            got = NOW()
            self._rec.add_wait(got - asked)
            try:
                yield
            finally:
                name = threading.current_thread().name
                self._rec.holds.append(Hold(lock, name, caller, asked, got, NOW()))


TIMED_CALLS = [  # (owner, attribute): engine functions whose every call is timed
    (IndexState, "commit_manifest"),  # bitmaps + manifest, under write_mu
    (Log, "append"),  # the write-ahead log entry and its fsync, under write_mu
    (Namespace, "install"),  # the swap, under write_mu and the exclusive rw
    (Namespace, "repoint"),  # one step of the id map, under write_mu and the exclusive rw
]


def patch_calls(rec: Recorder) -> None:
    for owner, attr in TIMED_CALLS:
        fn = getattr(owner, attr)
        times = rec.calls.setdefault(f"{owner.__module__.rsplit('.', 1)[1]}.{attr}", [])

        def timed(*a: Any, _fn: Callable[..., Any] = fn, _times: list[Any] = times, **kw: Any) -> Any:
            start = NOW()
            try:
                return _fn(*a, **kw)
            finally:
                _times.append((start, NOW() - start))

        setattr(owner, attr, timed)


def patch_maintainer(rec: Recorder) -> None:
    """Wrap the background steps to record when they build, install and finish (observation only)."""
    flush, compact, build, finish = (
        Maintainer._flush_frozen,
        Maintainer._compact_step,
        Maintainer._build,
        Maintainer._finish,
    )

    def step(kind: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(self: Maintainer, *a: Any, **kw: Any) -> Any:
            outer = rec.step, rec.builds, rec.finish_start  # a merge flushes between its chunks: nested
            rec.step, rec.builds, rec.finish_start = kind, [], None
            if rec.profile is not None:
                rec.profile.enable()
            try:
                return fn(self, *a, **kw)
            finally:
                if rec.profile is not None:
                    rec.profile.disable()
                end = NOW()
                if rec.builds:  # the install runs from the last build's end to _finish (or the return)
                    fin = rec.finish_start if rec.finish_start is not None else end
                    rec.spans.append(Span(f"{kind} install", rec.builds[-1], fin, 0))
                if rec.finish_start is not None:
                    rec.spans.append(Span(f"{kind} finish", rec.finish_start, end, 0))
                rec.step, rec.builds, rec.finish_start = outer

        return wrapped

    def timed_build(self: Maintainer, parts: list[tuple[Any, np.ndarray]], **kw: Any) -> Any:
        start, kind, builds = NOW(), rec.step or "?", rec.builds
        try:
            return build(self, parts, **kw)
        finally:
            end = NOW()
            rows = sum(len(r) for _, r in parts)
            rec.spans.append(Span(f"{kind} build", start, end, rows))
            builds.append(end)

    def timed_finish(self: Maintainer, *a: Any, **kw: Any) -> None:
        rec.finish_start = NOW()
        finish(self, *a, **kw)

    Maintainer._flush_frozen = step("flush", flush)  # type: ignore[method-assign]
    Maintainer._compact_step = step("merge", compact)  # type: ignore[method-assign]
    Maintainer._build = timed_build  # type: ignore[method-assign]
    Maintainer._finish = timed_finish  # type: ignore[method-assign]


def sampler(rec: Recorder, every: float, stop: threading.Event) -> None:
    """Where the background, loader, reader and writer threads are (innermost spruce frame)."""
    names: dict[int, str] = {}
    while not stop.wait(every):
        t = NOW()
        for ident, frame in sys._current_frames().items():
            name = names.get(ident)
            if name is None:
                th = next((x for x in threading.enumerate() if x.ident == ident), None)
                name = names[ident] = th.name if th is not None else "?"
            if not (name.startswith("spruce-maint") or name in SAMPLED):
                continue
            f: Any = frame
            while f is not None and "/spruce/" not in f.f_code.co_filename:
                f = f.f_back
            if f is not None:
                where = f"{Path(f.f_code.co_filename).stem}.{f.f_code.co_name}:{f.f_lineno}"
                rec.samples.append((t, name, where))


# ------------------------------------------------------------------------------------------ workload


@dataclass
class Shared:
    loaded: int = 0  # rows acknowledged by the loader
    load_done: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)


def guarded(shared: Shared, fn: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        try:
            fn()
        except BaseException as exc:
            shared.errors.append(exc)
            shared.stop.set()
            raise

    return run


def loader(idx: Any, data: Data, shared: Shared) -> None:
    for s in range(0, len(data.base), BATCH):
        e = min(s + BATCH, len(data.base))
        idx.upsert([(str(i), data.base[i], data.meta[i]) for i in range(s, e)])
        shared.loaded = e
        if shared.stop.is_set():
            return
    shared.load_done = NOW()


def reader(idx: Any, data: Data, shared: Shared, rec: Recorder, ops: list[Op]) -> None:
    ident = threading.get_ident()
    i = 0
    while not shared.stop.is_set():
        q = data.queries[i % len(data.queries)]
        flt = data.flt if i % 5 == 4 else None
        rec.waits[ident] = 0.0
        c, t = time.thread_time(), NOW()
        idx.query(vector=q, top_k=10, filter=flt)
        lat = NOW() - t
        ops.append(Op("query+filter" if flt else "query", t, lat, rec.waits[ident], time.thread_time() - c))
        i += 1


def writer(idx: Any, data: Data, shared: Shared, rec: Recorder, ops: list[Op]) -> None:
    ident = threading.get_ident()
    rng = np.random.default_rng(3)
    deleted: set[int] = set()
    j, due = 0, NOW()
    while not shared.stop.is_set():
        due += WRITE_PERIOD_S
        pause = due - NOW()
        if pause > 0:
            time.sleep(pause)
        else:
            due = NOW()  # behind schedule: do not burst to catch up
        rec.waits[ident] = 0.0
        if j % 2 == 0:
            v = data.base[j % len(data.base)]
            c, t = time.thread_time(), NOW()
            idx.upsert([(f"w{j}", v, {"category": "writer", "year": 2000})])
            kind = "upsert"
        else:
            if shared.loaded == 0:
                j += 1
                continue
            victim = int(rng.integers(shared.loaded))
            while victim in deleted and len(deleted) < shared.loaded:
                victim = int(rng.integers(shared.loaded))
            deleted.add(victim)
            c, t = time.thread_time(), NOW()
            idx.delete(ids=[str(victim)])
            kind = "delete"
        lat = NOW() - t
        ops.append(Op(kind, t, lat, rec.waits[ident], time.thread_time() - c))
        j += 1


def background_left(eng: Any) -> int:
    """Rows background work still has to move, not counting the live memtable (which only the next
    ``flush_rows`` threshold or an idle flush moves; the writer keeps it non-empty)."""
    st, maint = eng._st, eng._maint

    def run() -> int:
        mem = sum(ns.memtable.n_alive for ns in st.namespaces.values())
        return int(maint.pending_rows()) - mem + int(maint._finishing)

    return int(st.read(run))


# ------------------------------------------------------------------------------------------ report


def classify(op: Op, spans: list[Span]) -> tuple[str, list[Span]]:
    end = op.start + op.latency
    over = [s for s in spans if s.start < end and s.end > op.start]
    if any(not s.kind.endswith("build") for s in over):
        return "install+finish", over
    return ("build" if over else "none"), over


def ms(x: float) -> str:
    return f"{x * 1e3:.1f}"


def background_wait(op: Op, holds: list[Hold], blocking: set[str]) -> float:
    """An upper bound on how long ``op`` waited for locks the background thread held: its lock wait,
    capped by how long background holds of the ``blocking`` kinds overlapped it."""
    if op.lock_wait <= 0:
        return 0.0
    end = op.start + op.latency
    overlap = sum(
        min(end, h.released) - max(op.start, h.got)
        for h in holds
        if h.lock in blocking
        and h.thread.startswith("spruce-maint")
        and h.got < end
        and h.released > op.start
    )
    return min(op.lock_wait, overlap)


def stats_table(title: str, ops: list[Op], rec: Recorder, load_done: float, blocking: set[str]) -> None:
    """Latency by what the op overlapped, then the part of it spent waiting for the index's locks
    (``write_mu``, ``rw``; whoever held them), and the most of that the background thread's holds can
    account for (``background_wait``): what blocking, as opposed to sharing the cores, cost."""
    by: dict[str, list[Op]] = {c: [] for c in CLASSES + ROWS}
    for op in ops:
        c = classify(op, rec.spans)[0]
        by[c].append(op)
        if c != "none":
            by[f"{c}, {'loading' if op.start < load_done else 'after'}"].append(op)
    print(f"\n{title}")
    print(
        f"| {'during':<23} | {'count':>6} | {'p50 ms':>7} | {'p99 ms':>7} | {'p99.9 ms':>8} | {'max ms':>7} |"
        f" {'lock wait p99':>13} | {'lock wait max':>13} | {'on background max':>17} |"
    )
    print(
        f"|{'-' * 25}|{'-' * 7}:|{'-' * 8}:|{'-' * 8}:|{'-' * 9}:|{'-' * 8}:|{'-' * 14}:|{'-' * 14}:"
        f"|{'-' * 18}:|"
    )
    for c in CLASSES + ROWS[:-1]:
        lat = np.array([op.latency for op in by[c]])
        wait = np.array([op.lock_wait for op in by[c]])
        on_bg = np.array([background_wait(op, rec.holds, blocking) for op in by[c]])
        if not len(lat):
            widths = (7, 7, 8, 7, 13, 13, 17)
            print(f"| {c:<23} | {0:>6} | " + " | ".join("-".rjust(w) for w in widths) + " |")
            continue
        p50, p99, p999 = np.percentile(lat, [50, 99, 99.9])
        print(
            f"| {c:<23} | {len(lat):>6} | {ms(p50):>7} | {ms(p99):>7} | {ms(p999):>8} | {ms(lat.max()):>7} |"
            f" {ms(float(np.percentile(wait, 99))):>13} | {ms(wait.max()):>13} | {ms(on_bg.max()):>17} |"
        )


def worst(title: str, ops: list[Op], rec: Recorder, t0: float, me: str, n: int = 5) -> None:
    """The ``n`` slowest ops of thread ``me``: what overlapped them, where their time went (lock waits, own
    CPU, the rest = waiting for the GIL or for a core), the longest lock holds of other threads meanwhile
    and the sampled stacks of ``me`` and of the background thread."""
    print(f"\n{title}")
    for op in sorted(ops, key=lambda o: -o.latency)[:n]:
        end = op.start + op.latency
        cls, over = classify(op, rec.spans)
        bg = ", ".join(f"{s.kind}{f' {s.rows:,} rows' if s.rows else ''}" for s in over) or "nothing"
        rest = op.latency - op.lock_wait - op.cpu
        print(
            f"  {ms(op.latency):>6} ms {op.kind:<12} at {op.start - t0:6.2f} s [{cls}] overlapped: {bg}\n"
            f"           lock wait {ms(op.lock_wait)} ms, on CPU {ms(op.cpu)} ms, "
            f"rest (GIL, a core, I/O) {ms(max(rest, 0.0))} ms"
        )
        holds = [
            h
            for h in rec.holds
            if h.got < end and h.released > op.start and h.released - h.got > 1e-3 and h.thread != me
        ]
        for h in sorted(holds, key=lambda h: h.got - h.released)[:2]:
            print(f"           {h.thread} held {h.lock} {ms(h.released - h.got)} ms in {h.caller}")
        gcs = [(g, a, b, th) for g, a, b, th in rec.gcs if a < end and b > op.start and b - a > 1e-3]
        for g, a, b, th in sorted(gcs, key=lambda x: x[1] - x[2])[:2]:
            print(f"           garbage collection (generation {g}) in {th}: {ms(b - a)} ms")
        for who in (me, "spruce-maint"):
            where = Counter(w for t, th, w in rec.samples if op.start <= t <= end and th.startswith(who))
            if where:
                print(
                    f"           {who} sampled at: " + ", ".join(f"{w} x{c}" for w, c in where.most_common(3))
                )


def holds_table(rec: Recorder) -> None:
    """Lock holds by (lock, thread, function); for ``write_mu`` also the hold minus the time the holder
    spent inside it waiting for the exclusive ``rw`` (i.e. behind readers)."""
    rw_waits: dict[str, list[Hold]] = {}
    for h in rec.holds:
        if h.lock == "rw.write":
            rw_waits.setdefault(h.thread, []).append(h)
    groups: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for h in rec.holds:
        th = "background" if h.thread.startswith("spruce-maint") else h.thread
        held = h.released - h.got
        inner = sum(
            x.got - x.asked for x in rw_waits.get(h.thread, []) if h.got <= x.asked and x.got <= h.released
        )
        groups.setdefault((h.lock, th, h.caller), []).append(
            (held, held - inner if h.lock == "write_mu" else held)
        )
    print("\nlock holds (acquired to released; 'excl. rw wait': minus the holder's own wait for rw.write)")
    print(
        f"| {'lock':<8} | {'thread':<10} | {'taken in':<28} | {'count':>6} | {'p99 ms':>7} | {'max ms':>7} |"
        f" {'max excl. rw wait':>17} |"
    )
    print(f"|{'-' * 10}|{'-' * 12}|{'-' * 30}|{'-' * 7}:|{'-' * 8}:|{'-' * 8}:|{'-' * 18}:|")
    for (lock, th, caller), d in sorted(groups.items(), key=lambda kv: -max(x for x, _ in kv[1])):
        a = np.array(d)
        print(
            f"| {lock:<8} | {th:<10} | {caller:<28} | {len(a):>6} | {ms(np.percentile(a[:, 0], 99)):>7} |"
            f" {ms(a[:, 0].max()):>7} | {ms(a[:, 1].max()):>17} |"
        )
    print("\ntimed engine calls (every thread)")
    print(f"| {'call':<28} | {'count':>6} | {'p50 ms':>7} | {'p99 ms':>7} | {'max ms':>7} |")
    print(f"|{'-' * 30}|{'-' * 7}:|{'-' * 8}:|{'-' * 8}:|{'-' * 8}:|")
    for name, times in rec.calls.items():
        if times:
            d = np.array([t for _, t in times])
            p50, p99 = np.percentile(d, [50, 99])
            print(f"| {name:<28} | {len(d):>6} | {ms(p50):>7} | {ms(p99):>7} | {ms(d.max()):>7} |")


def gc_table(rec: Recorder) -> None:
    print("\ngarbage collections (each holds the GIL: every thread waits)")
    head = f"| {'generation':<10} | {'count':>6} | {'p50 ms':>7} | {'p99 ms':>7} | {'max ms':>7}"
    print(f"{head} | {'total s':>7} |")
    print(f"|{'-' * 12}|{'-' * 7}:|{'-' * 8}:|{'-' * 8}:|{'-' * 8}:|{'-' * 8}:|")
    for gen in range(3):
        d = np.array([b - a for g, a, b, _ in rec.gcs if g == gen])
        if len(d):
            p50, p99 = np.percentile(d, [50, 99])
            print(
                f"| {gen:<10} | {len(d):>6} | {ms(p50):>7} | {ms(p99):>7} | {ms(d.max()):>7} |"
                f" {d.sum():>7.2f} |"
            )


def steps_table(rec: Recorder, t0: float) -> None:
    print("\nbackground steps")
    for s in sorted(rec.spans, key=lambda s: s.start):
        dur = f"{s.end - s.start:.2f} s" if s.kind.endswith("build") else f"{ms(s.end - s.start)} ms"
        rows = f"  {s.rows:,} rows" if s.rows else ""
        print(f"  {s.start - t0:7.2f} s  {s.kind:<14} {dur:>10}{rows}")


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# ------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=["synthetic", "real"], default="synthetic")
    ap.add_argument("--rows", type=int, default=None, help="default 200,000 (synthetic) / all (real)")
    ap.add_argument("--dim", type=int, default=384, help="synthetic only")
    ap.add_argument("--flush-rows", type=int, default=None, help="default: the engine's")
    ap.add_argument("--tail", type=float, default=5.0, help="seconds to go on once background is idle")
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--sample-ms", type=float, default=10.0, help="stack sampling period; 0 = off")
    ap.add_argument("--switch-interval", type=float, default=None, help="sys.setswitchinterval (s)")
    ap.add_argument("--profile", action="store_true", help="cProfile the background steps")
    ap.add_argument(
        "--build-threads", type=int, default=None, help="experiment: override spruce.index.omp.BUILD_THREADS"
    )
    ap.add_argument("--workdir", default=None, help="parent of the store directory (default $TMPDIR)")
    args = ap.parse_args(argv)

    rev = subprocess.run(
        ["git", "-C", str(HERE), "describe", "--always", "--dirty"], capture_output=True, text=True
    ).stdout.strip()
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"spruce source: {rev or '?'}")
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}")
    print(f"load average at start: {loadavg()}", flush=True)
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    if args.build_threads is not None:
        spruce.index.omp.BUILD_THREADS = args.build_threads
    print(
        f"switch interval: {sys.getswitchinterval() * 1e3:g} ms,"
        f" graph build threads: {spruce.index.omp.BUILD_THREADS}"
    )

    data = synthetic(args.rows or 200_000, args.dim) if args.dataset == "synthetic" else real(args.rows)
    n, dim = data.base.shape
    print(f"data: {args.dataset}, {n:,} x {dim}, {data.metric}, filter {data.flt}", flush=True)

    rec = Recorder(profile=cProfile.Profile() if args.profile else None)
    patch_maintainer(rec)
    patch_calls(rec)
    gc.callbacks.append(rec.on_gc)
    workdir = tempfile.mkdtemp(prefix="bench-stalls-", dir=args.workdir)
    kw = {"flush_rows": args.flush_rows} if args.flush_rows else {}
    client = spruce.Client(workdir, **kw)
    shared, reads, writes = Shared(), [], []
    threads: list[threading.Thread] = []
    try:
        client.create_index("stalls", dimension=dim, metric=data.metric)
        idx = client.Index("stalls")
        eng = idx
        print(f"flush_rows: {eng._st.flush_rows:,}, ann_min_rows: {eng._st.ann_min_rows:,}", flush=True)
        eng._st.write_mu = TimedLock(eng._st.write_mu, rec)
        eng._st.rw = TimedRW(eng._st.rw, rec)

        sample_stop = threading.Event()
        if args.sample_ms > 0:
            threading.Thread(
                target=sampler, args=(rec, args.sample_ms / 1e3, sample_stop), name="sampler", daemon=True
            ).start()
        t0 = NOW()
        threads = [
            threading.Thread(target=guarded(shared, lambda: loader(idx, data, shared)), name="loader"),
            threading.Thread(
                target=guarded(shared, lambda: reader(idx, data, shared, rec, reads)), name="reader"
            ),
            threading.Thread(
                target=guarded(shared, lambda: writer(idx, data, shared, rec, writes)), name="writer"
            ),
        ]
        for th in threads:
            th.start()
        threads[0].join()
        print(f"loaded {n:,} rows in {shared.load_done - t0:.1f} s", flush=True)
        idle_since = None
        while not shared.stop.is_set():
            time.sleep(POLL_S)
            busy = background_left(eng) > 0 or rec.step != ""
            if busy:
                idle_since = None
            elif idle_since is None:
                idle_since = NOW()
            if idle_since is not None and NOW() - idle_since >= args.tail:
                break
            if NOW() - t0 > args.timeout:
                print(f"timeout: background still busy after {args.timeout:.0f} s")
                break
        t_end = NOW()
        unindexed = idx.describe_index_stats().unindexed_records
        shared.stop.set()
        for th in threads:
            th.join()
        sample_stop.set()
        if shared.errors:
            raise shared.errors[0]
        idle_at = (idle_since or t_end) - t0
        print(
            f"background idle at {idle_at:.1f} s (unindexed_records then: {unindexed}, the writer's"
            f" memtable), stopped at {t_end - t0:.1f} s"
        )
        print(f"load average at end: {loadavg()}")

        title = "reads (single top-10 queries, 1 in 5 filtered), latency by what ran meanwhile"
        stats_table(title, reads, rec, shared.load_done, {"rw.write"})  # a read waits only for rw.write
        title = "small writes (1-record upsert / 1-id delete, ~50/s)"
        stats_table(title, writes, rec, shared.load_done, {"write_mu", "rw.write", "rw.read"})
        worst("5 worst reads", reads, rec, t0, "reader")
        worst("5 worst small writes", writes, rec, t0, "writer")
        after = [op for op in reads if op.start >= shared.load_done]
        worst("5 worst reads after the bulk load", after, rec, t0, "reader")
        after = [op for op in writes if op.start >= shared.load_done]
        worst("5 worst small writes after the bulk load", after, rec, t0, "writer")
        holds_table(rec)
        gc_table(rec)
        steps_table(rec, t0)
        if rec.profile is not None:
            out = io.StringIO()
            pstats.Stats(rec.profile, stream=out).sort_stats("tottime").print_stats(20)
            print("\nbackground steps, cProfile by own time (top 20)\n" + out.getvalue())
    finally:
        shared.stop.set()
        for th in threads:
            th.join()
        client.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
