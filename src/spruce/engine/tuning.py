"""The engine's tuning knobs, in one place, with the reasons for their defaults.

``flush_rows``: memtable rows (all namespaces of an index) that freeze the memtables for a flush.
``flush_log_bytes`` and ``flush_log_records``: log bytes, and records written or deleted, above the
committed manifest that do the same, whatever they hold (deletes add no memtable rows, so without them a
stream of deletes would grow the log, and the replay at the next open, without bound). They bound reopen
time by configuration, not by write history: a replay costs per byte (read, checksum, copy; what large
vectors cost) and per record (decode, id lookups; what small records and deletes cost). Measured on two
cores (``benchmarks/bench_open.py``): with the cap at 256 MiB (at 2166cbe) a full log of 64-dimension
overwrites added 2.5 s to the open of 1M records (3.93 s against 1.43 s clean); at the defaults, 64 MiB
and 250,000 records, a full log added 0.42 s to the open of 1M records (1.21 s against 0.79 s clean),
inside the 2 s it may take. A running server flushes at a cap and truncates the log once the flush
commits, so the log passes a cap by at most what arrives while that flush runs.
``ann_min_rows``: the smallest segment that gets an HNSW graph
(smaller ones are searched exactly, which is faster there). ``disk_reserve``: free bytes background work
leaves to the log (``engine.maintenance``).

A large backlog is given its graph in steps that each commit, so that a restart loses at most one step and
a server restarted every 30 s still reaches fully indexed. A step adds to a graph about
``graph_step_seconds`` of insertion at the rate the index's last graph work measured (rows per second), and
at most ``graph_step_work`` rows x dimensions. Why a time: the rate varies five-fold with the data alone.
Measured on two cores (faiss HNSW, M 24, efConstruction 200 below 256 dimensions and 80 above): random
Gaussian rows insert at about 2,100 rows/s at 64 dimensions and 1,100 at 384, where real sentence
embeddings reach several thousand; a fixed row count that keeps a step short for the one makes the other
rewrite its main segment five times as often. Before a first measure (a fresh process) the rate is taken
as the random-data one, ``GUESSED_RATE_WORK / (dim + 128)`` rows/s, which errs on the short side.

``read_staleness`` (seconds; a shared store only): how old a read's view of other processes' writes may
be. At 0, the default, every read first applies what any process committed before it began
(``IndexState.barrier``: one GET of the next log entry when nothing is new); above 0 a read skips that when
the last sync began at most that long ago, trading read-your-writes across processes for one round trip
less per read. A process always reads its own writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

__all__ = ["ANN_MIN_ROWS", "DEFAULT_DISK_RESERVE", "DEFAULT_FLUSH_ROWS", "Tuning", "TuningArgs"]

DEFAULT_FLUSH_ROWS = 50_000
ANN_MIN_ROWS = 10_000
DEFAULT_DISK_RESERVE = 128 << 20
DEFAULT_FLUSH_LOG_BYTES = 64 << 20
DEFAULT_FLUSH_LOG_RECORDS = 250_000
DEFAULT_GRAPH_STEP_WORK = 100_000 * 128
DEFAULT_GRAPH_STEP_SECONDS = 10.0
GUESSED_RATE_WORK = 400_000  # rows/s x (dim + 128): the random-data rates above (2,083 at 64, 781 at 384)
MIN_STEP_ROWS = 1_000  # a step below this costs more in its segment rewrite than its graph work


@dataclass(frozen=True, slots=True)
class Tuning:
    flush_rows: int = DEFAULT_FLUSH_ROWS
    ann_min_rows: int = ANN_MIN_ROWS
    disk_reserve: int = DEFAULT_DISK_RESERVE
    flush_log_bytes: int = DEFAULT_FLUSH_LOG_BYTES
    flush_log_records: int = DEFAULT_FLUSH_LOG_RECORDS
    graph_step_work: int = DEFAULT_GRAPH_STEP_WORK
    graph_step_seconds: float = DEFAULT_GRAPH_STEP_SECONDS
    read_staleness: float = 0.0

    def graph_step_rows(self, dim: int, rate: float | None = None) -> int:
        """Rows one step may add to a graph at this dimension, given the measured insertion ``rate``
        (rows/s; None before a first measure, see the module docstring)."""
        if rate is None:
            rate = GUESSED_RATE_WORK / (max(dim, 1) + 128)
        by_work = self.graph_step_work // max(dim, 1)
        return max(MIN_STEP_ROWS, min(by_work, int(rate * self.graph_step_seconds)))


class TuningArgs(TypedDict, total=False):
    """The tuning keywords of ``Database`` and ``spruce.Client``, for ``**`` passing."""

    flush_rows: int
    ann_min_rows: int
    disk_reserve: int
    flush_log_bytes: int
    flush_log_records: int
    graph_step_work: int
    graph_step_seconds: float
    read_staleness: float
