"""``spruce stats``: every index of a store as the engine reports its storage (``IndexEngine.storage()``),
as a table for a person or JSON for a script.

The numbers are the engine's, read through the same call the server serves at
``GET /index/<name>/spruce/storage``, so the command cannot drift from what the server would say: records
per namespace are the exact counts of ``describe_index_stats``, ``unindexed_records`` the same backlog.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spruce import limits
from spruce.admin.table import count, size, table
from spruce.engine import Database
from spruce.types import IndexConfig, IndexStorage

__all__ = ["IndexReport", "gather", "render", "to_json"]

INDEX_COLUMNS = ["INDEX", "TYPE", "DIM", "METRIC", "RECORDS", "NAMESPACES", "SEGMENTS", "GRAPHS"]
INDEX_COLUMNS += ["UNINDEXED", "UNFLUSHED LOG", "OBJECTS", "DISK"]
# ``IndexStorage`` counts of the work done since this process opened the store: always 0 here
_THIS_PROCESS = {"flushes", "flush_seconds", "compactions", "compaction_seconds", "bytes_written"}
NAMESPACE_COLUMNS = ["NAMESPACE", "RECORDS", "SEGMENTS", "GRAPHS", "IN MEMTABLE", "PENDING DELETIONS"]


@dataclass(frozen=True, slots=True)
class IndexReport:
    config: IndexConfig
    storage: IndexStorage

    @property
    def records(self) -> int:
        return sum(ns.records for ns in self.storage.namespaces.values())


def gather(db: Database, names: list[str] | None = None) -> list[IndexReport]:
    """The report of each index named (default: every index, in name order)."""
    chosen = names if names is not None else sorted(c.name for c in db.list_indexes())
    return [IndexReport(db.describe_index(n), db.index(n).storage()) for n in chosen]


def to_json(where: str, reports: list[IndexReport], disk_bytes: int | None) -> dict[str, Any]:
    """The JSON of ``--json``: the store, its disk use, and per index its configuration beside
    ``IndexStorage``'s fields (namespace keys as the engine names them: ``""`` is the default one)."""
    return {
        "store": where,
        "disk_bytes": disk_bytes,
        "records": sum(r.records for r in reports),
        "indexes": [
            {
                "dimension": r.config.dimension,
                "metric": r.config.metric,
                "vector_type": r.config.vector_type,
                "kind": "documents" if r.config.documents else "vectors",
                "records": r.records,
                **{k: v for k, v in r.storage.to_dict().items() if k not in _THIS_PROCESS},
            }
            for r in reports
        ],
    }


def render(where: str, reports: list[IndexReport], disk_bytes: int | None) -> str:
    """The human report: one line for the store, a table of indexes, and a table of namespaces per index."""
    disk = f", {size(disk_bytes)} on disk" if disk_bytes is not None else ""
    plural = "index" if len(reports) == 1 else "indexes"
    head = f"store {where}: {len(reports)} {plural}, {count(sum(r.records for r in reports))} records{disk}"
    if not reports:
        return head
    out = [head, ""]
    out.append(
        table(
            INDEX_COLUMNS,
            [
                [
                    r.config.name,
                    "documents" if r.config.documents else r.config.vector_type,
                    r.config.dimension or None,  # (a sparse index has none)
                    r.config.metric,
                    r.records,
                    len(r.storage.namespaces),
                    sum(ns.segments for ns in r.storage.namespaces.values()),
                    sum(ns.segments_with_graph for ns in r.storage.namespaces.values()),
                    r.storage.unindexed_records,
                    _log(r.storage),
                    r.storage.objects,
                    size(r.storage.local_bytes),
                ]
                for r in reports
            ],
        )
    )
    for r in reports:
        s = r.storage
        out += ["", f"{s.name}: lsn {s.lsn}, manifest v{s.manifest_version} covers lsn {s.manifest_lsn}"]
        if s.background_error:
            out.append(f"  background error: {s.background_error}")
        if not s.namespaces:
            out.append("  (no namespaces)")
            continue
        out.append(
            table(
                NAMESPACE_COLUMNS,
                [
                    [
                        name or limits.DEFAULT_NAMESPACE_ALIAS,
                        ns.records,
                        ns.segments,
                        ns.segments_with_graph,
                        ns.memtable_records,
                        ns.pending_deletions,
                    ]
                    for name, ns in s.namespaces.items()
                ],
                indent="  ",
            )
        )
    return "\n".join(out)


def _log(s: IndexStorage) -> str:
    if not s.unflushed_log_entries:
        return "0"
    return f"{count(s.unflushed_log_entries)} ({size(s.unflushed_log_bytes)})"
