"""The engine's tuning knobs, in one place, with the reasons for their defaults.

``flush_rows``: memtable rows (all namespaces of an index) that freeze the memtables for a flush.
``flush_log_bytes``: log bytes above the committed manifest that do the same, whatever they hold (deletes
and updates add no memtable rows, so without it a stream of them would grow the log, and the replay at the
next open, without bound): the unflushed log never exceeds it by more than one batch, so reopen time is
bounded by it, not by write history. ``ann_min_rows``: the smallest segment that gets an HNSW graph
(smaller ones are searched exactly, which is faster there). ``disk_reserve``: free bytes background work
leaves to the log (``engine.maintenance``). ``graph_step_work``: rows x dimensions that one compaction step
adds to a graph at most, so that a large backlog is indexed in steps that each commit (a restart loses at
most one step, and a server restarted every 30 s still reaches fully indexed): 12.8 M is 100,000 rows at
128 dimensions, a few seconds of graph building on two cores.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ANN_MIN_ROWS", "DEFAULT_DISK_RESERVE", "DEFAULT_FLUSH_ROWS", "Tuning"]

DEFAULT_FLUSH_ROWS = 50_000
ANN_MIN_ROWS = 10_000
DEFAULT_DISK_RESERVE = 128 << 20
DEFAULT_FLUSH_LOG_BYTES = 256 << 20
DEFAULT_GRAPH_STEP_WORK = 100_000 * 128


@dataclass(frozen=True, slots=True)
class Tuning:
    flush_rows: int = DEFAULT_FLUSH_ROWS
    ann_min_rows: int = ANN_MIN_ROWS
    disk_reserve: int = DEFAULT_DISK_RESERVE
    flush_log_bytes: int = DEFAULT_FLUSH_LOG_BYTES
    graph_step_work: int = DEFAULT_GRAPH_STEP_WORK

    def graph_step_rows(self, dim: int) -> int:
        """Rows one step may add to a graph at this dimension (at least ``ann_min_rows``)."""
        return max(self.ann_min_rows, self.graph_step_work // max(dim, 1))
