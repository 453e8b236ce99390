"""The durable state of one index: namespaces in memory, and the log and manifest that make them durable.

Write path (``write``): under ``write_mu``, resolve the request against the current state into operations
(``storage.ops``: resolved effects, not intents), append them to the log as one entry (durable when
``append`` returns), apply them in memory under the exclusive side of ``rw``, and return the entry's LSN.
Readers share ``rw`` and so see whole batches only, and every batch acknowledged before they began
(read-your-writes). A query holds it only to take a snapshot of the blocks (``Namespace.snapshot``) and
searches that after releasing it, so a write never waits for a slow search. Upserts, which do not
depend on the state, are group-committed (``write_upsert``): whoever holds ``write_mu`` logs every queued
upsert in one entry, with one fsync.

Storage prefix of an index: ``indexes/<uid>/`` with ``log/``, ``manifest/``, ``seg/``, ``del/`` below it.
Manifest document (JSON, see ``storage.versioned``)::

    {"lsn": 42, "next_segment": 7,
     "namespaces": {"films": [{"segment": "indexes/<uid>/seg/000000000003.seg", "rows": 1000,
                               "deleted": "indexes/<uid>/del/000000000003.5" | null,
                               "ann": "indexes/<uid>/seg/000000000003.ann",   (only with a graph)
                               "ann_storage": "segment" | "own",             (see index.hnsw)
                               "ann_crc": 123456789,                         (CRC-32 of the graph)
                               "moved": 2000}]}}                             (only after a move)

``moved``: rows of the segment that a graph step moved into another segment (``Namespace.install``):
dead in this one's bitmap, but not deletions, so neither the purge rule nor ``pending_deletions`` counts
them.

``lsn`` is the highest LSN whose effects are all in the named segments (and bitmaps). Segments may lack,
and bitmaps may mark dead, rows that were still live at ``lsn`` but died later (a flush or compaction
copies the rows live when it runs, and a bitmap is written when the manifest is). That is safe because
rows only ever go from live to dead, and every logged operation is self-contained (``storage.ops``):
replaying the log above ``lsn`` kills those rows again and recreates their replacements from the log.
Recovery: load the manifest's segments and bitmaps, replay the log above ``lsn``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

from spruce.docschema import text_analyzers
from spruce.engine.block import Block
from spruce.engine.namespace import Namespace
from spruce.engine.rwlock import RWLock
from spruce.engine.tuning import ANN_MIN_ROWS, Tuning
from spruce.errors import (
    DataCorruptionError,
    InvalidArgumentError,
    NotFoundError,
    StoreClosedError,
    StoreReadOnlyError,
    StoreUnavailableError,
)
from spruce.filter import Filter, MetadataColumns
from spruce.index.clusters import Clusters
from spruce.index.hnsw import HnswIndex
from spruce.index.sparse import Postings
from spruce.storage.checksum import file_crc32
from spruce.storage.log import Log, LogConflict
from spruce.storage.objectstore import ObjectStore
from spruce.storage.ops import (
    CreateNamespace,
    Delete,
    DropNamespace,
    Op,
    Upsert,
    decode_ops,
    encode_ops,
)
from spruce.storage.packedmeta import PackedMetadata
from spruce.storage.quarantine import VERIFY_HINT
from spruce.storage.segment import SegmentContents, decode_deleted, encode_deleted, read_segment
from spruce.storage.versioned import VersionedDoc, VersionTaken
from spruce.text.analysis import Analyzer
from spruce.text.index import TextPostings
from spruce.types import IndexConfig

__all__ = ["ANN_MIN_ROWS", "GRACE_S", "IndexState"]

# On a shared store (``ObjectStore.shared``): how long an object no manifest names any more is kept before it
# is deleted, so that a process still reading an older manifest finds its segments and log entries (module
# docstring, "Sharing"). A process checks for a newer manifest at least every ``GRACE_S / 3`` seconds
# before it trusts the end of the log it sees.
GRACE_S = 30.0
# segment numbers a new lease holder skips, so that it never picks a name a paused former holder may still
# write (that one goes on numbering in its own range, and its manifest commit is refused anyway)
TAKEOVER_GAP = 1 << 20
RELOAD_EVERY_S = 2.0  # a follower adopts the holder's newest manifest at least this often (``follow``)


log = logging.getLogger("spruce.engine")
T = TypeVar("T")


def _number(key: str) -> str:
    """The number a segment, graph or bitmap key is named by (`.../seg/000000000003.seg`: `000000000003`)."""
    return key.rsplit("/", 1)[1].split(".", 1)[0]


def _highest_number(keys: list[str]) -> int:
    """The highest segment number among ``keys`` (0 if none)."""
    return max([0, *(int(n) for key in keys if (n := _number(key)).isdigit())])


def _derived_lost(segment: str, what: str, why: object) -> None:
    """Report derived data of ``segment`` that failed on load; the caller drops it and it is rebuilt."""
    log.warning("segment %s: %s is damaged (%s); dropped, rebuilt from its rows", segment, what, why)


# a block whose graph is being read at open: the block, its manifest entry, its segment, the read
_GraphLoad: TypeAlias = tuple[Block, Mapping[str, Any], SegmentContents, "Future[HnswIndex | None]"]


@dataclass
class _Pending:
    """An upsert waiting for a group commit."""

    op: Upsert
    done: threading.Event = field(default_factory=threading.Event)
    lsn: int = 0
    error: BaseException | None = None


class IndexState:
    def __init__(self, store: ObjectStore, config: IndexConfig, tuning: Tuning) -> None:
        self.config = config
        self.store = store
        self.dim = config.dimension
        # a document index's full-text fields and their analyzers (none for a vector index)
        self.text_fields: dict[str, Analyzer] = text_analyzers(config)
        self.tuning = tuning
        self.flush_rows = tuning.flush_rows
        self.ann_min_rows = tuning.ann_min_rows
        # (lsn, bytes, records) of the log entries above the manifest, and their sums: what a replay at the
        # next open would cost, capped by ``flush_log_bytes`` and ``flush_log_records`` (``engine.tuning``)
        self._entries: deque[tuple[int, int, int]] = deque()
        self.unflushed_bytes = 0
        self.unflushed_records = 0
        self.flush_requested = False  # the log passed a cap: the maintainer flushes it all
        self._bytes_mu = threading.Lock()
        self.prefix = f"indexes/{config.uid}/"
        self.shared = store.shared
        self.log = Log(store, self.prefix + "log/", cut_torn_tail=not self.shared)
        self.manifest = VersionedDoc(store, self.prefix + "manifest/", b"SPRM")
        self.manifest_doc: dict[str, Any] = {"lsn": 0, "next_segment": 1, "namespaces": {}}
        self.namespaces: dict[str, Namespace] = {}
        self.lsn = 0
        self.write_mu = threading.Lock()
        self.rw = RWLock()
        self.closed = False
        self.failed: str | None = None
        self.on_freeze: Callable[[], None] = lambda: None
        self.last_write = time.monotonic()  # of the last logged write (idle flush, see maintenance)
        self._queue: list[_Pending] = []
        self._queue_mu = threading.Lock()
        # sharing (module docstring): objects to delete after the grace period, the last look at the
        # manifests, and the read barrier's last sync
        self._doomed: deque[tuple[float, list[str]]] = deque()
        self._manifest_seen = time.monotonic()
        self._reloaded = time.monotonic()
        self._reload_mu = threading.Lock()
        self._synced = float("-inf")  # when the read that last synced arrived (``barrier``)
        self.local = threading.local()  # ``synced``: this thread's read has passed the barrier already
        self.behind: str | None = None  # why the last sync with the store failed (reads say so), or None
        # a shared store's bitmaps carry their writer's token: a fenced former holder committing the same
        # version can never overwrite the bitmap a new holder's manifest names
        self._del_suffix = f".{uuid.uuid4().hex[:8]}" if self.shared else ""
        self._recover()

    # ================================================================ recovery

    def _recover(self) -> None:
        """Load the manifest's segments, replay the log above its LSN, then collect what the manifest
        proves unreferenced. Damage refuses the open (``DataCorruptionError``) before anything is deleted;
        see ``storage.log`` for what counts as damage in the log."""
        try:
            doc = self.manifest.load()
        except DataCorruptionError as exc:
            raise DataCorruptionError(f"index {self.config.name!r}: {exc}. {VERIFY_HINT}") from exc
        # Graphs are read on a thread of their own while the rest of the open goes on (faiss reads without
        # the GIL): the largest object of a store and a replay of the log no longer add up. A block gets
        # its graph when every one is read, before the open returns (``_attach_graphs``).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="spruce-open-graphs") as graphs:
            later: list[_GraphLoad] = []
            if doc is None:
                self._check_no_manifest_needed()
            else:
                self.manifest_doc = doc
                self.lsn = doc["lsn"]
                for name, segs in doc["namespaces"].items():
                    ns = self.namespaces[name] = Namespace(name, self.dim, self.text_fields)
                    for s in segs:
                        try:
                            ns.add_segment(self._load_segment(s, graphs, later))
                        except DataCorruptionError as exc:
                            raise DataCorruptionError(
                                f"index {self.config.name!r}: {exc}; refusing to open, nothing was changed. "
                                + VERIFY_HINT
                            ) from exc
            self._replay()
            self._attach_graphs(later)
        # a log replayed past a cap (a crash just before its flush) is flushed first thing
        self.flush_requested = self._log_over_cap()
        # without a committed manifest nothing is proven garbage (a crashed first flush); on a shared store
        # only the lease holder collects (another process may be writing the next segment right now)
        if doc is not None and not self.shared:
            self.collect_garbage()

    def _replay(self) -> None:
        for lsn, payload in self.log.recover(self.lsn):
            self._apply_entry(lsn, payload, "refusing to open, nothing was changed")

    def _apply_entry(self, lsn: int, payload: bytes, refusal: str) -> None:
        """Decode a committed log entry and apply it: the replay at open, and a catch-up (which holds
        ``rw``). An entry whole and checksummed but not what a writer writes raises, naming it."""
        try:
            ops = decode_ops(payload)
        except DataCorruptionError as exc:
            raise DataCorruptionError(
                f"index {self.config.name!r}: log entry {self.log.key(lsn)}: {exc}; {refusal}. " + VERIFY_HINT
            ) from exc
        self.apply(ops)
        self.lsn = lsn
        self._count_entry(lsn, len(payload), ops)

    def _attach_graphs(self, later: list[_GraphLoad]) -> None:
        """Give each block the graph read for it (``_load_graph``); a block whose graph was dropped gets
        its clusters instead, as a segment without a graph has."""
        for block, s, contents, future in later:
            ann = future.result()
            if ann is None:
                block.clusters = self._load_clusters(s["segment"], contents)
                continue
            block.attach_graph(ann)
            block.ann_key = s["ann"]
            block.ann_crc = s.get("ann_crc")
            if not ann.own_storage:
                contents.drop_vector_pages()  # the graph's storage holds the rows now (and serves reads)

    def _check_no_manifest_needed(self) -> None:
        """An index without a manifest has never committed a flush, so its log must start at LSN 1 (checked
        by the log's recovery) and it may hold segments only as leftovers of a first flush that crashed,
        beside a whole log. Segments with no log at all mean the manifest was lost: refuse."""
        leftovers = self.store.list(self.prefix + "seg/") + self.store.list(self.prefix + "del/")
        if leftovers and not self.log.pending(0):
            raise DataCorruptionError(
                f"index {self.config.name!r}: {self.prefix}manifest/ is missing but {len(leftovers)} "
                f"segment objects exist (e.g. {leftovers[0]}): refusing to open, nothing was changed. "
                + VERIFY_HINT
            )
        # The leftovers stay (nothing proves them garbage) and hold the numbers the next flush would take
        # again (the first manifest is what records ``next_segment``): number new segments past them, or
        # that flush's put would find its name taken and the manifest would name the leftover's rows.
        self.manifest_doc["next_segment"] = _highest_number(leftovers) + 1

    def _load_segment(self, s: Mapping[str, Any], graphs: Executor, later: list[_GraphLoad]) -> Block:
        """The block of manifest entry ``s``, without its graph: that is read on ``graphs`` and noted in
        ``later`` for ``_attach_graphs``."""
        contents = read_segment(self.store, s["segment"])
        alive = None
        if s["deleted"] is not None:
            try:
                bitmap = self.store.get(s["deleted"])
            except NotFoundError:
                raise DataCorruptionError(f"deletion bitmap {s['deleted']} is missing") from None
            alive = ~decode_deleted(bitmap, len(contents.ids), s["deleted"])
        key = s["segment"]
        ann_key = s.get("ann")
        columns = None
        if contents.columns is not None:
            try:
                columns = MetadataColumns.from_buffer(contents.columns)
                if len(columns) != len(contents.ids):
                    raise ValueError("its columns disagree on the row count")
            except (ValueError, KeyError, IndexError, UnicodeDecodeError) as exc:
                _derived_lost(key, "columns", exc)
                columns = None
        clusters = self._load_clusters(key, contents) if ann_key is None else None
        postings = None
        if contents.postings is not None:
            try:
                postings = Postings.from_buffer(contents.postings, len(contents.ids))
            except (ValueError, KeyError, IndexError) as exc:
                _derived_lost(key, "sparse_postings", exc)
                postings = None
        for name in contents.damaged:
            _derived_lost(key, name, "checksum mismatch")
        metadata = contents.metadata
        block = Block(
            self.dim,
            ids=tuple(contents.ids),
            vectors=contents.vectors,
            metadata=metadata if isinstance(metadata, PackedMetadata) else list(metadata),
            segment_key=s["segment"],
            alive=alive,
            columns=columns,
            clusters=clusters,
            sparse=contents.sparse,
            postings=postings,
            text_fields=self.text_fields,
            text=self._load_text(contents, s["segment"]),
        )
        if contents.sparse is not None and postings is None:
            block.build_postings()  # (a segment written with sparse rows always has its postings)
        block.deleted_key = s["deleted"]
        block.moved = int(s.get("moved", 0))
        if ann_key is not None:
            later.append((block, s, contents, graphs.submit(self._load_graph, s, contents)))
        return block

    def _load_clusters(self, key: str, contents: SegmentContents) -> Clusters | None:
        """The segment's clusters (derived: dropped with a warning if damaged), for a block with no graph."""
        if contents.clusters is None:
            return None
        try:
            return Clusters.from_buffer(contents.clusters, len(contents.ids), self.dim, self.config.metric)
        except (ValueError, KeyError, IndexError) as exc:
            _derived_lost(key, "clusters", exc)
            return None

    def _load_graph(self, s: Mapping[str, Any], contents: SegmentContents) -> HnswIndex | None:
        """The segment's HNSW graph, checked against the manifest's CRC-32 (manifests written before it
        have none). A graph is derived data: one that is damaged, or that faiss cannot read, is dropped
        with a warning (queries scan the segment exactly) and the compaction policy rebuilds it, as for any
        large segment without a graph (``maintenance``)."""
        key: str = s["ann"]
        path = self.store.local_path(key)
        try:
            data = None if path is not None else self.store.get(key)
            want = s.get("ann_crc")
            if want is not None and file_crc32(path, data) != want:
                raise ValueError("checksum mismatch")
            ann = HnswIndex.load(
                data, path, contents.vectors, self.config.metric, own_storage=s.get("ann_storage") == "own"
            )
        except Exception as exc:  # (faiss raises RuntimeError for a graph it cannot read)
            _derived_lost(s["segment"], f"graph {key}", exc)
            return None
        return ann

    def _load_text(self, contents: SegmentContents, key: str) -> dict[str, TextPostings] | None:
        """The segment's full-text postings by field; None (the block analyzes its rows again) if one is
        missing (a segment written before the field had postings) or damaged (derived data)."""
        if not self.text_fields:
            return None
        out: dict[str, TextPostings] = {}
        for name in self.text_fields:
            section = contents.text.get(name)
            if section is None:
                return None
            try:
                out[name] = TextPostings.from_buffer(section, len(contents.ids))
            except (ValueError, KeyError, IndexError, UnicodeDecodeError) as exc:
                _derived_lost(key, f"text:{name}", exc)
                return None
        return out

    # ================================================================ applying operations

    def apply(self, ops: list[Op]) -> None:
        for op in ops:
            if isinstance(op, DropNamespace):
                self.namespaces.pop(op.ns, None)
                continue
            ns = self.namespaces.get(op.ns)
            if ns is None:
                ns = self.namespaces[op.ns] = Namespace(op.ns, self.dim, self.text_fields)
            if isinstance(op, Upsert):
                ns.upsert(op.ids, op.vectors, op.metadata, op.sparse, op.analyzed)
            elif isinstance(op, Delete):
                ns.delete(op.ids)
            else:
                assert isinstance(op, CreateNamespace)

    def check_writable(self) -> None:
        if self.closed:
            raise StoreClosedError(f"index {self.config.name!r} is closed or was deleted")
        if self.failed is not None:
            raise StoreReadOnlyError(self.failed)

    def _count_entry(self, lsn: int, size: int, ops: list[Op]) -> None:
        records = sum(len(op.ids) for op in ops if isinstance(op, Upsert | Delete))
        with self._bytes_mu:
            self._entries.append((lsn, size, records))
            self.unflushed_bytes += size
            self.unflushed_records += records

    @property
    def unflushed_entries(self) -> int:
        """Log entries above the manifest: what the next open replays."""
        return len(self._entries)

    def _log_over_cap(self) -> bool:
        """Whether the unflushed log costs a replay more than the caps allow: per byte (read, checksum,
        copy) or per record (decode, id lookups; a log of deletes is small but slow to replay)."""
        t = self.tuning
        return self.unflushed_bytes >= t.flush_log_bytes or self.unflushed_records >= t.flush_log_records

    def _log_and_apply(self, ops: list[Op]) -> int:
        """Caller holds ``write_mu``. Durable first, then visible."""
        payload = encode_ops(ops)
        lsn = self.log.append(payload)
        self._count_entry(lsn, len(payload), ops)
        self.last_write = time.monotonic()
        incoming: dict[str, tuple[int, int]] = {}
        for op in ops:
            if isinstance(op, Upsert):
                rows, entries = incoming.get(op.ns, (0, 0))
                incoming[op.ns] = (rows + len(op.ids), entries + (op.sparse.nnz if op.sparse else 0))
        for name, (rows, entries) in incoming.items():  # grow memtables before taking ``rw``: Block.reserve
            if (ns := self.namespaces.get(name)) is not None:
                ns.memtable.reserve(ns.memtable.n + rows, expect=self.flush_rows + rows, entries=entries)
        try:
            with self.rw.write():
                self.apply(ops)
                self.lsn = lsn
                frozen = self._freeze_if_full()
        except BaseException:
            self.failed = "an internal error interrupted applying a logged write; reopen the store"
            log.exception("apply of LSN %d failed; index %s refuses writes", lsn, self.config.name)
            raise
        if frozen:
            self.on_freeze()
        return lsn

    def _catch_up(self) -> int:
        """Apply the log entries committed above ``lsn`` by another writer (``Log.entries_after``), as a
        replay does, and return how many. Caller holds ``write_mu``. An entry that cannot be read or
        applied leaves this process behind the log for good: it refuses writes from then on (reads go on)."""
        applied = 0
        try:
            for lsn, payload in self.log.entries_after(self.lsn):
                with self.rw.write():
                    self._apply_entry(lsn, payload, "this process refuses writes")
                    frozen = self._freeze_if_full()
                applied += 1
                self.last_write = time.monotonic()  # (another process's write: not idle)
                if frozen:
                    self.on_freeze()
            return applied
        except DataCorruptionError as exc:
            self.failed = f"catching up on the log failed ({exc}); reopen the store"
            log.error("index %s: %s", self.config.name, self.failed)
            raise

    def _freeze_if_full(self) -> bool:
        """Freeze for a flush at ``flush_rows`` memtable rows; at ``flush_log_bytes`` or
        ``flush_log_records`` of unflushed log (``engine.tuning``) ask the maintainer for a whole flush,
        which also commits a manifest when the log holds only deletes (nothing to freeze)."""
        if not self.flush_requested and self._log_over_cap():
            self.flush_requested = True
            return True
        if sum(ns.memtable.n for ns in self.namespaces.values()) < self.flush_rows:
            return False
        self.freeze_all()
        return True

    def freeze_all(self) -> None:
        """Caller holds ``rw`` exclusively: every memtable becomes a frozen block awaiting flush."""
        for ns in self.namespaces.values():
            ns.freeze(self.lsn)

    def write(self, resolve: Callable[[], tuple[list[Op], T]]) -> tuple[int, T]:
        """Resolve, log and apply one batch; returns its LSN (the current LSN if nothing changed)."""
        with self.write_mu:
            return self._write_locked(resolve)

    def _write_locked(self, resolve: Callable[[], tuple[list[Op], T]]) -> tuple[int, T]:
        """``write`` with ``write_mu`` held: the one place a batch is logged and applied."""
        while True:
            self.check_writable()
            if self.shared:
                self._check_manifest(holding_write_mu=True)
            ops, result = resolve()
            if not ops:
                return self.lsn, result
            checked = self._manifest_seen
            try:
                lsn = self._log_and_apply(ops)
            except LogConflict:
                # the LSN was taken: apply what was committed meanwhile, then resolve again against it
                # (a delete by filter must match what is really there; upserts come out the same)
                if not self._catch_up() and self.shared:
                    self._reload_locked()  # taken, yet gone: covered by a newer manifest and truncated
                continue
            if self.shared and time.monotonic() - checked > GRACE_S / 2:
                self._check_appended(lsn)
            return lsn, result

    def drop_namespace(self, ns_name: str) -> int:
        """Delete every record of a namespace (a no-op, logging nothing, if it does not exist)."""
        return self.write(lambda: ([DropNamespace(ns_name)] if ns_name in self.namespaces else [], None))[0]

    def delete_ids(self, ns_name: str, ids: Sequence[str]) -> int:
        """Delete the records among ``ids`` that exist (logging only those; nothing if none)."""

        def resolve() -> tuple[list[Op], None]:
            ns = self.namespaces.get(ns_name)
            present = [rid for rid in dict.fromkeys(ids) if ns is not None and rid in ns.loc]
            return ([Delete(ns_name, present)] if present else []), None

        return self.write(resolve)[0]

    def delete_matching(self, ns_name: str, flt: Filter | None) -> tuple[int, int]:
        """Delete the records passing ``flt``, resolved under the write lock; the LSN and how many."""

        def resolve() -> tuple[list[Op], int]:
            ns = self.namespaces.get(ns_name)
            matched = sorted(ns.matching_ids(flt)) if ns is not None else []
            return ([Delete(ns_name, matched)] if matched else []), len(matched)

        return self.write(resolve)

    def write_upsert(self, op: Upsert) -> int:
        """Group commit: queue the upsert; whoever holds ``write_mu`` logs all queued ones together."""
        mine = _Pending(op)
        with self._queue_mu:
            self._queue.append(mine)
        with self.write_mu:
            if not mine.done.is_set():
                with self._queue_mu:
                    group, self._queue = self._queue, []
                try:
                    lsn = self._write_locked(lambda: ([p.op for p in group], None))[0]
                except BaseException as exc:
                    for p in group:
                        p.error = exc
                        p.done.set()
                    raise
                for p in group:
                    p.lsn = lsn
                    p.done.set()
        if mine.error is not None:
            raise mine.error
        return mine.lsn

    def read(self, fn: Callable[[], T], *, min_lsn: int | None = None) -> T:
        """Run ``fn`` under the shared lock; on a shared store first the read barrier (``barrier``)."""
        if (self.shared or min_lsn is not None) and not getattr(self.local, "synced", False):
            self.barrier(min_lsn)
        with self.rw.read():
            if self.closed:
                raise StoreClosedError(f"index {self.config.name!r} is closed or was deleted")
            return fn()

    # ================================================================ manifests

    def commit_manifest(self, lsn: int, *, base: int | None = None) -> None:
        """Write changed deletion bitmaps, then the manifest (the commit point). Only the background thread
        calls this (under the maintainer's lock), after the step it commits is installed.

        ``base``: the manifest version the step started from. If the state was reloaded since (a shared
        store: another process committed, so this one lost the lease while the step ran), the step's work
        is gone from memory and its LSN means nothing: ``VersionTaken``, as if the put had lost. The check
        and the commit hold ``_reload_mu``, so no reload slips between them.

        Writes go on meanwhile: the segments and their liveness are read under ``rw`` (a moment), the
        objects written without any index lock (a few fsyncs: 5-40 ms while a bulk load also syncs, which
        every write used to wait for). That is safe because rows only go from live to dead and every write
        above ``lsn`` is replayed on recovery: a bitmap may include deaths newer than ``lsn`` (see the
        module docstring), and a kill that lands after the picture was taken leaves its block dirty
        (``Block.kills``), so the next commit writes its bitmap again."""
        with self._reload_mu:
            if base is not None and self.manifest.version != base:
                raise VersionTaken(
                    f"index {self.config.name!r}: the state was reloaded from manifest version "
                    f"{self.manifest.version} while a step begun at version {base} ran"
                )
            self._commit_manifest(lsn)

    def _commit_manifest(self, lsn: int) -> None:
        with self.rw.read():
            picture = [
                (name, [(b, b.alive if b.deleted_dirty else None, b.kills) for b in ns.segments])
                for name, ns in self.namespaces.items()
            ]
        version = self.manifest.version + 1
        doc: dict[str, Any] = {
            "lsn": lsn,
            "next_segment": self.manifest_doc["next_segment"],
            "namespaces": {},
        }
        new_del: list[tuple[Block, str, int]] = []
        for name, segments in picture:
            entries = []
            for b, alive, kills in segments:
                deleted = b.deleted_key
                if alive is not None:
                    assert b.segment_key is not None
                    seg_no = _number(b.segment_key)
                    deleted = f"{self.prefix}del/{seg_no}.{version}{self._del_suffix}"
                    bitmap = encode_deleted(~alive)
                    if not self.store.put_if_absent(deleted, bitmap):
                        # Left by a commit of this same version that failed before its manifest (a full
                        # disk, say): no manifest names it, and it lacks the deaths since, so it is replaced.
                        self.store.delete(deleted)
                        if not self.store.put_if_absent(deleted, bitmap):
                            raise DataCorruptionError(f"{deleted} could not be replaced")
                    new_del.append((b, deleted, kills))
                entry: dict[str, Any] = {"segment": b.segment_key, "rows": b.n, "deleted": deleted}
                if b.ann is not None:
                    entry["ann"] = b.ann_key
                    entry["ann_storage"] = "own" if b.ann.own_storage else "segment"
                    if b.ann_crc is not None:
                        entry["ann_crc"] = b.ann_crc
                if b.moved:
                    entry["moved"] = b.moved
                entries.append(entry)
            doc["namespaces"][name] = entries
        self.manifest.commit(doc)
        self.manifest_doc = doc
        with self._bytes_mu:
            while self._entries and self._entries[0][0] <= lsn:
                _, size, records = self._entries.popleft()
                self.unflushed_bytes -= size
                self.unflushed_records -= records
            if not self._log_over_cap():
                self.flush_requested = False
        for b, key, kills in new_del:
            b.deleted_key = key
            b.kills_saved = kills

    def next_segment_key(self) -> str:
        n = int(self.manifest_doc["next_segment"])
        self.manifest_doc["next_segment"] = n + 1
        return f"{self.prefix}seg/{n:012d}.seg"

    def collect_garbage(self) -> None:
        """Delete segment and bitmap objects the committed manifest does not name (crash leftovers too).

        Only called with no flush or compaction between writing a segment and committing it.
        """
        keep: set[str] = set()
        for segs in self.manifest_doc["namespaces"].values():
            for s in segs:
                keep.add(s["segment"])
                if s["deleted"] is not None:
                    keep.add(s["deleted"])
                if s.get("ann") is not None:
                    keep.add(s["ann"])
        self.retire(
            [key for sub in ("seg/", "del/") for key in self.store.list(self.prefix + sub) if key not in keep]
        )

    # ================================================================ sharing

    def retire(self, keys: list[str]) -> None:
        """Delete objects no manifest needs any more: at once on a store of one process, after ``GRACE_S``
        on a shared one (a process on an older manifest may still read them), by ``reap``."""
        if not keys:
            return
        if not self.shared:
            for key in keys:
                self.store.delete(key)
            return
        self._doomed.append((time.monotonic() + GRACE_S, keys))

    def reap(self) -> None:
        """Delete the retired objects whose grace period is over (the lease holder, between steps)."""
        now = time.monotonic()
        # (every entry is looked at, not only the oldest: a grace set shorter later, as tests do, must not
        # wait behind entries queued under the longer one)
        for due in [d for d in self._doomed if d[0] <= now]:
            for key in due[1]:
                self.store.delete(key)
            self._doomed.remove(due)

    def forget_doomed(self) -> None:
        """A holder that lost its lease deletes nothing more: the new holder collects what is garbage."""
        self._doomed.clear()

    def _check_manifest(self, *, holding_write_mu: bool = False) -> None:
        """Before trusting the end of the log: if the manifests were last looked at ``GRACE_S / 3`` ago or
        more, look again, and adopt a newer one (entries it covers may be truncated by now)."""
        if time.monotonic() - self._manifest_seen < GRACE_S / 3:
            return
        seen = time.monotonic()
        if self.manifest.newest_version() > self.manifest.version:
            if holding_write_mu:
                self._reload_locked()
            else:
                self.reload()
        self._manifest_seen = seen

    def _check_appended(self, lsn: int) -> None:
        """An append made long after the last look at the manifests (this process was paused): the LSN it
        took may have been covered by a newer manifest and truncated, which would make the write invisible.
        Such a write is refused (it was never acknowledged) and the state reloaded."""
        seen = time.monotonic()
        if self.manifest.newest_version() == self.manifest.version:
            self._manifest_seen = seen
            return
        self._reload_locked()
        if self.manifest_doc["lsn"] >= lsn:
            raise StoreUnavailableError(
                "this process was paused while writing and its log entry arrived after a newer manifest "
                "covered that position: the write was not applied; retry it"
            )

    def barrier(self, min_lsn: int | None = None) -> None:
        """Read-your-writes across processes: before a read, apply every entry committed before it began.

        A sync costs one GET when nothing is new (the next LSN's entry is absent), made under no lock so
        that concurrent reads pay one round trip each, side by side, not one after another.
        ``read_staleness`` (``engine.tuning``) skips it when the last one began that recently. ``min_lsn``:
        a read that must reflect that LSN (a client's read barrier): answered at once if applied already,
        else after a sync; an LSN not committed by then is refused (400). If the store cannot be reached,
        the read is answered from what is applied and ``behind`` says why (a response header)."""
        if min_lsn is not None and self.lsn >= min_lsn:
            return
        if self.shared:
            arrived = time.monotonic()
            if min_lsn is not None or arrived - self._synced > self.tuning.read_staleness:
                try:
                    self._check_manifest()
                    # one GET, under no lock, so that concurrent reads probe side by side: an entry absent
                    # now was not committed when this read arrived (LSNs are taken in order)
                    if self.log.exists(self.lsn + 1):
                        with self.write_mu:
                            self._catch_up()
                    self.behind = None
                    self._synced = max(self._synced, arrived)
                except StoreUnavailableError as exc:
                    self.behind = f"{exc}"
        if min_lsn is not None and self.lsn < min_lsn:
            raise InvalidArgumentError(
                f"x-spruce-min-lsn: the read must reflect LSN {min_lsn}, but the log of index "
                f"{self.config.name!r} ends at LSN {self.lsn}: send an LSN a write returned",
                field="x-spruce-min-lsn",
            )

    async def probe(self) -> bool:
        """The read barrier's common case on the server's event loop, so that a short read needs no worker
        thread: True if nothing is new (the next LSN's entry is absent: a HEAD awaited without a thread) and
        the read may go on at once, in ``synced_here``. False whenever there is more to do (an entry to
        apply, manifests due for a look, the store failing): the read then goes the thread way, whose
        ``barrier`` does it all. The LSN is read before the request, and only grows, so an absent entry
        means every entry committed before this read arrived is applied."""
        arrived = time.monotonic()
        if arrived - self._manifest_seen >= GRACE_S / 3:
            return False
        try:
            if await self.log.exists_async(self.lsn + 1):
                return False
        except StoreUnavailableError:
            return False
        self.behind = None
        self._synced = max(self._synced, arrived)
        return True

    @contextmanager
    def synced_here(self) -> Iterator[None]:
        """This thread's reads inside count as synced (after ``probe`` or ``barrier``)."""
        outer = getattr(self.local, "synced", False)
        self.local.synced = True
        try:
            yield
        finally:
            self.local.synced = outer

    def follow(self, *, holder: bool) -> None:
        """Called about every second on a shared store: catch up on the log (so that the lease holder's
        flushes include every process's writes and a follower's reads need little), and, for a follower,
        adopt a newer manifest when it holds frozen blocks (rows the holder has flushed by now) or every
        ``RELOAD_EVERY_S`` (to search the holder's graphs)."""
        with self.write_mu:
            self._catch_up()
        if holder:
            self._manifest_seen = time.monotonic()  # (only the holder commits manifests)
            self.reap()
            return
        seen = time.monotonic()
        newest = self.manifest.newest_version()
        self._manifest_seen = seen
        if newest <= self.manifest.version:
            return
        with self.rw.read():
            frozen = any(ns.frozen for ns in self.namespaces.values())
        if frozen or seen - self._reloaded >= RELOAD_EVERY_S:
            self.reload()

    def reload(self) -> None:
        """Adopt the newest manifest (a shared store's lease holder committed it): load its segments, replay
        the log above its LSN, catch up, and swap the result in; reads go on meanwhile on the state as it
        was, writes wait only for the catch-up and the swap. Blocks frozen here but not flushed, and steps
        installed but not committed (a fenced former holder's), are dropped with the old state: the log
        and the manifest hold everything."""
        with self._reload_mu:
            fresh = self._load_fresh()
            with self.write_mu:
                self._adopt(fresh)

    def _reload_locked(self) -> None:
        """``reload`` by a caller that holds ``write_mu`` (a write that found the log moved on)."""
        with self._reload_mu:
            self._adopt(self._load_fresh())

    def _load_fresh(self) -> IndexState:
        """The index as the store holds it now, opened anew (reusing the cached segment files)."""
        for attempt in range(3):
            try:
                return IndexState(self.store, self.config, self.tuning)
            except (DataCorruptionError, NotFoundError):
                # a segment the listing named was deleted after its grace period while this one loaded (a
                # very slow load); the manifest has moved on: load the newest again
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _adopt(self, fresh: IndexState) -> None:
        """Caller holds ``write_mu``: catch ``fresh`` up on the log and take its state as this one's."""
        fresh._catch_up()
        with self.rw.write(), fresh._bytes_mu:
            self.namespaces = fresh.namespaces
            self.manifest_doc = fresh.manifest_doc
            self.manifest.version = fresh.manifest.version
            self.lsn = fresh.lsn
            self.log.last_lsn = fresh.log.last_lsn
            self._entries = fresh._entries
            self.unflushed_bytes = fresh.unflushed_bytes
            self.unflushed_records = fresh.unflushed_records
            self.flush_requested = fresh.flush_requested
        self._reloaded = self._manifest_seen = time.monotonic()

    def take_over(self) -> None:
        """This process has just taken the lease (``storage.lease``): adopt the newest manifest, number new
        segments past every existing one by ``TAKEOVER_GAP``, and commit a manifest of its own at once. That
        commit takes the version a former holder would commit next, so a paused one is fenced from now on.
        Objects no manifest names (a former holder's unfinished work) are retired. Caller holds the
        maintainer's lock (no step runs)."""
        for _ in range(10):
            if self.manifest.newest_version() != self.manifest.version:
                self.reload()
            with self.write_mu:
                self._catch_up()
                taken = _highest_number(self.store.list(self.prefix + "seg/"))
                start = max(int(self.manifest_doc["next_segment"]), taken + 1)
                self.manifest_doc["next_segment"] = -(-start // TAKEOVER_GAP) * TAKEOVER_GAP + TAKEOVER_GAP
            try:
                self.commit_manifest(int(self.manifest_doc["lsn"]))
            except VersionTaken:
                continue  # the former holder committed one more meanwhile: adopt it and try again
            self.collect_garbage()
            return
        raise StoreUnavailableError(f"index {self.config.name!r}: could not take over its manifest")
