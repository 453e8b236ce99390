"""``GET /metrics``: the process's measurements (``spruce.telemetry``) and, read at scrape time, what
describes each index, in Prometheus text format.

Per index (label ``index``), from ``IndexEngine.storage(objects=False)``, which takes the index's read
lock for a moment and lists nothing: records, namespaces, unindexed records, log entries and bytes not
yet flushed (what the next open replays), segments, deleted rows not yet purged, and the background work
done by this process (flushes, compactions, their seconds, the bytes they wrote). Read at each scrape
rather than kept up to date, so a deleted index simply disappears from the next scrape.

On a bucket, the local cache's size, and its hit ratio since the process started (hits and misses are
also counters, ``spruce_cache_lookups_total``, for a rate over any window).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from spruce.api import ControlPlane
from spruce.errors import SpruceError
from spruce.telemetry import REGISTRY

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"

# (name, help, IndexStorage attribute or a function of it): gauges, then counters
_GAUGES: tuple[tuple[str, str, Any], ...] = (
    (
        "spruce_index_records",
        "Live records (what stats count).",
        lambda s: sum(n.records for n in s.namespaces.values()),
    ),
    ("spruce_index_namespaces", "Namespaces.", lambda s: len(s.namespaces)),
    (
        "spruce_index_unindexed_records",
        "Live records background work has still to move.",
        "unindexed_records",
    ),
    (
        "spruce_index_unflushed_log_entries",
        "Log entries above the manifest (replayed at open).",
        "unflushed_log_entries",
    ),
    ("spruce_index_unflushed_log_bytes", "Bytes of those log entries.", "unflushed_log_bytes"),
    ("spruce_index_segments", "Flushed segments.", lambda s: sum(n.segments for n in s.namespaces.values())),
    (
        "spruce_index_pending_deletions",
        "Deleted or overwritten rows still stored, until compaction purges them.",
        lambda s: sum(n.pending_deletions for n in s.namespaces.values()),
    ),
    ("spruce_index_lsn", "The last applied log sequence number.", "lsn"),
)
_COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("spruce_index_flushes", "Flushes of memtables into segments by this process.", "flushes"),
    ("spruce_index_flush_seconds", "Time spent in those flushes.", "flush_seconds"),
    ("spruce_index_compactions", "Compactions (merges, graph builds) by this process.", "compactions"),
    ("spruce_index_compaction_seconds", "Time spent in those compactions.", "compaction_seconds"),
    (
        "spruce_index_written_bytes",
        "Segment and graph bytes written by flushes and compactions.",
        "bytes_written",
    ),
)


class _Indexes(Collector):
    """Every index of ``db``, read at collect time."""

    def __init__(self, db: ControlPlane) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        gauges = [GaugeMetricFamily(name, doc, labels=["index"]) for name, doc, _ in _GAUGES]
        counters = [CounterMetricFamily(name, doc, labels=["index"]) for name, doc, _ in _COUNTERS]
        for cfg in self.db.list_indexes():
            try:
                report = self.db.index(cfg.name).storage(objects=False)
            except SpruceError:  # (deleted meanwhile, or closed: it is simply not in this scrape)
                continue
            for family, (_, _, how) in zip(gauges, _GAUGES, strict=True):
                family.add_metric([cfg.name], how(report) if callable(how) else getattr(report, how))
            for counter, (_, _, attr) in zip(counters, _COUNTERS, strict=True):
                counter.add_metric([cfg.name], getattr(report, attr))
        yield from gauges
        yield from counters
        store = getattr(self.db, "store", None)
        cached = getattr(store, "cached_bytes", None)
        if cached is not None:  # a bucket's local cache
            yield GaugeMetricFamily(
                "spruce_cache_bytes", "Bytes in the local cache of the bucket.", value=cached
            )
            hits, misses = store.cache_hits, store.cache_misses  # type: ignore[union-attr]
            ratio = hits / (hits + misses) if hits + misses else 0.0
            yield GaugeMetricFamily(
                "spruce_cache_hit_ratio",
                "Cache hits over all lookups since the process started.",
                value=ratio,
            )


class Metrics:
    """The ``/metrics`` body of one server: the process-wide registry, then its database's indexes."""

    def __init__(self, db: ControlPlane) -> None:
        self._own = CollectorRegistry(auto_describe=False)
        self._own.register(_Indexes(db))

    def render(self) -> bytes:
        return bytes(generate_latest(REGISTRY)) + bytes(generate_latest(self._own))
