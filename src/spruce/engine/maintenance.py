"""Background work of one index: flushing frozen memtables into segments, and compacting segments.

Both follow one pattern, so that neither blocks reads or writes for more than a moment:

1. *snapshot* (no lock beyond a brief read): choose the blocks and their currently live rows;
2. *build* (no lock): copy those rows into a new block, encode it as a segment object and put it, and
   build what searching it needs (metadata columns; the ANN index where the block is large);
3. *install* (``write_mu`` and the exclusive ``rw`` for an in-memory swap only): rows that died while
   building die in the new block too, and the old blocks forward to it;
4. *commit* (a brief shared ``rw`` to read the segments' liveness, then no lock): deletion bitmaps and a
   new manifest (the commit point) are written while writes go on (``IndexState.commit_manifest``);
5. *clean up* (no lock but ``rw`` in short exclusive steps): re-point the id map, delete log entries the
   manifest covers and objects no manifest names.

A crash at any point before the manifest commit leaves the previous manifest and the whole log, so
nothing is lost; objects written for the unfinished step are garbage-collected on the next open.

Flushes never build a graph: building one takes seconds (8 s for 50,000 x 384 on two cores), memtables
that freeze meanwhile wait, and every query scans their rows exactly until they are flushed. A flush only
copies the rows (in cluster order when they are many, see ``_build``) and compaction gives them a graph,
flushing what freezes meanwhile between the chunks of its build (``_flush_during_merge``).

Compaction policy: a segment whose dead rows exceed ``DEAD_FRACTION`` of it is rewritten (purging them
physically, and rebuilding its graph); a lone segment of at least ``ann_min_rows`` rows without a graph is
rewritten with one; otherwise a namespace's segments are merged into one, so a query searches one graph
per namespace (plus the exact tail). The exception is a small *tail*: segments next to
a graph-carrying main segment whose rows, all together, cost no more to scan exactly than the planner's
own exact threshold (``EXACT_MAX_WORK``, at most ``MAX_TAIL`` segments) stay as they are (merged among
themselves), so a trickle of small flushes does not rewrite a large main segment each time.

A merge into a segment that has a graph keeps that segment's rows, dead ones included, as the first rows
of the new one and inserts only the new rows into a copy of its graph: each record is inserted into a
graph about once, not once per merge.

Idle flush: when an index has taken no write for ``IDLE_FLUSH_S`` seconds, its memtables are flushed even
though they are below ``flush_rows``, so a quiet index ends up with nothing to replay on open and nothing
unindexed (``describe_index_stats().unindexed_records`` reaches 0).

Disk space: a step first checks that the store's free space covers what it is about to write (about twice
its rows' bytes: a segment, and a graph) plus ``disk_reserve`` (``engine.tuning``), left to
the log so that acknowledged writes keep working while background work waits. A step that finds too little
space, or hits ENOSPC, raises ``DiskFullError``; the loop then retries every few seconds (never stopping
for good, unlike other failures, see below) and resumes by itself once space is back.

Failures: a background step that raises is logged and shown in ``describe_index_stats().background_error``
(over HTTP, ``backgroundError``) until a step succeeds. The loop retries after a pause that doubles with
each failure in a row; the same failure ``HALT_AFTER`` times in a row is taken for deterministic (a bug,
or data it cannot handle), and the loop stops retrying it, saying so in the log and the stats: retrying
would only burn the cores and fill the log. Reads and writes go on either way (the log holds every
write); reopening the index starts the loop afresh.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

from spruce.engine.block import EXACT_MAX_WORK, Block, pick_rows
from spruce.engine.gil import responsive
from spruce.engine.namespace import Namespace
from spruce.engine.state import IndexState
from spruce.errors import DiskFullError, InternalError, StoreClosedError, StoreUnavailableError
from spruce.filter import MetadataColumns
from spruce.index.clusters import Clusters
from spruce.index.clusters import supports as cluster_metric
from spruce.index.hnsw import HnswIndex
from spruce.storage.checksum import crc32
from spruce.storage.packedmeta import PackedMetadata
from spruce.storage.segment import encode_segment, read_segment
from spruce.storage.versioned import VersionTaken
from spruce.text.analysis import Analyzer
from spruce.text.index import TextPostings
from spruce.types import SparseRows

__all__ = ["Maintainer"]

log = logging.getLogger("spruce.engine")
IntArray = np.ndarray[Any, np.dtype[np.int64]]
FloatArray = np.ndarray[Any, np.dtype[np.float32]]

DEAD_FRACTION = 0.2
_ROW_OVERHEAD = 512  # bytes per row besides its vector that a step may write (ids, metadata, columns)
REPOINT_STEP = 1024  # id-map entries re-pointed per exclusive hold of ``rw`` (about a millisecond)
CHUNK_ROWS = 16_384  # rows copied into a graph per call while building (bounds the transient copy)
IDLE_FLUSH_S = 2.0
HALT_AFTER = 3  # the same background failure this many times in a row stops the retries
FLUSH_ROUNDS = 4
MAX_TAIL = 4
# A block built without a graph is stored in cluster order above this many (rows x dimension), about 20,000
# rows at 384 dimensions: scanning it whole would cost a query over a millisecond (``index.clusters``).
CLUSTER_MIN_WORK = 4 * EXACT_MAX_WORK


def _load_malloc_trim() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None


_malloc_trim = _load_malloc_trim()


def release_freed_memory() -> None:
    """Hand the heap that a flush or merge freed back to the OS. glibc keeps freed memory in its arenas for
    reuse, and a merge frees hundreds of MB in pieces (row copies, graph bytes, Python lists), so without
    this the process's RSS stays at its peak although the memory is free."""
    if _malloc_trim is not None:
        _malloc_trim(0)


class _Abandoned(Exception):
    """Raised inside a background step when the loop is asked to stop: the step is restartable by
    construction (nothing it did is visible before its manifest commit)."""


class _Fenced(Exception):
    """Raised inside a background step when this process does not hold the index's lease any more, or its
    manifest commit was refused because a new holder committed first (``storage.lease``): nothing the step
    wrote is visible, and the state is reloaded from the newest manifest."""


@dataclass(slots=True)
class WorkDone:
    """What background work has done since the index was opened in this process: read by ``/metrics``
    and the storage report. Updated only by the thread holding ``Maintainer.mu``."""

    flushes: int = 0
    flush_seconds: float = 0.0
    compactions: int = 0
    compaction_seconds: float = 0.0
    bytes_written: int = 0
    """Segments and graphs written by flushes and compactions."""


def _size(payload: Any) -> int:
    if isinstance(payload, list | tuple):
        return sum(memoryview(part).nbytes for part in payload)
    return memoryview(payload).nbytes


class Maintainer:
    def __init__(self, state: IndexState, *, background: bool = True) -> None:
        self.state = state
        # background work needs the index's lease; a store of one process always holds it
        self.lease = state.store.lease(state.prefix + "lease")
        self.disk_reserve = state.tuning.disk_reserve
        self.mu = threading.Lock()  # one flush or compaction at a time; taken before write_mu
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._finishing = 0  # rows of a step installed in memory whose commit and clean-up still run
        self.error: str | None = None  # the last background failure, until a step succeeds
        self._failures = 0  # failures in a row
        self._last_failure: str | None = None  # type and message of the last one, to tell repeats
        self._halted = False
        self.insert_rate: float | None = None  # rows/s into a graph, as last measured (``engine.tuning``)
        self._base = 0  # the manifest version the steps under way started from (``commit_manifest``)
        self.done = WorkDone()
        state.on_freeze = self._wake.set
        if background:
            self._thread = threading.Thread(
                target=self._loop, name=f"spruce-maint-{state.config.name}", daemon=True
            )
            self._thread.start()

    # ------------------------------------------------------------ control

    def _warm(self) -> None:
        """Build the metadata columns of the segments loaded at open, and settle the id order ``list``
        reads (``engine.idorder``), in the background."""
        with self.state.rw.read():
            blocks = [b for ns in self.state.namespaces.values() for b in ns.segments]
            for ns in self.state.namespaces.values():
                if self._stop:
                    return
                ns.sorted_ids.settle()
        for block in blocks:
            if self._stop:
                return
            block.build_columns()

    def _loop(self) -> None:
        try:
            with responsive():
                self._warm()
        except Exception:
            log.exception("index %s: warming metadata columns failed", self.state.config.name)
        first = True  # work left by the last run starts at once: a process restarted often still progresses
        while not self._stop and not self._halted:
            if not first:
                self._wake.wait(timeout=IDLE_FLUSH_S * 2 ** min(self._failures, 6))
            first = False
            self._wake.clear()
            if self._stop:
                return
            if not self.lease.held():
                continue  # another process does this index's background work (``take_over`` wakes this)
            try:
                if self.state.flush_requested or self._idle_with_memtables():
                    self.flush_now()
                self.run_once()
            except _Abandoned:
                log.info("index %s: background step abandoned (stopping)", self.state.config.name)
                return
            except _Fenced as exc:
                self._fenced(exc)
            except (DiskFullError, StoreUnavailableError) as exc:
                # not counted towards HALT_AFTER: it passes when space is freed or the object store is back;
                # retried every few seconds
                log.warning("index %s: background work waits: %s", self.state.config.name, exc)
                self.error = f"{exc}"
                self._failures = min(self._failures + 1, 2)
            except StoreClosedError:
                # the store was closed under an index left open (e.g. at interpreter exit): nothing to do;
                # what was not flushed is in the log
                log.debug("index %s: store closed; background maintenance stops", self.state.config.name)
                return
            except Exception as exc:
                self._failed(exc)
            else:
                # a round with nothing to do proves nothing about a store that refuses writes (a failed
                # fsync): its error stays shown until a restart
                if self.state.store.not_writable() is None:
                    self.error, self._failures, self._last_failure = None, 0, None

    def _fenced(self, exc: Exception) -> None:
        """This process lost the lease during a step: forget what it meant to delete, and reload the state
        from the newest manifest (dropping the step it had installed but could not commit)."""
        name = self.state.config.name
        log.warning("index %s: background step fenced (%s); reloading the newest manifest", name, exc)
        self.lease.give_up()
        self.state.forget_doomed()
        self._finishing = 0
        with self.mu:
            self.state.reload()

    def take_over(self) -> None:
        """The lease was just taken (``IndexEngine.tick``): make this process the index's holder
        (``IndexState.take_over``) and start background work."""
        with self.mu:
            self.state.take_over()
        self._wake.set()

    def _failed(self, exc: Exception) -> None:
        """Record a background failure; stop retrying one that repeats ``HALT_AFTER`` times in a row."""
        name = self.state.config.name
        what = f"{type(exc).__name__}: {exc}"
        self._failures = self._failures + 1 if what == self._last_failure else 1
        self._last_failure = what
        log.error("index %s: background maintenance failed (%d in a row)", name, self._failures, exc_info=exc)
        self.error = what
        if self._failures >= HALT_AFTER:
            self._halted = True
            self.error = f"{what} (the same failure {self._failures} times in a row: background work stopped)"
            log.error("index %s: background maintenance stopped; reopen the index to retry", name)

    def stop(self, timeout: float | None = None) -> bool:
        """Stop the loop: the step in progress is abandoned at its next chunk (``_Abandoned``; its objects
        are garbage no manifest names, collected later) and the thread joined, for at most ``timeout``
        seconds if given. True if the thread is gone."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def request_stop(self) -> None:
        """Ask the loop to stop, without waiting (a server's shutdown asks every index at once)."""
        self._stop = True
        self._wake.set()

    def _abandoning(self) -> bool:
        """The loop was asked to stop and this is its thread (an explicit flush or compact goes on)."""
        return self._stop and threading.current_thread() is self._thread

    def _check_stop(self) -> None:
        if self._abandoning():
            raise _Abandoned
        if not self.lease.held():
            raise _Fenced("the lease was lost")

    def run_once(self) -> None:
        """Run every compaction that is due (and flush what froze meanwhile)."""
        try:
            self._run_once()
        except _Fenced as exc:
            self._fenced(exc)

    def _run_once(self) -> None:
        with self.mu, responsive():
            if self.state.closed or self.state.failed or not self.lease.held():
                return
            self._base = self.state.manifest.version
            if self._flush_all():
                release_freed_memory()
            while not self._abandoning() and self._compact_step():
                self._flush_all()  # memtables frozen while the step ran: to segments before the next
                release_freed_memory()

    def _flush_all(self) -> bool:
        """Flush frozen blocks, again if more froze meanwhile (a bulk load freezes one every second or
        so), up to ``FLUSH_ROUNDS`` times so that a load that never pauses cannot starve compaction."""
        did = False
        for _ in range(FLUSH_ROUNDS):
            if not self._flush_frozen():
                break
            did = True
        return did

    def _flush_during_merge(self) -> None:
        """Called between the chunks of a merge's graph build: flush memtables frozen since it began.
        Until they are segments, every query scans their rows exactly, and a large merge takes 10-40 s.

        Safe to interleave: the flush installs a new segment beside the blocks being merged (whose install
        checks only that those are still there), and the merge has put no object yet that the flush's
        garbage collection could take for a leftover (its segment and graph are put after the build)."""
        st = self.state
        with st.rw.read():
            frozen = any(ns.frozen for ns in st.namespaces.values())
        if frozen:
            self._flush_frozen()

    def _idle_with_memtables(self) -> bool:
        st = self.state
        if time.monotonic() - st.last_write < IDLE_FLUSH_S:
            return False
        with st.rw.read():
            return any(ns.memtable.n for ns in st.namespaces.values())

    def pending_rows(self) -> int:
        """Live rows that background work has still to move (caller holds ``rw``): rows in memtables and
        frozen blocks, and rows of the segments the compaction policy would rewrite next, except the rows
        of a graph that the next merge only extends (they are indexed already)."""
        waiting = 0
        for ns in self.state.namespaces.values():
            waiting += ns.memtable.n_alive + sum(b.n_alive for b in ns.frozen)
            plan = self._plan_namespace(ns, capped=False)
            if plan is not None:
                blocks, graph, _ = plan
                # an extend keeps its base's rows in the graph they are already in: only the rest are new
                waiting += sum(b.n_alive for b in (blocks[1:] if graph == "extend" else blocks))
        # 0 must mean idle: not while the last step commits its manifest and deletes what it replaced
        return waiting or self._finishing

    def flush_now(self) -> None:
        """Freeze every memtable and flush it, synchronously (explicit flush, close)."""
        try:
            self._flush_now()
        except _Fenced as exc:
            self._fenced(exc)

    def _flush_now(self) -> None:
        with self.mu, responsive():
            st = self.state
            if not self.lease.held():
                return  # the holder flushes (another process; the log has every write meanwhile)
            self._base = st.manifest.version
            with st.write_mu:
                if st.failed is not None:
                    return
                with st.rw.write():
                    st.freeze_all()
                frozen_at = st.lsn
            # Everything up to ``frozen_at`` is now in segments or frozen blocks; a write that lands after
            # this point is in the new memtables only, so the manifest must not claim its LSN.
            self._flush_frozen(upto=frozen_at)

    def _ensure_room(self, rows: int) -> None:
        """Refuse a step writing ``rows`` rows unless the free space covers it and the reserve."""
        free = self.state.store.free_bytes()
        if free is None:
            return
        need = rows * (self.state.dim * 4 * 2 + _ROW_OVERHEAD)
        if free < need + self.disk_reserve:
            raise DiskFullError(
                f"the disk is full for background work: {free >> 20} MiB free, it needs about "
                f"{need >> 20} MiB beyond the {self.disk_reserve >> 20} MiB kept for the log; it resumes "
                "once space is freed"
            )

    # ------------------------------------------------------------ the pattern

    def _build(
        self,
        parts: list[tuple[Block, IntArray]],
        *,
        graph: str = "auto",
        between: Callable[[], None] = lambda: None,
    ) -> tuple[Block, list[tuple[Block, IntArray]]]:
        """Copy the given rows into a new block, put it as a segment object, and give it what searching
        needs (no lock held). Returns the block and the parts in the order its rows hold them (to install).

        ``graph``: "auto" builds an HNSW graph when the block has at least ``ann_min_rows`` rows; "none"
        builds none; "extend" copies the graph of ``parts[0]``'s block (all of whose rows must be in
        ``parts[0]``, in order, so its labels stay row numbers) and inserts the other parts' rows into it,
        so that merging into a large segment costs only the rows that are new to its graph. ``between``
        runs after each chunk of rows added to the graph (a merge flushes there, ``_flush_during_merge``).

        A large block left without a graph (a flush's rows, awaiting the compaction that gives them one) is
        clustered, and its rows stored in cluster order (``index.clusters``), so that queries read only the
        clusters near them until then. Rows from one source only: several sources are
        small segments merged among themselves (the tail), which stay below the threshold.
        """
        st = self.state
        total = sum(len(rows) for _, rows in parts)
        clusters: Clusters | None = None
        if not st.dim:
            graph = "none"  # a sparse index: its search is the postings (index.sparse), no dense side
        gets_graph = graph == "extend" or (graph == "auto" and total >= st.ann_min_rows)
        if (
            not gets_graph
            and len(parts) == 1
            and total * st.dim > CLUSTER_MIN_WORK
            and cluster_metric(st.config.metric)
        ):
            source, rows = parts[0]
            ordered = Clusters.order(_rows_of(source, rows), st.config.metric)
            if ordered is not None:
                clusters, perm = ordered
                parts = [(source, rows[perm])]
        ids = tuple(chain.from_iterable(pick_rows(b.ids, rows) for b, rows in parts))
        metas = PackedMetadata.gather((b.metadata, rows) for b, rows in parts)
        sparse = (
            SparseRows.concat([b.sparse_rows().take(rows) for b, rows in parts])
            if any(b.has_sparse for b, _ in parts)
            else None
        )
        # The rows go straight into the graph's storage, a chunk at a time; that storage then serves as
        # the new block's vectors and is what the segment is written from. Concatenating them first would
        # hold a second copy of every row (the peak RSS of a merge).
        ann: HnswIndex | None = None
        if graph == "extend":
            base, base_rows = parts[0]
            assert base.ann is not None and len(base_rows) == base.n
            ann = base.ann.clone(base.vectors, st.config.metric, reserve_rows=len(ids))
            for block, rows in parts[1:]:
                for start in range(0, len(rows), CHUNK_ROWS):
                    self._check_stop()
                    take = rows[start : start + CHUNK_ROWS]
                    self._timed_add(ann, _rows_of(block, take))
                    between()
                    # copied into the graph's storage: a mapped segment need not keep these pages
                    block.release_vector_pages(int(take[0]), int(take[-1]) - int(take[0]) + 1)
        elif graph == "auto" and len(ids) >= st.ann_min_rows:
            own = any(
                HnswIndex.needs_own_storage_by_norms(b.sq_norms[rows], st.config.metric) for b, rows in parts
            )
            ann = HnswIndex.empty(st.dim, st.config.metric, own_storage=own)
            ann.reserve(len(ids))
            for chunk, block, lo, hi in _chunks(parts):
                self._check_stop()
                self._timed_add(ann, chunk)
                block.release_vector_pages(lo, hi - lo)  # copied into the graph's storage
                between()
        vecs = ann.vectors() if ann is not None else None
        if vecs is None:  # no graph, or one holding a normalised copy: the block needs its own rows
            if len(parts) == 1 and ids:
                # one source (a flush): its rows as they lie, a view when contiguous (no second copy)
                vecs = _rows_of(*parts[0])
            elif ids:
                vecs = np.concatenate([b.vectors[rows] for b, rows in parts]).astype(np.float32, copy=False)
            else:
                vecs = np.empty((0, st.dim), dtype=np.float32)
        self._check_stop()
        with st.write_mu:
            key = st.next_segment_key()
        ann_key = key.removesuffix(".seg") + ".ann"
        columns = _gathered_columns(parts)
        text = _gathered_text(parts, len(ids), st.text_fields)
        block = Block(
            st.dim,
            ids=ids,
            vectors=vecs,
            metadata=metas,
            segment_key=key,
            ann=ann,
            columns=columns,
            clusters=clusters,
            sparse=sparse if sparse is not None and sparse.nnz else None,
            text_fields=st.text_fields,
            text=text,
        )
        block.ann_key = ann_key if ann is not None else None
        block.build_columns()  # now, not on the first filtered query; and they are persisted with the rows
        block.build_postings()
        if ids:
            ranges = clusters.to_parts() if clusters is not None else None
            index = block.postings
            encoded = encode_segment(
                ids,
                vecs,
                metas,
                block.columns_parts(),
                ranges,
                block.sparse_rows() if index is not None else None,
                index.to_parts() if index is not None else None,
                block.text_parts() if text is not None else None,
            )
            written = st.store.put_if_absent(key, encoded)
            self.done.bytes_written += _size(encoded)
            if not written:
                # numbers are never reused (open collects what no manifest names, and numbers past
                # leftovers), so a taken name is a bug: go on and a manifest would name another's rows
                raise InternalError(f"{key} already exists; the segment was not written")
            if ann is None and st.dim and st.store.local_path(key) is not None:
                # Rows without a graph are read from the segment's map from now on, not from the copy in
                # memory (the memtable's, freed once this block is installed): until they are merged
                # into a graph they cost the process only the pages that queries touch.
                block.map_vectors(read_segment(st.store, key))
        if ann is not None:

            def put_graph(data: memoryview) -> None:
                block.ann_crc = crc32(data)
                self.done.bytes_written += data.nbytes
                if not st.store.put_if_absent(ann_key, data):
                    raise InternalError(f"{ann_key} already exists; the graph was not written")

            ann.write_to(put_graph)
        return block, parts

    def _timed_add(self, ann: HnswIndex, rows: FloatArray) -> None:
        """Insert ``rows`` into ``ann``, updating the measured insertion rate (which sizes graph steps,
        ``engine.tuning``) from chunks large enough to time."""
        started = time.perf_counter()
        ann.add(rows)
        took = time.perf_counter() - started
        if len(rows) >= 1000 and took > 0:
            rate = len(rows) / took
            self.insert_rate = rate if self.insert_rate is None else 0.5 * (self.insert_rate + rate)

    def _finish(self, lsn: int, touched: list[Namespace]) -> None:
        st = self.state
        if not self.lease.held():
            raise _Fenced("the lease was lost before the commit")
        try:
            st.commit_manifest(lsn, base=self._base)  # (holds no index lock while it writes: writes go on)
        except VersionTaken as exc:
            raise _Fenced(f"{exc}") from exc
        self._base = st.manifest.version
        for ns in touched:
            while True:
                with st.rw.write():  # not write_mu: writes go on between steps (Namespace.repoint)
                    more = ns.repoint(REPOINT_STEP)
                if not more:
                    break
                time.sleep(0)  # hand the GIL to a waiting query: a step is C loops that never drop it
            with st.write_mu, st.rw.write():
                ns.drop_retired()
        st.retire(st.log.keys_upto(lsn))
        st.collect_garbage()
        st.reap()
        self._finishing = 0

    def _flush_frozen(self, *, upto: int | None = None) -> bool:
        """Flush every frozen block, oldest freeze first, committing a manifest at each freeze LSN (the last
        one at least ``upto``). True if there was anything to do.

        One freeze LSN at a time, so that each frozen memtable is freed as soon as it is a segment: a fast
        bulk load can leave many frozen memtables waiting, and building them all before installing any
        held every row twice. A manifest at a freeze LSN is valid once every block frozen at or before it
        is installed (``freeze_all`` freezes every namespace at once, at the same LSN)."""
        st = self.state
        groups: dict[int, list[tuple[Namespace, Block]]] = {}
        with st.rw.read():
            for ns in st.namespaces.values():
                for f in ns.frozen:
                    groups.setdefault(f.freeze_lsn, []).append((ns, f))
        if not groups and upto is None:
            return False
        started = time.monotonic()
        last = max([*groups, upto or 0])
        if not groups:
            self._finish(last, [])
        for lsn in sorted(groups):
            touched = []
            for ns, f in groups.pop(lsn):
                with st.rw.read():
                    rows = f.live_rows()
                self._ensure_room(len(rows))
                # Never a graph here (see the module docstring): compaction builds or extends it next.
                new, built = self._build([(f, rows)], graph="none")
                with st.write_mu, st.rw.write():
                    if st.namespaces.get(ns.name) is ns and any(f is b for b in ns.frozen):
                        ns.install([f], [r for _, r in built], new)
                        touched.append(ns)
                        self._finishing += new.n_alive
            self._finish(lsn if groups else last, touched)
        self.done.flushes += 1
        self.done.flush_seconds += time.monotonic() - started
        return True

    def _compact_step(self) -> bool:
        """One compaction, if any is due; True if it did one."""
        started = time.monotonic()
        st = self.state
        with st.rw.read():
            plan = self._plan()
            if plan is None:
                return False
            ns, old, graph, take = plan
            parts = [
                (b, np.arange(b.n, dtype=np.int64) if i == 0 and graph == "extend" else b.live_rows())
                for i, b in enumerate(old)
            ]
            if (
                take is not None
            ):  # a move: the first ``take`` live rows of the last block (``_plan_namespace``)
                parts[-1] = (parts[-1][0], parts[-1][1][:take])
        self._ensure_room(sum(len(rows) for _, rows in parts))
        new, parts = self._build(parts, graph=graph, between=self._flush_during_merge)
        with st.write_mu:
            with st.rw.write():
                if st.namespaces.get(ns.name) is not ns or not all(
                    any(b is s for s in ns.segments) for b in old
                ):
                    return True  # the namespace changed under us; the next round re-plans
                ns.install(old, [rows for _, rows in parts], new, moved_from=old[-1] if take else None)
                self._finishing = new.n_alive
            lsn = int(st.manifest_doc["lsn"])
        self._finish(lsn, [ns])
        self.done.compactions += 1
        self.done.compaction_seconds += time.monotonic() - started
        return True

    def _plan(self) -> tuple[Namespace, list[Block], str, int | None] | None:
        """What to compact next, in the first namespace that has something due."""
        for ns in self.state.namespaces.values():
            plan = self._plan_namespace(ns)
            if plan is not None:
                return ns, *plan
        return None

    def _plan_namespace(
        self, ns: Namespace, *, capped: bool = True
    ) -> tuple[list[Block], str, int | None] | None:
        """Purge a segment heavy with dead rows; else merge the segments into one (into the
        graph-carrying largest segment when there is one), except a small tail next to a graph (module
        docstring). Returns the blocks, the graph mode of ``_build``, and for a *move* the number of live
        rows to take from the last block (None: all of every block).

        ``capped``: a merge adds at most ``Tuning.graph_step_rows`` rows to a graph (at the insertion rate
        last measured), taking the other segments in order until that many, so that a large backlog is
        indexed in steps that each commit (``pending_rows`` plans uncapped, to count the whole backlog). A
        segment larger than that is *moved* into the graph a step at a time: its first rows join the graph,
        and it stays with those rows dead (``Namespace.install``), until its last step retires it. Not
        capped: a purge (it rebuilds its segment's graph) and a first graph (at least ``ann_min_rows``).
        Rows a move took count as neither dead nor live for the purge rule (``Block.moved``)."""
        for b in ns.segments:
            if b.n and (b.n - b.n_alive - b.moved) > DEAD_FRACTION * b.n:
                return [b], "auto", None
        if not ns.segments:
            return None
        if len(ns.segments) == 1:
            (only,) = ns.segments
            big = only.ann is None and only.n_alive >= self.state.ann_min_rows and self.state.dim > 0
            return ([only], "auto", None) if big else None  # a flush's rows, to be given a graph
        main = max(ns.segments, key=lambda b: (b.ann is not None, b.n))  # a graph is extended, not rebuilt
        rest = [b for b in ns.segments if b is not main]
        tuning = self.state.tuning
        cap = tuning.graph_step_rows(self.state.dim, self.insert_rate) if capped else sum(b.n for b in rest)
        if main.ann is None:  # a first graph: it needs ann_min_rows, whatever the step
            need = self.state.ann_min_rows
            chosen = [main, *_within(rest, max(cap, need) - main.n_alive)]
            # Too few rows for a graph within the budget: take segments until there are enough (or all:
            # one exact segment). Left alone, the segment would be rewritten without a graph, unchanged,
            # and planned again, for ever (found by benchmarks/soak_kill9.py).
            for b in rest:
                if sum(c.n_alive for c in chosen) >= need:
                    break
                if all(b is not c for c in chosen):
                    chosen.append(b)
            return chosen, "auto", None
        tail = sum(b.n_alive for b in rest)
        # a tail merged bigger than a graph step would later have to join the graph in one step
        if len(rest) <= MAX_TAIL and tail * self.state.dim <= EXACT_MAX_WORK and (tail <= cap or not capped):
            return (rest, "none", None) if len(rest) > 1 else None
        within = _within(rest, cap)
        if within:
            return [main, *within], "extend", None
        return [main, rest[0]], "extend", cap  # a move (docstring)


def _within(blocks: list[Block], budget: int) -> list[Block]:
    """The first blocks whose live rows add up to at most ``budget``."""
    out: list[Block] = []
    for b in blocks:
        if b.n_alive > budget:
            break
        out.append(b)
        budget -= b.n_alive
    return out


def _consecutive(rows: IntArray) -> bool:
    """Whether ``rows`` (distinct, not empty) are lo, lo+1, ..., in that order (a permutation of such a
    range, as a clustered flush passes, is not)."""
    lo, hi = int(rows[0]), int(rows[-1]) + 1
    return hi - lo == len(rows) and (len(rows) < 3 or bool(np.all(np.diff(rows) == 1)))


def _rows_of(block: Block, rows: IntArray) -> FloatArray:
    """The vectors of ``rows`` (distinct, not empty): a view when they are consecutive, else a copy."""
    return block.vectors[int(rows[0]) : int(rows[-1]) + 1] if _consecutive(rows) else block.vectors[rows]


def _chunks(
    parts: list[tuple[Block, IntArray]], size: int | None = None
) -> Iterator[tuple[FloatArray, Block, int, int]]:
    """The given rows of the given blocks, in order, ``size`` rows at a time (default ``CHUNK_ROWS``): views
    of contiguous runs of rows (no copy), else copies. With each chunk, its block and the span of rows
    (first, last + 1) it was read from, whose pages the caller may release once it has copied them."""
    size = size or CHUNK_ROWS
    for block, rows in parts:
        for start in range(0, len(rows), size):
            take = rows[start : start + size]
            yield _rows_of(block, take), block, int(take.min()), int(take.max()) + 1


def _gathered_text(
    parts: list[tuple[Block, IntArray]], rows: int, fields: Mapping[str, Analyzer]
) -> dict[str, TextPostings] | None:
    """The new block's full-text postings, per field, from its sources' (``TextPostings.gather``: array
    work, no text analyzed again); None for an index without full-text fields."""
    if not fields:
        return None
    out: dict[str, TextPostings] = {}
    for name in fields:
        sources = []
        first = 0
        for block, taken in parts:
            new_row = np.full(block.n, -1, dtype=np.int64)
            new_row[taken] = first + np.arange(len(taken), dtype=np.int64)
            first += len(taken)
            sources.append((block.text_postings(name), new_row))
        out[name] = TextPostings.gather(sources, rows)
    return out


def _gathered_columns(parts: list[tuple[Block, IntArray]]) -> MetadataColumns | None:
    """The new block's metadata columns taken from its sources' columns (``MetadataColumns.gather``, array
    work) when every source has them complete, as segments do; otherwise None, and the block builds them
    from the rows' metadata (a Python loop per value, which holds the GIL)."""
    sources = [(block.complete_columns(), rows) for block, rows in parts]
    complete = [(cols, rows) for cols, rows in sources if cols is not None]
    return MetadataColumns.gather(complete) if parts and len(complete) == len(parts) else None
