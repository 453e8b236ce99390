"""``spruce compact``: bring every index of a store to fully indexed, offline, and say what it did.

Fully indexed means what the engine means by it (``IndexEngine.storage()``): no records left to
background work (``unindexed_records == 0``), every memtable flushed to a segment and the log covered by
the manifest (so the next open replays nothing). The work is the engine's own: ``IndexEngine.flush()``
then ``IndexEngine.compact()`` (every compaction step due, each committing its manifest), the same steps
the background thread takes, run here in the caller's thread on a store opened without that thread
(``admin.offline``). A step that is interrupted (Ctrl-C, a kill) loses only itself, as in a server.

Why offline: a server compacts on its own, and one directory is open in one process. On a bucket, where
several processes may open the store, each index's background work belongs to whoever holds its lease;
compacting an index whose lease a running server holds would do nothing (the engine leaves the work to
the holder), so it is refused instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from spruce.admin.offline import AdminError
from spruce.admin.table import size, table
from spruce.engine import IndexEngine
from spruce.errors import SpruceError
from spruce.types import IndexStorage

__all__ = ["CompactReport", "check_lease", "compact_index", "render"]

MAX_ROUNDS = 100  # flush + compact rounds before giving up on an index that never settles
POLL_S = 0.25  # how often the progress bar reads the backlog back from the engine


@dataclass(frozen=True, slots=True)
class CompactReport:
    name: str
    records: int
    segments_before: int
    segments_after: int
    graphs_before: int
    graphs_after: int
    unindexed_before: int
    unindexed_after: int
    log_entries_flushed: int
    flushes: int
    compactions: int
    bytes_written: int
    """Segments and graphs written (the engine counts its work since the store was opened: this run's)."""
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_lease(engine: IndexEngine) -> None:
    """Refuse an index whose background work another process holds (a bucket shared with a running
    server; a local store is this process's alone, so it always holds every lease)."""
    # (``Database`` took every free lease when it opened)
    if not engine.holds_background:
        raise AdminError(
            f"index {engine.config.name!r}: its background work is held by another process (a running "
            "`spruce serve` on this store compacts it itself): stop that process first (the lease of one "
            "that died is free once it lapses, 10 s by default)"
        )


def compact_index(engine: IndexEngine, on_progress: Callable[[int, int], None]) -> CompactReport:
    """Flush and compact ``engine`` until it is fully indexed. ``on_progress(done, total)`` is called with
    the records indexed so far out of the backlog found at the start: once before the work begins, then
    from a polling thread, and once at the end."""
    check_lease(engine)
    before = engine.storage()
    start = time.monotonic()
    total = before.unindexed_records
    on_progress(0, total)
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(POLL_S):
            left = engine.describe_index_stats().unindexed_records
            on_progress(max(0, total - left), total)

    poller = threading.Thread(target=poll, name=f"spruce-compact-progress-{engine.config.name}", daemon=True)
    poller.start()
    try:
        after = _settle(engine)
    except SpruceError as exc:
        raise AdminError(f"index {engine.config.name!r}: compaction failed: {exc}") from None
    finally:
        stop.set()
        poller.join()
    on_progress(total, total)
    return CompactReport(
        name=engine.config.name,
        records=sum(ns.records for ns in after.namespaces.values()),
        segments_before=_segments(before),
        segments_after=_segments(after),
        graphs_before=_graphs(before),
        graphs_after=_graphs(after),
        unindexed_before=before.unindexed_records,
        unindexed_after=after.unindexed_records,
        log_entries_flushed=before.unflushed_log_entries - after.unflushed_log_entries,
        flushes=after.flushes,
        compactions=after.compactions,
        bytes_written=after.bytes_written,
        seconds=time.monotonic() - start,
    )


COLUMNS = ["INDEX", "RECORDS", "SEGMENTS", "GRAPHS", "UNINDEXED", "FLUSHES", "COMPACTIONS", "WRITTEN"]
COLUMNS += ["SECONDS"]


def render(reports: list[CompactReport]) -> str:
    """What was done, one row per index: before -> after where a number changed by design."""
    return table(
        COLUMNS,
        [
            [
                r.name,
                r.records,
                f"{r.segments_before} -> {r.segments_after}",
                f"{r.graphs_before} -> {r.graphs_after}",
                f"{r.unindexed_before:,} -> {r.unindexed_after:,}",
                r.flushes,
                r.compactions,
                size(r.bytes_written),
                f"{r.seconds:.1f}",
            ]
            for r in reports
        ],
    )


def _settle(engine: IndexEngine) -> IndexStorage:
    """Rounds of flush + compact until nothing is left; one round does it unless a step was planned on
    what the round before left (a purge after a merge, say). A round that changes nothing ends it."""
    seen = -1
    for _ in range(MAX_ROUNDS):
        engine.flush()
        engine.compact()
        now = engine.storage(objects=False)
        if _settled(now):
            return now
        if now.manifest_version == seen:
            break
        seen = now.manifest_version
    raise AdminError(
        f"index {engine.config.name!r}: compaction stopped with {now.unindexed_records} records unindexed "
        f"and {now.unflushed_log_entries} log entries unflushed"
        + (f" ({now.background_error})" if now.background_error else "")
    )


def _settled(s: IndexStorage) -> bool:
    return (
        s.unindexed_records == 0
        and s.unflushed_log_entries == 0
        and all(ns.memtable_records == 0 for ns in s.namespaces.values())
    )


def _segments(s: IndexStorage) -> int:
    return sum(ns.segments for ns in s.namespaces.values())


def _graphs(s: IndexStorage) -> int:
    return sum(ns.segments_with_graph for ns in s.namespaces.values())
