"""kill -9 soak of the real server: ``spruce serve`` killed at random moments under SDK writes, reopened,
checked against a model of every acknowledged operation.

Each cycle starts ``spruce serve`` on the same store (``--port 0``: new ports each life) and runs
``--writers`` threads, each with its own client from the official ``pinecone`` SDK, doing a random mix of
upserts (batches of 1-200 records with metadata, 10 % without), deletes by id (1-50 ids, present or
not), updates by id (``set_metadata``, a quarter of them with new values too) and now and then a delete by
filter. After ``--min-run``..``--max-run`` seconds the server gets SIGKILL; it is started again at once
(in ``--startup-kills`` of the cycles it is killed once more while it opens and recovers the store, then
started again) and the time from spawning the process to ``GET /ready`` answering 200 is measured. Then:

- every slot (namespace, id) of the universe is fetched: a slot whose last operation was acknowledged
  (the SDK call returned) holds exactly the values (float32) and metadata written, or is absent if
  deleted or never written;
- an operation in flight at the kill (at most one per writer) may have been applied or not, but whole:
  all the slots it changes hold their state from before it, or all hold the state after it; either way
  the model takes what was found, and the next cycle goes on from there;
- ``describe_index_stats`` counts (total and per namespace) equal the model's;
- a query per namespace returns only present ids, with their current values;
- the server's log of every life has no traceback;
- no SDK call failed while the server was up.

The writers own disjoint slices of the ids (id number modulo ``--writers``, carried in the metadata as
``owner``; a delete by filter names its writer's ``owner`` too), so the operations on one id are
sequential and the model is exact; the writers still run concurrently against the server (group commit,
background flushes, merges and graph steps interleave with them). Ids are drawn from a fixed universe
(``--universe`` ids in each of two namespaces, "" and "b"), so records are overwritten and deleted over
and over, the hard case for resurrection. Verification (``--verify full``, the default) fetches the whole
universe every cycle in batches of 1,000 (the SDK's fetch limit); ``--verify sample`` fetches every slot
touched in the cycle plus ``--sample`` others, and the whole universe every ``--full-every`` cycles and
after the last. The server runs with a small ``--flush-rows``, ``--flush-log-mb`` and graph step
(``--graph-step-rows``, 20,000: graph steps commit often and get killed too), so flushes, merges and graph
steps happen every few seconds and get killed too. (At ``--graph-step-rows 10000``, the smallest step, the
soak found a compaction livelock, fixed since: a namespace whose largest segment had no graph and fewer
than 10,000 live rows, beside one too large for the rest of the step, was rewritten alone, forever.)

The SDK retries a call whose connection failed (3 times, with backoff), so a writer learns of the kill
seconds after it; the restart does not wait for that. Once the new server is ready, each writer is
abandoned: its call still running is the uncertain one, and nothing it does later reaches the model. A
late retry cannot reach the new server, which listens on new ports (if it drew the old index port, the
writers are joined before the check).

After the last cycle: the time for ``unindexedRecordCount`` to reach 0 once idle (up to ``--idle-wait``
s), a SIGTERM (exit 0 expected), ``spruce verify`` on the store (exit 0 expected), and the store's size.
Exit status 1 on any violation; the store and the server log are then kept and the repro printed
(seed, cycle; the seed fixes the operations and kill delays, where the kill lands in the operation stream
depends on timing).

    python benchmarks/soak_kill9.py --cycles 200
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

warnings.filterwarnings("ignore", category=RuntimeWarning, module="pinecone")

from pinecone import Pinecone, ServerlessSpec  # noqa: E402

INDEX = "soak"
NAMESPACES = ("", "b")
READY_PREFIX = "spruce listening on "
CLASSIC_API = {"X-Pinecone-Api-Version": "2025-04", "Api-Key": "soak"}
FETCH_BATCH = 1_000
TAGS = ("red", "green", "blue", "amber", "violet")
GROUPS = 20  # metadata "grp" values; a delete by filter removes one group of one writer

Slot = tuple[str, str]  # (namespace, id)
State = tuple[bytes, dict[str, Any]] | None  # float32 values as bytes and metadata, or absent


# ---------------------------------------------------------------------------------------------------------
# the server process


class Server:
    """One ``spruce serve`` life at a time on ``data``; stderr of every life appended to ``log_path``."""

    def __init__(self, data: Path, log_path: Path, extra: Sequence[str]) -> None:
        self.data = data
        self.log_path = log_path
        self.extra = list(extra)
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.lines: list[str] = []  # this life's log
        self.lives = 0
        self.listening_at = 0.0  # when this life printed its URL (the store is open by then)
        self._listening = threading.Event()

    def spawn(self) -> float:
        """Start a life; returns the monotonic time of the spawn."""
        cmd = [sys.executable, "-m", "spruce.cli", "serve", "--data", str(self.data), "--port", "0"]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("SPRUCE_API_KEY", None)
        env.pop("SPRUCE_READ_ONLY_API_KEY", None)
        self.lives += 1
        self.lines = []
        self.url = ""
        self._listening.clear()
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [*cmd, *self.extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
        )
        threading.Thread(target=self._drain, args=(self.proc, self.lines, self.lives), daemon=True).start()
        return started

    def _drain(self, proc: subprocess.Popen[str], lines: list[str], life: int) -> None:
        assert proc.stderr is not None
        with self.log_path.open("a") as log:
            log.write(f"--- life {life}\n")
            for line in proc.stderr:
                lines.append(line)
                log.write(line)
                log.flush()
                if line.startswith(READY_PREFIX) and lines is self.lines:
                    self.listening_at = time.monotonic()
                    self.url = line[len(READY_PREFIX) :].strip()
                    self._listening.set()

    def wait_ready(self, started: float, timeout: float) -> float:
        """Seconds from the spawn to ``GET /ready`` answering 200."""
        deadline = started + timeout
        assert self.proc is not None
        while not self._listening.wait(0.01):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("spruce serve did not start:\n" + "".join(self.lines[-40:]))
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                try:
                    if http.get(self.url + "/ready").status_code == 200:
                        return time.monotonic() - started
                except httpx.TransportError:
                    pass
                time.sleep(0.005)
        raise RuntimeError(f"{self.url}/ready not 200 within {timeout} s:\n" + "".join(self.lines[-40:]))

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def terminate(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9

    def ports(self) -> set[int]:
        return {int(self.url.rsplit(":", 1)[1])} if self.url else set()

    def tracebacks(self) -> bool:
        return any("Traceback" in line for line in self.lines)


# ---------------------------------------------------------------------------------------------------------
# the model and the writers


@dataclass
class Op:
    kind: str
    slots: list[Slot]
    before: dict[Slot, State]
    after: dict[Slot, State]
    call: Callable[[Any], object]
    records: int  # record writes it stands for (upserted, deleted or updated rows)


@dataclass
class Totals:
    acked_ops: int = 0
    acked_records: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


def owner_of(rid: str, writers: int) -> int:
    return int(rid[1:]) % writers


class Writer(threading.Thread):
    """One SDK client doing a random mix of writes on the ids it owns (``n % writers == me``); ``model``
    is this writer's part of the model (its slots only), changed only here and by the verification
    between cycles."""

    def __init__(
        self,
        me: int,
        owned: list[int],
        index: Any,
        model: dict[Slot, State],
        rng: random.Random,
        dim: int,
        counter: int,
    ) -> None:
        super().__init__(daemon=True, name=f"soak-writer-{me}")
        self.me = me
        self.owned = owned
        self.index = index
        self.model = model
        self.rng = rng
        self.nprng = np.random.default_rng(rng.getrandbits(64))
        self.dim = dim
        self.counter = counter  # metadata "v": a fresh value per write, so a stale record shows
        self.lock = threading.Lock()
        self.abandoned = False
        self.inflight: Op | None = None
        self.error: str | None = None
        self.error_at = 0.0
        self.totals = Totals()
        self.touched: set[Slot] = set()

    def abandon(self) -> tuple[Op | None, str | None, float]:
        """From now on nothing this thread does reaches the model; its op in flight, if any, is
        returned (uncertain), with the error that stopped it and when."""
        with self.lock:
            self.abandoned = True
            return self.inflight, self.error, self.error_at

    def run(self) -> None:
        try:
            self._loop()
        finally:
            close = getattr(self.index, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):  # closing a client whose server is gone
                    close()

    def _loop(self) -> None:
        while True:
            with self.lock:
                if self.abandoned:
                    return
                try:
                    op = self._plan()
                except Exception as exc:  # a bug of this script: reported like a failed call
                    self.error = f"planning: {type(exc).__name__}: {exc}"
                    self.error_at = time.monotonic()
                    return
                self.inflight = op
                self.touched.update(op.slots)
            try:
                op.call(self.index)
            except Exception as exc:  # the kill, or a failure while the server was up (a violation)
                with self.lock:
                    self.error = f"{op.kind}: {type(exc).__name__}: {exc}"
                    self.error_at = time.monotonic()
                return
            with self.lock:
                if self.abandoned:
                    return
                for slot, state in op.after.items():
                    if state is None:
                        self.model.pop(slot, None)
                    else:
                        self.model[slot] = state
                self.inflight = None
                self.totals.acked_ops += 1
                self.totals.acked_records += op.records
                self.totals.kinds[op.kind] = self.totals.kinds.get(op.kind, 0) + 1

    def _metadata(self) -> dict[str, Any]:
        self.counter += 1
        meta: dict[str, Any] = {
            "owner": self.me,
            "grp": self.rng.randrange(GROUPS),
            "v": self.counter,
            "tag": self.rng.choice(TAGS),
        }
        if self.rng.random() < 0.5:
            meta["tags"] = self.rng.sample(TAGS, self.rng.randint(0, 3))
        if self.rng.random() < 0.3:
            meta["flag"] = self.rng.random() < 0.5
        return meta

    def _plan(self) -> Op:
        """The next operation: its SDK call and the states of its slots before and after it."""
        rng = self.rng
        ns = rng.choice(NAMESPACES)
        r = rng.random()
        if r < 0.50:
            ids = [f"r{i}" for i in rng.sample(self.owned, min(rng.randint(1, 200), len(self.owned)))]
            vecs = self.nprng.normal(size=(len(ids), self.dim)).astype(np.float32)
            rows: list[dict[str, Any]] = []
            after: dict[Slot, State] = {}
            for i, rid in enumerate(ids):
                meta = self._metadata() if rng.random() < 0.9 else {}
                row: dict[str, Any] = {"id": rid, "values": vecs[i].tolist()}
                if meta:
                    row["metadata"] = meta
                rows.append(row)
                after[(ns, rid)] = (vecs[i].tobytes(), meta)

            def upsert(index: Any) -> object:
                return index.upsert(vectors=rows, namespace=ns, show_progress=False)

            return self._op("upsert", after, upsert)
        if r < 0.70:
            ids = [f"r{i}" for i in rng.sample(self.owned, min(rng.randint(1, 50), len(self.owned)))]

            def delete(index: Any) -> object:
                return index.delete(ids=ids, namespace=ns)

            return self._op("delete", dict.fromkeys(((ns, i) for i in ids), None), delete)
        present = [s for s in self.model if s[0] == ns]
        if r < 0.97 and present:
            slot = rng.choice(present)
            state = self.model[slot]
            assert state is not None
            values, meta = state
            self.counter += 1
            patch: dict[str, Any] = {"v": -self.counter, "tag": rng.choice(TAGS)}
            if rng.random() < 0.3:
                patch["grp"] = rng.randrange(GROUPS)
            new_values: list[float] | None = None
            if rng.random() < 0.25:
                vec = self.nprng.normal(size=self.dim).astype(np.float32)
                new_values, values = vec.tolist(), vec.tobytes()

            def update(index: Any) -> object:
                if new_values is None:
                    return index.update(id=slot[1], set_metadata=patch, namespace=ns)
                return index.update(id=slot[1], values=new_values, set_metadata=patch, namespace=ns)

            return self._op("update", {slot: (values, {**meta, **patch})}, update)
        grp = rng.randrange(GROUPS)
        flt = {"owner": {"$eq": self.me}, "grp": {"$eq": grp}}
        hits: dict[Slot, State] = {}
        for s in present:
            st = self.model[s]
            if st is not None and st[1].get("owner") == self.me and st[1].get("grp") == grp:
                hits[s] = None

        def delete_by_filter(index: Any) -> object:
            return index.delete(filter=flt, namespace=ns)

        return self._op("delete_by_filter", hits, delete_by_filter)

    def _op(self, kind: str, after: dict[Slot, State], call: Callable[[Any], object]) -> Op:
        slots = list(after)
        return Op(kind, slots, {s: self.model.get(s) for s in slots}, after, call, len(slots))


# ---------------------------------------------------------------------------------------------------------
# verification


def _canon(meta: dict[str, Any] | None) -> dict[str, tuple[str, object]]:
    """Metadata compared with its types: a bool is not the number 1, numbers compare as floats (JSON)."""
    out: dict[str, tuple[str, object]] = {}
    for k, v in (meta or {}).items():
        if isinstance(v, bool):
            out[k] = ("bool", v)
        elif isinstance(v, (int, float)):
            out[k] = ("num", float(v))
        elif isinstance(v, str):
            out[k] = ("str", v)
        elif isinstance(v, list):
            out[k] = ("list", tuple(v))
        else:
            out[k] = ("other", repr(v))
    return out


def same(a: State, b: State) -> bool:
    if a is None or b is None:
        return a is b
    return a[0] == b[0] and _canon(a[1]) == _canon(b[1])


def observed_state(vector: Any) -> State:
    values = np.asarray(vector.values, dtype=np.float32).tobytes()
    return values, dict(vector.metadata or {})


def fetch_slots(index: Any, slots: Sequence[Slot]) -> dict[Slot, State]:
    by_ns: dict[str, list[str]] = {}
    for ns, rid in slots:
        by_ns.setdefault(ns, []).append(rid)
    found: dict[Slot, State] = {}
    for ns, ids in by_ns.items():
        for i in range(0, len(ids), FETCH_BATCH):
            got = index.fetch(ids=ids[i : i + FETCH_BATCH], namespace=ns).vectors
            for rid, vec in got.items():
                found[(ns, rid)] = observed_state(vec)
    return found


@dataclass
class Check:
    checked: int = 0
    lost: int = 0
    resurrected: int = 0
    wrong: int = 0
    partial: int = 0
    applied: int = 0
    not_applied: int = 0
    noop: int = 0
    details: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.details) < 20:
            self.details.append(text)


def _describe(state: State) -> str:
    if state is None:
        return "absent"
    return f"values {np.frombuffer(state[0], dtype=np.float32)[:3].tolist()}... metadata {state[1]}"


def check_cycle(
    models: list[dict[Slot, State]],
    writers: int,
    inflight: list[Op],
    observed: dict[Slot, State],
    slots: Sequence[Slot],
) -> Check:
    """Compare what was fetched with the model; resolve the in-flight ops into the model."""
    res = Check(checked=len(slots))
    op_of: dict[Slot, Op] = {s: op for op in inflight for s in op.slots}

    def model(slot: Slot) -> dict[Slot, State]:
        return models[owner_of(slot[1], writers)]

    for slot in slots:
        got = observed.get(slot)
        op = op_of.get(slot)
        allowed = [model(slot).get(slot)] if op is None else [op.before[slot], op.after[slot]]
        if any(same(got, a) for a in allowed):
            continue
        if got is None and all(a is not None for a in allowed):
            res.lost += 1
            what = "lost"
        elif got is not None and all(a is None for a in allowed):
            res.resurrected += 1
            what = "resurrected"
        else:
            res.wrong += 1
            what = "wrong"
        res.note(
            f"{what}: {slot} found {_describe(got)}; allowed "
            + " or ".join(_describe(a) for a in allowed)
            + (f" (in flight: {op.kind} of {len(op.slots)})" if op else "")
        )
    for op in inflight:
        changed = [s for s in op.slots if not same(op.before[s], op.after[s])]
        new = [s for s in changed if same(observed.get(s), op.after[s])]
        old = [s for s in changed if same(observed.get(s), op.before[s])]
        if new and old:
            res.partial += 1
            res.note(
                f"partial: in-flight {op.kind} of {len(op.slots)} slots: {len(new)} applied, {len(old)} not"
            )
        elif not changed:
            res.noop += 1
        elif new:
            res.applied += 1
        else:
            res.not_applied += 1
        for s in op.slots:
            got = observed.get(s)
            if same(got, op.before[s]) or same(got, op.after[s]):
                if got is None:
                    model(s).pop(s, None)
                else:
                    model(s)[s] = got
    return res


def stats_of(index: Any) -> tuple[int, dict[str, int]]:
    stats = index.describe_index_stats()
    per_ns: dict[str, int] = {}
    for name, summary in (stats.namespaces or {}).items():
        key = "" if name in ("", "__default__") else name
        per_ns[key] = per_ns.get(key, 0) + int(summary.vector_count)
    return int(stats.total_vector_count), {k: v for k, v in per_ns.items() if v}


def query_check(
    index: Any, models: list[dict[Slot, State]], writers: int, dim: int, rng: random.Random
) -> list[str]:
    """A top-20 query per namespace returns only present ids, with their current values and metadata."""
    problems = []
    for ns in NAMESPACES:
        vec = np.random.default_rng(rng.getrandbits(64)).normal(size=dim).astype(np.float32).tolist()
        res = index.query(vector=vec, top_k=20, namespace=ns, include_values=True, include_metadata=True)
        for m in res.matches:
            slot = (ns, m.id)
            want = models[owner_of(m.id, writers)].get(slot)
            got: State = (np.asarray(m.values, dtype=np.float32).tobytes(), dict(m.metadata or {}))
            if want is None:
                problems.append(f"resurrected in a query: {slot}")
            elif not same(got, want):
                problems.append(f"wrong in a query: {slot} {_describe(got)}, model {_describe(want)}")
    return problems


def raw_stats(url: str) -> dict[str, Any]:
    with httpx.Client(base_url=url, headers=CLASSIC_API, timeout=30.0) as http:
        body: dict[str, Any] = http.post(f"/index/{INDEX}/describe_index_stats", json={}).json()
        return body


def disk_usage(path: Path) -> tuple[int, int, int]:
    """(allocated bytes, apparent bytes, files)"""
    allocated = apparent = files = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            try:
                st = os.stat(os.path.join(root, name))
            except FileNotFoundError:
                continue
            allocated += st.st_blocks * 512
            apparent += st.st_size
            files += 1
    return allocated, apparent, files


# ---------------------------------------------------------------------------------------------------------
# the soak


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--cycles", type=int, default=200, help="kill -9 cycles (default: 200)")
    p.add_argument("--seed", type=int, default=1, help="fixes the operations and kill delays (default: 1)")
    p.add_argument("--data", default=None, help="store directory, new or empty (default: a temporary one)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory after a clean run")
    p.add_argument("--dim", type=int, default=64, help="dimension (default: 64)")
    p.add_argument("--min-run", type=float, default=1.0, help="seconds of writes before the kill, at least")
    p.add_argument("--max-run", type=float, default=6.0, help="... and at most (default: 1.0-6.0)")
    p.add_argument("--writers", type=int, default=2, help="SDK writer threads (default: 2)")
    p.add_argument(
        "--universe", type=int, default=25_000, help="ids per namespace; 2 namespaces (default: 25,000)"
    )
    p.add_argument("--verify", choices=["full", "sample"], default="full", help="what a cycle fetches")
    p.add_argument("--sample", type=int, default=5_000, help="--verify sample: untouched slots checked")
    p.add_argument("--full-every", type=int, default=10, help="--verify sample: all slots every N cycles")
    p.add_argument(
        "--startup-kills", type=float, default=0.1, help="share of cycles killed once more while starting"
    )
    p.add_argument("--flush-rows", type=int, default=2_000, help="server --flush-rows (default: 2000)")
    p.add_argument("--flush-log-mb", type=int, default=8, help="server --flush-log-mb (default: 8)")
    p.add_argument(
        "--graph-step-rows",
        type=int,
        default=20_000,
        help="server --graph-step-work / dim (default: 20000, twice the smallest segment given a graph)",
    )
    p.add_argument("--server-args", default="", help="more `spruce serve` flags, as one string")
    p.add_argument("--ready-timeout", type=float, default=120.0, help="seconds a restart may take")
    p.add_argument(
        "--idle-wait", type=float, default=300.0, help="seconds to wait for 0 unindexed at the end"
    )
    return p


def _pct(xs: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _port(index: Any) -> int:
    return int(str(index.host).rstrip("/").rsplit(":", 1)[1])


def _close(index: Any) -> None:
    close = getattr(index, "close", None)
    if close is not None:
        close()


def _source() -> str:
    """Where the server's code comes from (the same interpreter and path), and its git commit if any."""
    spec = importlib.util.find_spec("spruce")
    if spec is None or spec.origin is None:
        return "not found"
    src = Path(spec.origin).resolve().parent
    try:
        head = subprocess.run(
            ["git", "-C", str(src), "log", "-1", "--format=%h"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(src), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        head = dirty = ""
    where = f"{src}" + (f" (git {head}{', with uncommitted changes' if dirty else ''})" if head else "")
    return where


class Soak:
    def __init__(self, args: argparse.Namespace, data: Path, log_path: Path, command: str) -> None:
        self.args = args
        self.data = data
        self.command = command
        self.writers: int = args.writers
        self.owned = [list(range(me, args.universe, self.writers)) for me in range(self.writers)]
        self.models: list[dict[Slot, State]] = [{} for _ in range(self.writers)]
        self.counters = [0] * self.writers
        self.universe = [(ns, f"r{i}") for ns in NAMESPACES for i in range(args.universe)]
        self.totals = Totals()
        self.found = {"lost": 0, "resurrected": 0, "wrong": 0, "partial": 0}
        self.outcome = {"applied": 0, "not_applied": 0, "noop": 0}
        self.ready_times: list[float] = []
        self.slowest: list[tuple[float, float, int]] = []  # (ready, listening, cycle)
        self.first_ready = float("nan")
        self.startup_kills = 0
        self.client_errors = 0
        self.tracebacks = 0
        self.failures: list[str] = []
        self.cycles_done = 0
        self.extra = [
            "--flush-rows",
            str(args.flush_rows),
            "--flush-log-mb",
            str(args.flush_log_mb),
            "--graph-step-work",
            str(args.graph_step_rows * args.dim),
            *shlex.split(args.server_args),
        ]
        self.server = Server(data, log_path, self.extra)

    def present(self) -> int:
        return sum(len(m) for m in self.models)

    def _check_log(self, when: str = "") -> None:
        if self.server.tracebacks():
            self.tracebacks += 1
            self.failures.append(
                f"{when or f'cycle {self.cycles_done + 1}'}: a traceback in the server log (life "
                f"{self.server.lives})"
            )

    def start(self) -> None:
        t0 = self.server.spawn()
        self.first_ready = self.server.wait_ready(t0, self.args.ready_timeout)
        Pinecone(api_key="soak", host=self.server.url).create_index(
            name=INDEX,
            dimension=self.args.dim,
            metric="cosine",
            spec=ServerlessSpec(cloud="aws", region="us-east-1"),
        )

    def cycle(self, cycle: int) -> None:
        """One cycle: writes, kill -9, restart, check. Problems go to ``self.failures``."""
        args = self.args
        crng = random.Random(f"{args.seed}:{cycle}")
        pc = Pinecone(api_key="soak", host=self.server.url)
        clients = [pc.Index(name=INDEX) for _ in range(self.writers)]
        old_port = _port(clients[0])
        threads = [
            Writer(
                me,
                self.owned[me],
                clients[me],
                self.models[me],
                random.Random(crng.getrandbits(64)),
                args.dim,
                self.counters[me],
            )
            for me in range(self.writers)
        ]
        for t in threads:
            t.start()
        run = crng.uniform(args.min_run, args.max_run)
        time.sleep(run)
        self._check_log()
        kill_at = time.monotonic()
        self.server.kill()
        startup_kill = crng.random() < args.startup_kills
        t0 = self.server.spawn()
        if startup_kill:  # once more while it starts: imports, opening and recovering the store
            self.startup_kills += 1
            time.sleep(
                crng.uniform(0.3, 1.0) * (self.ready_times[-1] if self.ready_times else self.first_ready)
            )
            self._check_log()
            self.server.kill()
            t0 = self.server.spawn()
        ready = self.server.wait_ready(t0, args.ready_timeout)
        self.ready_times.append(ready)
        self.slowest = sorted([*self.slowest, (ready, self.server.listening_at - t0, cycle)], reverse=True)[
            :3
        ]

        inflight: list[Op] = []
        acked = acked_records = 0
        for t in threads:
            op, err, err_at = t.abandon()
            if op is not None:
                inflight.append(op)
            if err is not None and err_at < kill_at:
                self.client_errors += 1
                self.failures.append(f"cycle {cycle}: an SDK call failed while the server was up: {err}")
            self.counters[t.me] = t.counter
            acked += t.totals.acked_ops
            acked_records += t.totals.acked_records
            self.totals.acked_ops += t.totals.acked_ops
            self.totals.acked_records += t.totals.acked_records
            for k, v in t.totals.kinds.items():
                self.totals.kinds[k] = self.totals.kinds.get(k, 0) + v

        vindex = Pinecone(api_key="soak", host=self.server.url).Index(name=INDEX)
        if old_port in self.server.ports() | {_port(vindex)}:
            for t in threads:  # an old client's retry could reach the new server: let them end first
                t.join(120)
        v0 = time.monotonic()
        full = args.verify == "full" or cycle % args.full_every == 0 or cycle == args.cycles
        slots: Sequence[Slot] = self.universe
        if not full:
            touched = set().union(*(t.touched for t in threads))
            slots = sorted(touched.union(crng.sample(self.universe, min(args.sample, len(self.universe)))))
        res = check_cycle(self.models, self.writers, inflight, fetch_slots(vindex, slots), slots)
        for k in self.outcome:
            self.outcome[k] += getattr(res, k)
        for k in self.found:
            self.found[k] += getattr(res, k)
        problems = list(res.details)
        model_ns: dict[str, int] = {}
        for m in self.models:
            for ns, _ in m:
                model_ns[ns] = model_ns.get(ns, 0) + 1
        total, stats_ns = stats_of(vindex)
        if total != self.present() or stats_ns != model_ns:
            problems.append(f"stats: total {total} {stats_ns}, model {self.present()} {model_ns}")
        problems += query_check(vindex, self.models, self.writers, args.dim, crng)
        _close(vindex)
        verify_s = time.monotonic() - v0
        self.failures += [f"cycle {cycle}: {p}" for p in problems]
        self._check_log()
        self.cycles_done = cycle
        print(
            f"cycle {cycle:4d}/{args.cycles}  run {run:4.2f} s  acked {acked:4d} ops {acked_records:6d} rec  "
            f"in flight {len(inflight)} (applied {res.applied}, not {res.not_applied}, no-op {res.noop})  "
            f"ready {ready:5.2f} s (listening {self.server.listening_at - t0:5.2f} s)"
            f"{' (killed mid-start too)' if startup_kill else ''}  "
            f"present {self.present():6d}  checked {res.checked} ({'full' if full else 'sample'}) in "
            f"{verify_s:4.2f} s  {'VIOLATION' if self.failures else 'ok'}",
            flush=True,
        )

    def finish(self) -> list[str]:
        """After the last cycle: idle until fully indexed, SIGTERM, ``spruce verify``; the summary."""
        args = self.args
        idle_s = float("nan")
        unindexed: object = "?"
        exit_code: object = "?"
        verify_line = "not run"
        proc = self.server.proc
        if proc is not None and proc.poll() is None and self.server.url and not self.failures:
            try:
                i0 = time.monotonic()
                while True:
                    unindexed = raw_stats(self.server.url).get("unindexedRecordCount")
                    if unindexed == 0 or time.monotonic() - i0 > args.idle_wait:
                        break
                    time.sleep(0.5)
                idle_s = time.monotonic() - i0
                if unindexed != 0:
                    stats = raw_stats(self.server.url)
                    stats.pop("namespaces", None)
                    self.failures.append(
                        f"after the last cycle: unindexedRecordCount still {unindexed} after {idle_s:.0f} s "
                        f"idle (background work never finishes): {stats}"
                    )
            except Exception as exc:
                self.failures.append(f"after the last cycle: stats: {type(exc).__name__}: {exc}")
            exit_code = self.server.terminate()
            if exit_code != 0:
                self.failures.append(f"after the last cycle: SIGTERM: exit status {exit_code}")
            self._check_log("after the last cycle")
            done = subprocess.run(
                [sys.executable, "-m", "spruce.cli", "verify", "--data", str(self.data)],
                capture_output=True,
                text=True,
            )
            lines = (done.stdout + done.stderr).strip().splitlines()
            verify_line = f"exit {done.returncode} ({lines[-1] if lines else ''})"
            if done.returncode != 0:
                self.failures.append("after the last cycle: spruce verify: " + "\n".join(lines[-20:]))
        elif proc is not None and proc.poll() is None:
            self.server.kill()  # a violation: the store stays as the kill left it
        allocated, apparent, files = disk_usage(self.data)
        k = self.totals.kinds
        rt = self.ready_times
        return [
            f"command: {self.command}",
            f"cycles: {self.cycles_done} of {args.cycles} ({self.startup_kills} killed once more while "
            f"starting), {self.writers} writers, seed {args.seed}, dim {args.dim}, universe {args.universe} "
            f"ids x {len(NAMESPACES)} namespaces, verify {args.verify}, server {shlex.join(self.extra)}",
            f"acknowledged: {self.totals.acked_ops} operations ({k.get('upsert', 0)} upserts, "
            f"{k.get('delete', 0)} deletes by id, {k.get('update', 0)} updates, "
            f"{k.get('delete_by_filter', 0)} deletes by filter), {self.totals.acked_records} record writes; "
            f"{self.present()} records present at the end",
            f"in flight at a kill: {sum(self.outcome.values())} operations: "
            f"{self.outcome['applied']} applied whole, {self.outcome['not_applied']} not applied, "
            f"{self.outcome['noop']} changing nothing",
            " ".join(f"{k}={v}" for k, v in self.found.items())
            + f" client_errors={self.client_errors} tracebacks={self.tracebacks} "
            f"violations={len(self.failures)}",
            f"reopen to ready (spawn to GET /ready 200, interpreter start included): "
            f"median {_pct(rt, 50):.2f} s, p95 {_pct(rt, 95):.2f} s, max {_pct(rt, 100):.2f} s "
            f"over {len(rt)} restarts "
            f"(first start, empty store: {self.first_ready:.2f} s); slowest: "
            + ", ".join(f"{r:.2f} s (listening at {lst:.2f} s) in cycle {c}" for r, lst, c in self.slowest),
            f"after the last restart, idle: unindexedRecordCount {unindexed} after {idle_s:.1f} s; "
            f"SIGTERM: exit {exit_code}; spruce verify: {verify_line}",
            f"store on disk: {allocated / 2**20:.1f} MiB allocated ({apparent / 2**20:.1f} MiB apparent, "
            f"{files} files)",
        ]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    command = shlex.join(["python", "benchmarks/soak_kill9.py", *argv])
    if args.data is None:
        work = Path(tempfile.mkdtemp(prefix="spruce-soak-"))
        data, log_path, temporary = work / "store", work / "server.log", True
    else:
        data = Path(args.data)
        if data.exists() and any(data.iterdir()):
            print(f"soak: {data} is not empty (the model starts from an empty store)", file=sys.stderr)
            return 2
        data.mkdir(parents=True, exist_ok=True)
        log_path, temporary = data.parent / f"{data.name}-server.log", False
    soak = Soak(args, data, log_path, command)
    print(f"command: {command}")
    print(f"store: {data}  server log: {log_path}")
    print(f"spruce: {_source()}")
    print(f"machine: {os.cpu_count()} cores, load average {_load()}", flush=True)
    started = time.monotonic()
    try:
        soak.start()
        print(f"first start (empty store) to ready: {soak.first_ready:.2f} s", flush=True)
        for cycle in range(1, args.cycles + 1):
            soak.cycle(cycle)
            if soak.failures:
                break
    except Exception as exc:  # the server not reopening, the index gone, a fetch failing: violations too
        soak.failures.append(
            f"cycle {soak.cycles_done + 1}: {type(exc).__name__}: {exc}\n{traceback.format_exc()}"
        )
    summary = soak.finish()
    print(f"\nsummary ({(time.monotonic() - started) / 60:.1f} min, load average at the end {_load()})")
    for line in summary:
        print("  " + line)
    if soak.failures:
        print(f"\nVIOLATIONS (seed {args.seed}; repro: {command})")
        for f in soak.failures[:40]:
            print("  " + f)
        print(f"  store kept: {data}")
        print(f"  server log: {log_path}; the tail of the last life:")
        for line in "".join(soak.server.lines[-40:]).splitlines():
            print("    " + line)
        return 1
    if temporary and not args.keep:
        shutil.rmtree(data.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
