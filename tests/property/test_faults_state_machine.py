"""The engine under storage faults: random writes against a dict model while the object store fails.

A hypothesis ``RuleBasedStateMachine`` drives a ``Database`` opened on a ``FaultyStore``
(``tests/support/faulty_store.py``: a real ``LocalStore`` in a temporary directory whose puts, gets,
lists and deletes fail on cue, and which can lose power) with one dense index of dimension 4 (metric
drawn), a tiny ``flush_rows`` so that flushes and compactions run all the time (background thread on),
and sometimes a tiny ``ann_min_rows`` so that graphs are written too. Rules: writes (upserts, deletes by
id and by filter, updates by id and by filter, ``delete_all``); arming faults (EIO, ENOSPC, a failed fsync
of an object or of its directory; on any key or only on log entries, segments and graphs, bitmaps and
manifests; in the caller's thread, the background thread, or either; a count, a probability); a full
disk that is later freed; a fault aimed at a background step; explicit flush and compaction; close and
reopen (with and without the flush on close, and with a read failing during the open); and power loss
(at a random moment, or inside a put: while its temporary file is written, after its link, after its
directory fsync; the put being a write's log entry, an explicit flush's or a background step's object).

The model holds the acknowledged writes. A write is acknowledged when its call returns: the engine logs
a write as one object and answers only after that object's put returned (``engine.state``: durable
first, then applied in memory; nothing after the put can fail but an internal error). So:

* a write that returned is visible at once (after every step everything is read back: ``fetch`` of every
  id, ``list_paginated``, an unfiltered query over all records with scores checked against the model,
  ``describe_index_stats`` counts), and survives every reopen and power loss; its LSN advanced;
* a write that raised changed nothing visible, its LSN included, and its error is a spruce error that
  fits what happened to its log put: ``DiskFullError`` only for an injected ENOSPC, with nothing stored
  and the store saying it is out of space; ``StoreReadOnlyError`` only once the store is poisoned (a
  failed fsync, or EIO while writing); ``StoreClosedError`` only after the power went. Nothing else, a
  raw ``OSError`` least of all. Explicit flush and compaction may also raise ``InternalError`` for a
  read that failed;
* a write that raised *after* its log entry was linked (its directory fsync failed, or the power went
  after the link) is in doubt: invisible while the process runs; after a restart present exactly when
  its log object is on disk (and whole: never half a batch);
* while the store is poisoned no write changes anything; a reopen gives back exactly the model and takes
  writes again;
* with the disk full, writes fail with ``DiskFullError``, reads go on, ``Database.not_ready`` and the
  stats' ``background_error`` say so; once space is back the next write works without a reopen;
* a background step hit by a fault loses nothing and ``describe_index_stats().background_error`` shows
  the failure (or, where that is already cleared again, the step was retried with success, or the store
  is poisoned and ``Database.not_ready`` says so); a reopen gives back the model;
* after a power loss the reopened store equals the model (acknowledged puts survive; objects of puts
  that did not return, and deletes not yet synced, may or may not: see the wrapper); LSNs never go back.
* the background thread stops within ``STOP_S`` when the database closes, whatever the store did.

The background thread runs on its own schedule, so a fault armed for "any" thread may be taken by either;
each call is judged by what happened to *its* puts (the wrapper records the thread of every fault), so
the checks hold whatever the interleaving, but a failing sequence may not replay exactly.

Environment knobs: ``SPRUCE_FAULT_EXAMPLES`` / ``SPRUCE_FAULT_STEPS`` (CI defaults below),
``SPRUCE_FAULT_RANDOM=1`` for a fresh random run (and the example database) instead of the derandomised
one CI uses, ``SPRUCE_FAULT_SHRINK=1`` to shrink a failure (on by default only in random runs).

After the machine: the wrapper checked against the real store, then the bugs this file found (by the
machine, or while writing the wrapper), each as a plain test that failed before its fix.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule
from tests.property.test_engine_state_machine import (
    IDS,
    UNKNOWN_IDS,
    Record,
    as_float32,
    filters,
    fingerprint,
    machine_settings,
    meta_equal,
    meta_values,
    metadata,
    normalise_meta,
    patches,
    raw_vectors,
    score,
)
from tests.support.faulty_store import (
    BACKGROUND_THREAD_PREFIX,
    CrashStage,
    ErrorKind,
    FaultyStore,
    Injected,
    Operation,
    ThreadFilter,
    key_kind,
)

from spruce.engine import Database
from spruce.errors import (
    DiskFullError,
    InternalError,
    SpruceError,
    StoreClosedError,
    StoreReadOnlyError,
)
from spruce.filter import reference_matches
from spruce.storage.objectstore import LocalStore

EXAMPLES = int(os.environ.get("SPRUCE_FAULT_EXAMPLES", "40"))
STEPS = int(os.environ.get("SPRUCE_FAULT_STEPS", "30"))
RANDOM_RUN = os.environ.get("SPRUCE_FAULT_RANDOM", "") not in ("", "0")
SHRINK = os.environ.get("SPRUCE_FAULT_SHRINK", "1" if RANDOM_RUN else "") not in ("", "0")

INDEX = "faults"
DIM = 4
NAMESPACES = ["", "ns1"]
QUERY = [1.0, 0.5, -0.5, 2.0]
REACH_S = 2.0  # longest wait for the background thread to reach an armed fault (it is woken at once)
SHOW_S = 5.0  # longest wait for a background failure to show in the stats
STOP_S = 10.0  # longest wait for the background thread to stop at close

Model = dict[str, dict[str, Record]]
WriteOp = tuple[Any, ...]

# ---------------------------------------------------------------- strategies

namespaces = st.sampled_from(NAMESPACES)
upserts = st.tuples(
    st.just("upsert"),
    namespaces,
    st.lists(
        st.tuples(st.sampled_from(IDS), raw_vectors, st.one_of(st.none(), metadata)), min_size=1, max_size=4
    ),
)
# a patch that sets at least one field (update by filter needs one)
some_patch = st.tuples(
    patches, st.sampled_from(sorted(meta_values)).flatmap(lambda k: meta_values[k].map(lambda v: (k, v)))
).map(lambda pair: {**pair[0], pair[1][0]: pair[1][1]})
write_ops: st.SearchStrategy[WriteOp] = st.one_of(
    upserts,
    upserts,
    st.tuples(
        st.just("delete"), namespaces, st.lists(st.sampled_from(IDS + UNKNOWN_IDS), min_size=1, max_size=3)
    ),
    st.tuples(
        st.just("update"), namespaces, st.sampled_from(IDS), st.one_of(st.none(), raw_vectors), patches
    ),
    st.tuples(st.just("delete_filter"), namespaces, filters),
    st.tuples(st.just("update_filter"), namespaces, filters, some_patch),
    st.tuples(st.just("delete_all"), namespaces),
)
# (operation, error) pairs the wrapper injects, and the kinds of key they may be aimed at
FAULTS: list[tuple[Operation, ErrorKind]] = [
    ("put", "eio"),
    ("put", "enospc"),
    ("put", "fsync"),
    ("put", "fsync_dir"),
    ("get", "eio"),
    ("list", "eio"),
    ("delete", "eio"),
]
PUT_ERRORS: list[ErrorKind] = ["eio", "enospc", "fsync", "fsync_dir"]
KINDS: list[frozenset[str] | None] = [
    None,
    frozenset({"log"}),
    frozenset({"seg", "ann"}),
    frozenset({"manifest", "del"}),
]
BACKGROUND_KINDS = [frozenset({"seg"}), frozenset({"manifest"}), frozenset({"del", "ann", "manifest"})]
THREADS: list[ThreadFilter] = ["any", "foreground", "background"]
STAGES: list[CrashStage | None] = [None, "partial", "linked", "durable"]
READS: list[Operation] = ["get", "list"]
STEP_KINDS = {"seg", "manifest", "del"}  # what a flush puts


def copy_model(model: Model) -> Model:
    return {ns: dict(space) for ns, space in model.items()}


def background(i: Injected) -> bool:
    return i.thread.startswith(BACKGROUND_THREAD_PREFIX)


def wait_for(done: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


# ---------------------------------------------------------------- the machine


class FaultMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="spruce-faults-"))
        self.root = self.dir / "store"
        self.seeds = iter(range(1, 1 << 30))
        self.fs: FaultyStore | None = None
        self.db: Database | None = None
        self.model: Model = {}
        self.last_lsn = 0
        self.metric = "cosine"
        self.flush_rows = 3
        self.ann_min_rows = 10_000
        # a write that raised after its log entry was linked: (that entry's key, the model with the write)
        self.in_doubt: tuple[str, Model] | None = None

    # ------------------------------------------------------------ lifecycle

    @property
    def store(self) -> FaultyStore:
        assert self.fs is not None
        return self.fs

    @property
    def database(self) -> Database:
        assert self.db is not None
        return self.db

    @property
    def idx(self) -> Any:
        return self.database.index(INDEX)

    def _database(self, fs: FaultyStore) -> Database:
        try:
            return Database(fs, flush_rows=self.flush_rows, ann_min_rows=self.ann_min_rows, disk_reserve=0)
        except BaseException:
            fs.close()
            raise

    def _open(self) -> None:
        self.fs = FaultyStore(self.root, seed=next(self.seeds))
        self.db = self._database(self.fs)

    def _close(self, db: Database, *, flush: bool) -> None:
        """Close ``db`` (never raises, whatever the store did) and check its background thread ended."""
        threads = [e._maint._thread for e in db._indexes.values()]
        db.close(flush=flush, wait=STOP_S)
        alive = [t.name for t in threads if t is not None and t.is_alive()]
        assert not alive, f"background threads still running {STOP_S} s after close: {alive}"

    @initialize(
        metric=st.sampled_from(["cosine", "euclidean", "dotproduct"]),
        flush_rows=st.sampled_from([2, 3, 5]),
        ann_min_rows=st.sampled_from([4, 10_000]),
    )
    def open_index(self, metric: str, flush_rows: int, ann_min_rows: int) -> None:
        self.metric, self.flush_rows, self.ann_min_rows = metric, flush_rows, ann_min_rows
        self._open()
        self.database.create_index(INDEX, dimension=DIM, metric=metric)
        self.check()

    def teardown(self) -> None:
        try:
            if self.db is not None:
                self.db.close(flush=False, wait=STOP_S)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _restart(self, *, power_loss: bool, flush: bool = False) -> None:
        """Close (after cutting the power, with ``power_loss``) and open a fresh store on the directory:
        the state must be the model, with a write in doubt exactly when its log object is on disk."""
        fs, db = self.store, self.database
        fs.disarm()
        if power_loss:
            fs.cut_power()
        self.db = None
        self._close(db, flush=flush and not power_loss)
        if power_loss:
            report = fs.power_loss()
            event(f"power loss: kept {len(report.kept)}, dropped {len(report.dropped)}")
            event(f"power loss: {len(report.undeleted)} deletes undone")
        if self.in_doubt is not None:
            key, with_it = self.in_doubt
            present = (self.root / key).exists()
            event(f"a write in doubt, {'present' if present else 'absent'} after the restart")
            if present:
                self.model = with_it
            self.in_doubt = None
        self._open()
        assert self.database.not_ready() is None, (
            f"a reopened store is not ready: {self.database.not_ready()}"
        )
        lsn = self.idx.lsn
        assert lsn >= self.last_lsn, f"the LSN went back from {self.last_lsn} to {lsn} over a restart"
        self.last_lsn = lsn

    # ------------------------------------------------------------ writes

    def _write_of(self, op: WriteOp) -> tuple[Callable[[], int], Callable[[Model], None]]:
        """The call making ``op`` (returning its LSN), and its effect on a model (changed in place)."""
        kind, ns = op[0], op[1]
        idx = self.idx
        if kind == "upsert":
            recs = op[2]
            batch = [
                (rid, list(raw[:DIM])) if meta is None else (rid, list(raw[:DIM]), meta)
                for rid, raw, meta in recs
            ]

            def upsert(m: Model) -> None:
                space = m.setdefault(ns, {})
                for rid, raw, meta in recs:  # the last of duplicate ids wins
                    space[rid] = (as_float32(raw[:DIM]), normalise_meta(meta), {})

            return lambda: int(idx.upsert(batch, namespace=ns).lsn), upsert
        if kind == "delete":
            ids = op[2]

            def delete(m: Model) -> None:
                for rid in ids:
                    m.get(ns, {}).pop(rid, None)

            return lambda: int(idx.delete(ids=ids, namespace=ns).lsn), delete
        if kind == "update":  # values replace, set_metadata merges
            rid, raw, patch = op[2], op[3], op[4]
            values = None if raw is None else list(raw[:DIM])

            def update(m: Model) -> None:
                space = m.get(ns, {})
                if rid in space:
                    old_values, old_meta, _ = space[rid]
                    new_values = old_values if values is None else as_float32(values)
                    space[rid] = (new_values, {**old_meta, **normalise_meta(patch)}, {})

            return lambda: int(
                idx.update(id=rid, values=values, set_metadata=patch, namespace=ns).lsn
            ), update
        if kind == "delete_filter":
            flt = op[2]

            def delete_filter(m: Model) -> None:
                space = m.get(ns, {})
                for rid in [rid for rid, (_, meta, _) in space.items() if reference_matches(flt, meta)]:
                    del space[rid]

            return lambda: int(idx.delete(filter=flt, namespace=ns).lsn), delete_filter
        if kind == "update_filter":
            flt, patch = op[2], op[3]

            def update_filter(m: Model) -> None:
                space = m.get(ns, {})
                for rid, (values, meta, sparse) in list(space.items()):
                    if reference_matches(flt, meta):
                        space[rid] = (values, {**meta, **normalise_meta(patch)}, sparse)

            return lambda: int(idx.update(filter=flt, set_metadata=patch, namespace=ns).lsn), update_filter
        assert kind == "delete_all"

        def delete_all(m: Model) -> None:
            m.pop(ns, None)

        return lambda: int(idx.delete(delete_all=True, namespace=ns).lsn), delete_all

    def _write(self, op: WriteOp) -> SpruceError | None:
        """Make one write and judge it (module docstring); the error it raised, if any. After a power cut
        the store is restarted at once (the process is "dead": nothing else may run in it)."""
        call, effect = self._write_of(op)
        want = copy_model(self.model)
        effect(want)
        changes = fingerprint(want) != fingerprint(self.model)
        fs = self.store
        me = threading.current_thread().name
        mark, others = fs.mark(), fs.activity(besides=me)
        poisoned = fs.poisoned
        lsn_before = self.idx.lsn
        try:
            lsn = call()
        except SpruceError as exc:
            event(f"write refused: {type(exc).__name__}")
            mine = [i for i in fs.injected_since(mark, thread=me) if key_kind(i.key) == "log"]
            quiet = not others[1] and fs.activity(besides=me) == others
            self._refused(op, exc, want, mine, concurrent_puts=not quiet)
            assert self.idx.lsn == lsn_before, f"{op[0]} raised {exc!r} but moved the LSN"
            if not fs.powered:
                self._restart(power_loss=True)
            return exc
        mine = [i for i in fs.injected_since(mark, thread=me) if key_kind(i.key) == "log"]
        assert not mine, f"{op[0]} returned although its log put failed: {mine}"
        assert not (poisoned and changes), f"{op[0]} changed data on a poisoned store"
        assert lsn >= self.last_lsn, f"{op[0]}: LSN {lsn} went back from {self.last_lsn}"
        if changes:
            assert lsn > self.last_lsn, f"{op[0]} changed the data but its LSN {lsn} did not advance"
        self.last_lsn = lsn
        self.model = want
        return None

    def _refused(
        self, op: WriteOp, exc: SpruceError, want: Model, mine: list[Injected], *, concurrent_puts: bool
    ) -> None:
        """A write raised: the error must fit what happened to its log put (``mine``: the faults injected
        into it); note a write left in doubt (its entry linked, its put failed)."""
        fs = self.store
        what = f"{op[0]} raised {type(exc).__name__}: {exc}"
        if isinstance(exc, DiskFullError):
            assert any(i.error == "enospc" for i in mine), f"{what}, with no ENOSPC injected into its put"
            for i in mine:
                assert not (self.root / i.key).exists(), f"{what}, yet {i.key} is stored"
            if not concurrent_puts:  # (a put of the background thread that worked clears out_of_space)
                assert fs.out_of_space, f"{what}, yet the store does not say it is out of space"
                assert self.database.not_ready() is not None, f"{what}, yet the database says it is ready"
        elif isinstance(exc, StoreReadOnlyError):
            assert fs.poisoned, f"{what}, but the store is not poisoned"
            assert self.database.not_ready() is not None, f"{what}, yet the database says it is ready"
            for i in mine:
                if i.error == "fsync_dir":
                    self.in_doubt = (i.key, want)
        elif isinstance(exc, StoreClosedError):
            assert not fs.powered, f"{what}, but the store is open and powered"
            for i in mine:
                if i.error in ("crash:linked", "crash:durable"):
                    self.in_doubt = (i.key, want)
        else:
            raise AssertionError(f"{what}: not an error a storage fault should cause") from exc

    @rule(op=write_ops)
    def write(self, op: WriteOp) -> None:
        self._write(op)
        self.check()

    @rule(op=write_ops)
    def write_more(self, op: WriteOp) -> None:
        self._write(op)
        self.check()

    # ------------------------------------------------------------ faults

    @rule(
        fault=st.sampled_from(FAULTS),
        kinds=st.sampled_from(KINDS),
        count=st.integers(1, 3),
        probability=st.sampled_from([1.0, 0.5]),
        thread=st.sampled_from(THREADS),
    )
    def arm(
        self,
        fault: tuple[Operation, ErrorKind],
        kinds: frozenset[str] | None,
        count: int,
        probability: float,
        thread: ThreadFilter,
    ) -> None:
        op, error = fault
        self.store.arm(op, error, count=count, probability=probability, kinds=kinds, thread=thread)

    @rule()
    def disarm(self) -> None:
        self.store.disarm()

    @rule(ops=st.lists(write_ops, min_size=1, max_size=3), resume=upserts)
    def disk_full(self, ops: list[WriteOp], resume: WriteOp) -> None:
        """Writes fail with DiskFullError while the disk is full, reads go on, and the first write after
        space is freed works, without a reopen."""
        fs = self.store
        if fs.poisoned:
            return
        fs.disarm()
        fs.fill_disk()
        for op in ops:
            before = fingerprint(self.model)
            others = fs.activity(besides=threading.current_thread().name)
            exc = self._write(op)
            if exc is None:
                assert fingerprint(self.model) == before, f"{op[0]} changed data on a full disk"
            else:
                assert isinstance(exc, DiskFullError) or fs.poisoned, f"{op[0]} on a full disk raised {exc!r}"
            self.check()
            quiet = not others[1] and fs.activity(besides=threading.current_thread().name) == others
            if fs.out_of_space and quiet:
                assert self.idx.describe_index_stats().background_error, (
                    "the stats do not say the disk is full"
                )
        fs.free_disk()
        assert fs.settle(), "puts still under way 10 s after the disk was freed"
        exc = self._write(resume)
        assert exc is None or fs.poisoned, f"a write after the disk was freed raised {exc!r}"
        if not fs.poisoned:  # (by a fault taken before the episode, in a put that ran late)
            assert not fs.out_of_space and self.database.not_ready() is None, self.database.not_ready()
        self.check()

    def _kick_background(self) -> None:
        """Make the background thread flush now (what a large unflushed log makes it do)."""
        self.idx._st.flush_requested = True
        self.idx._maint._wake.set()

    @rule(
        error=st.sampled_from(PUT_ERRORS),
        kinds=st.sampled_from(BACKGROUND_KINDS),
        op=upserts,
        then_reopen=st.booleans(),
    )
    def background_fault(
        self, error: ErrorKind, kinds: frozenset[str], op: WriteOp, then_reopen: bool
    ) -> None:
        """A fault in a background step (after an acknowledged upsert gave it rows to flush) loses nothing
        and shows in the stats."""
        fs = self.store
        if fs.poisoned or self.idx._maint._halted:
            return
        mark = fs.mark()
        armed = fs.arm("put", error, kinds=kinds, thread="background")
        self._write(op)
        self._kick_background()
        fired = wait_for(lambda: any(background(i) for i in fs.injected_since(mark)), REACH_S)
        fs.cancel(armed)
        event(f"background fault {'fired' if fired else 'not reached'}")
        if fired:
            (first,) = [i for i in fs.injected_since(mark) if background(i)][:1]
            shown = wait_for(lambda: bool(self.idx.describe_index_stats().background_error), SHOW_S)
            # The loop clears the error at its next round that raises nothing: a retry that worked, or one
            # with nothing to do (whose store may still be poisoned, which not_ready says).
            retried = any(background(d) for d in fs.done_since(first.seq))
            poisoned = fs.poisoned and self.database.not_ready() is not None
            event(f"background failure: {'shown' if shown else 'retried' if retried else 'poisoned'}")
            assert shown or retried or poisoned, f"a background step failed ({first}) and nothing shows it"
        self.check()
        if then_reopen:
            self._restart(power_loss=False)
            self.check()

    @rule(op=st.sampled_from(["flush", "compact"]))
    def maintenance(self, op: str) -> None:
        """An explicit flush or compaction: under faults it may fail, with a spruce error that fits."""
        fs = self.store
        mark = fs.mark()
        try:
            self.idx.flush() if op == "flush" else self.idx.compact()
        except SpruceError as exc:
            event(f"{op} raised {type(exc).__name__}")
            mine = fs.injected_since(mark, thread=threading.current_thread().name)
            what = f"{op} raised {exc!r}; faults injected into it: {mine}"
            if isinstance(exc, StoreClosedError):
                assert not fs.powered, what
            elif isinstance(exc, DiskFullError):
                assert any(i.error == "enospc" for i in mine), what
            elif isinstance(exc, StoreReadOnlyError):
                assert fs.poisoned, what
            elif isinstance(exc, InternalError):  # a read that failed
                assert any(i.op in ("get", "list") for i in mine), what
            else:
                raise AssertionError(what) from exc
        if not fs.powered:
            self._restart(power_loss=True)
        self.check()

    @rule(flush=st.booleans())
    def reopen(self, flush: bool) -> None:
        self._restart(power_loss=False, flush=flush)
        self.check()

    @rule(op=st.sampled_from(READS))
    def reopen_with_read_fault(self, op: Operation) -> None:
        """An open whose read fails raises a spruce error (``InternalError``), and the next open gives the
        model."""
        self._restart(power_loss=False)
        self._close(self.database, flush=False)
        self.db = None
        fs = FaultyStore(self.root, seed=next(self.seeds))
        fs.arm(op, "eio", thread="foreground")
        try:
            db = self._database(fs)
        except SpruceError as exc:
            event(f"open with a failing {op}: {type(exc).__name__}")
        else:
            self._close(db, flush=False)
            raise AssertionError(f"the open did no {op}? {fs.injected}")
        self._open()
        self.check()

    @rule(
        stage=st.sampled_from(STAGES), where=st.sampled_from(["write", "flush", "background"]), op=write_ops
    )
    def power_loss(self, stage: CrashStage | None, where: str, op: WriteOp) -> None:
        """The power goes: at once, or inside a put (a write's log entry, an explicit flush's object, a
        background step's); the store opened afterwards holds the model."""
        fs = self.store
        if stage is not None and not fs.poisoned:
            if where == "write":
                fs.arm_crash(stage, kinds={"log"}, thread="foreground")
                self._write(op)
            elif where == "flush":
                fs.arm_crash(stage, kinds=STEP_KINDS, thread="foreground")
                with contextlib.suppress(SpruceError):
                    self.idx.flush()
            elif not self.idx._maint._halted:
                fs.arm_crash(stage, kinds=STEP_KINDS, thread="background")
                self._write(op)
                if self.fs is fs:
                    self._kick_background()
                    wait_for(lambda: not fs.powered, REACH_S)
        if self.fs is fs:  # (a write that cut the power has restarted already)
            self._restart(power_loss=True)
        self.check()

    # ------------------------------------------------------------ the checks

    def check(self) -> None:
        idx = self.idx
        q = as_float32(QUERY[:DIM])
        for ns in NAMESPACES:
            space = self.model.get(ns, {})
            got = idx.fetch(IDS + UNKNOWN_IDS, namespace=ns).vectors
            assert sorted(got) == sorted(space), f"fetch in {ns!r}: {sorted(got)} != model {sorted(space)}"
            for rid, vec in got.items():
                values, meta, _ = space[rid]
                assert np.array_equal(as_float32(vec.values), values), f"fetch {ns!r}/{rid}: {vec.values}"
                assert meta_equal(vec.metadata, meta), f"fetch {ns!r}/{rid}: {vec.metadata} != {meta}"
            listed = [v.id for v in idx.list_paginated(limit=100, namespace=ns).vectors]
            assert listed == sorted(space), f"list {ns!r}: {listed} != model {sorted(space)}"
            matches = idx.query(vector=q.tolist(), top_k=len(IDS), namespace=ns).matches
            assert sorted(m.id for m in matches) == sorted(space), f"query {ns!r}: {[m.id for m in matches]}"
            for m in matches:
                want, tol = score(self.metric, space[m.id][0], q)
                assert abs(m.score - want) <= tol, f"query {ns!r}: score of {m.id} is {m.score}, model {want}"
        stats = idx.describe_index_stats()
        counts = {ns: s.vector_count for ns, s in stats.namespaces.items()}
        assert counts == {ns: len(space) for ns, space in self.model.items()}, f"stats {counts}"


TestFaultStateMachine = FaultMachine.TestCase
TestFaultStateMachine.settings = machine_settings(EXAMPLES, STEPS, random_run=RANDOM_RUN, shrink=SHRINK)


# ---------------------------------------------------------------- the wrapper against the real store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FaultyStore]:
    fs = FaultyStore(tmp_path / "store")
    yield fs
    fs.close()


def test_enospc_is_the_stores_own_disk_full(store: FaultyStore) -> None:
    store.arm("put", "enospc")
    with pytest.raises(DiskFullError):
        store.put_if_absent("indexes/u/log/1", b"x" * 100)
    assert store.out_of_space and store.not_writable() == "the disk is full"
    assert store.list("") == [] and not list((store.root / ".tmp").iterdir()), "a failed put left bytes"
    assert store.put_if_absent("indexes/u/log/1", b"y")
    assert not store.out_of_space and store.not_writable() is None


def test_a_failed_fsync_poisons_as_in_a_real_localstore(
    store: FaultyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.arm("put", "fsync")
    with pytest.raises(StoreReadOnlyError) as injected:
        store.put_if_absent("a/b", b"x")
    assert store.list("") == [] and store.poisoned

    real = LocalStore(tmp_path / "real")
    try:

        def failing(fd: int) -> None:
            raise OSError(errno.EIO, "Input/output error")

        monkeypatch.setattr(os, "fsync", failing)  # (as the store module sees it)
        with pytest.raises(StoreReadOnlyError) as genuine:
            real.put_if_absent("a/b", b"x")
        monkeypatch.undo()
        assert real.list("") == []
        assert store.not_writable() == real.not_writable()
        assert str(genuine.value).split(" (")[0] == str(injected.value).split(" (")[0]
        for s in (store, real):
            with pytest.raises(StoreReadOnlyError):
                s.put_if_absent("c", b"y")
            with pytest.raises(StoreReadOnlyError):
                s.delete("c")
    finally:
        real.close()


def test_a_failed_directory_fsync_leaves_the_object_linked(store: FaultyStore) -> None:
    store.arm("put", "fsync_dir", kinds={"log"})
    with pytest.raises(StoreReadOnlyError):
        store.put_if_absent("indexes/u/log/1", b"entry")
    assert store.get("indexes/u/log/1") == b"entry" and store.poisoned


def test_power_loss_keeps_acknowledged_puts_and_judges_the_rest(tmp_path: Path) -> None:
    fs = FaultyStore(tmp_path / "s", seed=3)
    assert fs.put_if_absent("indexes/u/log/1", b"one")
    assert fs.put_if_absent("indexes/u/seg/1.seg", b"segment")
    fs.delete("indexes/u/seg/1.seg")  # unsynced: may come back
    assert fs.put_if_absent("indexes/u/log/2", b"two")
    fs.delete("indexes/u/log/1")  # made durable by the next put into log/
    assert fs.put_if_absent("indexes/u/log/3", b"three")
    fs.arm_crash("linked", kinds={"log"})
    with pytest.raises(StoreClosedError):
        fs.put_if_absent("indexes/u/log/4", b"four")
    with pytest.raises(StoreClosedError):  # the process is dead
        fs.put_if_absent("indexes/u/log/5", b"five")
    fs.close()
    report = fs.power_loss(keep_unsynced=0.0, undo_deletes=1.0)
    assert report.dropped == {"indexes/u/log/4"} and report.undeleted == {"indexes/u/seg/1.seg"}
    again = FaultyStore(tmp_path / "s")
    try:
        assert again.list("") == ["indexes/u/log/2", "indexes/u/log/3", "indexes/u/seg/1.seg"]
        assert again.get("indexes/u/seg/1.seg") == b"segment"
    finally:
        again.close()


def test_a_crash_while_writing_leaves_only_a_temporary(tmp_path: Path) -> None:
    fs = FaultyStore(tmp_path / "s")
    fs.arm_crash("partial")
    with pytest.raises(StoreClosedError):
        fs.put_if_absent("k", b"x" * 1000)
    fs.close()
    report = fs.power_loss()
    assert report.partial_temporaries == 1 and not report.kept
    again = FaultyStore(tmp_path / "s")  # LocalStore drops temporaries when it opens
    try:
        assert again.list("") == [] and not list((again.root / ".tmp").iterdir())
    finally:
        again.close()


# ---------------------------------------------------------------- bugs found, as plain tests


def _small_store(where: Path | FaultyStore) -> Database:
    db = Database(where, flush_rows=1000, disk_reserve=0)
    if not db.has_index(INDEX):
        db.create_index(INDEX, dimension=2)
    return db


def test_eio_writing_a_log_entry_raises_a_spruce_error_and_changes_nothing(tmp_path: Path) -> None:
    """LocalStore mapped only ENOSPC; an EIO from ``write``/``link``/``mkdir`` escaped as a raw OSError.
    Now it poisons the store like a failed fsync (``StoreReadOnlyError``)."""
    fs = FaultyStore(tmp_path / "s")
    db = _small_store(fs)
    try:
        idx = db.index(INDEX)
        idx.upsert([("a", [1.0, 2.0])])
        fs.arm("put", "eio", kinds={"log"})
        with pytest.raises(SpruceError):
            idx.upsert([("b", [1.0, 2.0])])
        assert sorted(idx.fetch(["a", "b"]).vectors) == ["a"] and idx.lsn == 1
    finally:
        db.close(flush=False)
    db = _small_store(tmp_path / "s")
    try:
        assert sorted(db.index(INDEX).fetch(["a", "b"]).vectors) == ["a"]
    finally:
        db.close()


@pytest.mark.parametrize("op", READS)
def test_eio_reading_at_open_raises_a_spruce_error(tmp_path: Path, op: Operation) -> None:
    """``LocalStore.get`` and ``list`` let a raw OSError through (the catalog, a manifest, a log entry at
    open); now ``InternalError``."""
    _small_store(tmp_path / "s").close()
    fs = FaultyStore(tmp_path / "s")
    fs.arm(op, "eio")
    try:
        with pytest.raises(InternalError):
            Database(fs)
    finally:
        fs.close()


def test_an_unreadable_log_directory_is_not_an_empty_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``LocalStore.list`` walked with ``os.walk``, which skips a directory it cannot read: an EIO on the
    log directory at open gave an index without its acknowledged writes (and the next write then found
    its LSN taken). A scan that fails must fail the list."""
    db = _small_store(tmp_path / "s")
    db.index(INDEX).upsert([("a", [1.0, 2.0]), ("b", [0.5, 1.0])])
    db.close(flush=False)
    real = os.scandir

    def failing(path: Any = ".") -> Any:
        if str(path).endswith("/log"):
            raise OSError(errno.EIO, "Input/output error", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", failing)
    with pytest.raises(SpruceError):
        _small_store(tmp_path / "s").close(flush=False)
    monkeypatch.undo()
    db = _small_store(tmp_path / "s")
    try:
        assert db.index(INDEX).describe_index_stats().total_vector_count == 2
    finally:
        db.close()


def test_eio_deleting_in_an_explicit_flush_raises_a_spruce_error(tmp_path: Path) -> None:
    """A delete after the flush's commit (old manifest, covered log entries) failing with EIO escaped raw
    from ``flush()``; nothing may be lost either way."""
    fs = FaultyStore(tmp_path / "s")
    db = _small_store(fs)
    try:
        idx = db.index(INDEX)
        idx.upsert([("a", [1.0, 2.0])])
        fs.arm("delete", "eio", thread="foreground")
        with pytest.raises(SpruceError):
            idx.flush()
        assert sorted(idx.fetch(["a"]).vectors) == ["a"]
    finally:
        db.close(flush=False)
    db = _small_store(tmp_path / "s")
    try:
        assert sorted(db.index(INDEX).fetch(["a"]).vectors) == ["a"]
    finally:
        db.close()


def test_a_first_flush_that_failed_before_its_manifest_does_not_shadow_the_next(tmp_path: Path) -> None:
    """The first flush of an index puts ``seg/000000000001.seg``, then fails before its manifest (a full
    disk here; a crash or power loss there does the same). With no manifest, the open keeps that segment
    (nothing proves it garbage) and numbers segments from 1 again, so the next flush's put of
    ``seg/000000000001.seg`` found the name taken, returned False unchecked, and the manifest named the
    old segment: after a reopen the deleted record was back and the new one gone."""
    fs = FaultyStore(tmp_path / "s")
    db = _small_store(fs)
    try:
        db.index(INDEX).upsert([("old", [1.0, 2.0])])
        fs.arm("put", "enospc", kinds={"manifest"}, thread="foreground")
        with pytest.raises(DiskFullError):
            db.index(INDEX).flush()
    finally:
        db.close(flush=False)
    db = _small_store(tmp_path / "s")
    try:
        idx = db.index(INDEX)
        idx.delete(ids=["old"])
        idx.upsert([("new", [0.5, 1.0])])
        idx.flush()
    finally:
        db.close()
    db = _small_store(tmp_path / "s")
    try:
        assert sorted(db.index(INDEX).fetch(["old", "new"]).vectors) == ["new"]
    finally:
        db.close()
