"""``IndexEngine.storage``: spruce's own view of an index's storage agrees with the stats and the disk."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

import spruce


def _du(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def test_storage_counts_agree_with_stats_and_the_disk(tmp_path: Path) -> None:
    client = spruce.Client(path=str(tmp_path / "db"), flush_rows=40)
    client.create_index("ix", dimension=4, metric="euclidean")
    ix = client.Index("ix")
    rng = np.random.default_rng(0)
    ix.upsert([(f"a{i}", rng.normal(size=4).tolist(), {"i": i}) for i in range(100)], namespace="a")
    ix.upsert([(f"b{i}", rng.normal(size=4).tolist()) for i in range(7)], namespace="b")
    ix.delete(ids=["a1", "a2"], namespace="a")

    before = ix.storage()
    assert before.name == "ix"
    assert before.lsn >= 3
    assert before.unflushed_log_entries >= 1  # the delete at least is above the manifest
    assert before.unflushed_log_bytes > 0
    assert {n: s.records for n, s in before.namespaces.items()} == {"a": 98, "b": 7}

    ix.flush()
    after = ix.storage()
    stats = ix.describe_index_stats()
    assert {n: s.records for n, s in after.namespaces.items()} == {
        n: s.vector_count for n, s in stats.namespaces.items()
    }
    assert after.unflushed_log_entries == 0 and after.unflushed_log_bytes == 0
    assert after.manifest_lsn == after.lsn
    assert after.manifest_version > before.manifest_version
    assert all(s.memtable_records == 0 for s in after.namespaces.values())
    assert after.namespaces["a"].segments >= 1 and after.namespaces["b"].segments >= 1
    index_dirs = [p for p in (tmp_path / "db" / "indexes").iterdir() if p.is_dir()]
    assert len(index_dirs) == 1
    assert after.local_bytes == _du(index_dirs[0])
    assert after.objects == sum(len(files) for _, _, files in os.walk(index_dirs[0]))
    client.close()


def test_background_work_is_counted(tmp_path: Path) -> None:
    """Flushes and compactions are counted with their time and the bytes they wrote; ``objects=False``
    skips the listing (what ``/metrics`` asks for at every scrape)."""
    client = spruce.Client(path=str(tmp_path / "db"), flush_rows=30)
    client.create_index("ix", dimension=4, metric="euclidean")
    ix = client.Index("ix")
    rng = np.random.default_rng(1)
    for start in range(0, 300, 30):
        ix.upsert([(f"r{i}", rng.normal(size=4).tolist()) for i in range(start, start + 30)])
    ix.flush()
    done = ix.storage()
    assert done.flushes >= 1 and done.flush_seconds > 0
    assert done.bytes_written >= sum(
        p.stat().st_size for p in (tmp_path / "db").rglob("*.seg")
    )  # (compaction may have replaced some: it wrote those too)
    light = ix.storage(objects=False)
    assert light.objects == 0 and light.local_bytes == 0
    assert light.namespaces == done.namespaces
    client.close()
