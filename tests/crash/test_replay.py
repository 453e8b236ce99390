"""Recovery when a manifest is committed while writes go on (background flush, compaction, explicit flush).

A manifest names segments and deletion bitmaps and the LSN ``L`` they cover; recovery loads them and
replays the log above ``L``. With flush and compaction running beside writes, a manifest for ``L`` can be
committed after later writes were applied in memory, so its bitmaps may already hold kills made by
entries above ``L`` (``engine.state`` says so). Replaying those entries must still give the acknowledged
state. Each test here makes one such interleaving happen deterministically, then opens a copy of the data
directory taken at that instant (exactly what a kill -9 would leave) and compares with what was
acknowledged.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import spruce
from spruce.engine.maintenance import Maintainer

IDS = [f"r{i}" for i in range(10)]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[spruce.Client]:
    db = spruce.Client(path=tmp_path / "live", flush_rows=1_000_000)  # flushes only when asked
    db.create_index("x", dimension=4, metric="cosine")
    yield db
    db.close()


def _records(idx: Any, ids: list[str]) -> dict[str, tuple[list[float], dict[str, Any]]]:
    return {rid: (v.values, dict(v.metadata or {})) for rid, v in idx.fetch(ids).vectors.items()}


def _crash_copy(client: spruce.Client, tmp_path: Path) -> Path:
    """The data directory as it is on disk right now, as a SIGKILL at this instant would leave it."""
    dst = tmp_path / "crashed"
    shutil.copytree(client.database.store.root, dst)  # type: ignore[attr-defined]
    return dst


def _reopened(path: Path, ids: list[str]) -> dict[str, tuple[list[float], dict[str, Any]]]:
    db = spruce.Client(path=path)
    try:
        return _records(db.Index("x"), ids)
    finally:
        db.close()


def _seed_segment(client: spruce.Client) -> Any:
    idx = client.Index("x")
    idx.upsert([(rid, [1.0, i + 1.0, 0.0, 1.0], {"g": i % 2}) for i, rid in enumerate(IDS)])  # LSN 1
    client.database.index("x").flush()  # segment 1, manifest at LSN 1
    return idx


# Regression tests: an update by filter used to be logged as a patch (ids + metadata), which replay could
# not apply when a manifest's bitmaps already marked the patched rows dead; and an explicit flush used to
# commit a manifest at an LSN read after it let writes in again.


def test_update_by_filter_survives_compaction_then_crash(client: spruce.Client, tmp_path: Path) -> None:
    idx = _seed_segment(client)
    assert idx.update(filter={"g": 1}, set_metadata={"u": 1}).matched_records == 5  # LSN 2, 5 rows move
    expected = _records(idx, IDS)
    client.database.index("x").compact()  # half of segment 1 is dead: rewritten; manifest stays at LSN 1
    assert _records(idx, IDS) == expected
    assert _reopened(_crash_copy(client, tmp_path), IDS) == expected


def test_update_by_filter_during_a_flush_survives_crash(
    client: spruce.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interleaving the SIGKILL test hit: a write lands while a background flush builds its segment."""
    idx = _seed_segment(client)
    idx.upsert([("z", [1.0, 1.0, 1.0, 1.0], {"g": 2})])  # LSN 2: the memtable to flush
    build = Maintainer._build
    raced: list[int] = []

    def build_with_a_concurrent_write(self: Maintainer, parts: Any, **kwargs: Any) -> Any:
        if not raced:  # runs with no index lock held, exactly where another thread's write can land
            raced.append(idx.update(filter={"g": 1}, set_metadata={"u": 1}).lsn)  # LSN 3
        return build(self, parts, **kwargs)

    monkeypatch.setattr(Maintainer, "_build", build_with_a_concurrent_write)
    client.database.index("x").flush()  # frozen at LSN 2: manifest for LSN 2, bitmaps written after LSN 3
    assert raced == [3]
    expected = _records(idx, [*IDS, "z"])
    assert len(expected) == 11
    assert _reopened(_crash_copy(client, tmp_path), [*IDS, "z"]) == expected


def test_write_racing_an_explicit_flush_of_empty_memtables_survives(
    client: spruce.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    idx = _seed_segment(client)  # memtables now empty
    flush_frozen = Maintainer._flush_frozen
    raced: list[int] = []

    def flush_frozen_after_a_write(self: Maintainer, *, upto: int | None = None) -> None:
        if upto is not None and not raced:  # between flush_now's freeze and its install: no lock held
            raced.append(idx.upsert([("late", [1.0, 1.0, 1.0, 1.0], {})]).lsn)
        flush_frozen(self, upto=upto)

    monkeypatch.setattr(Maintainer, "_flush_frozen", flush_frozen_after_a_write)
    client.database.index("x").flush()
    assert raced == [2]
    expected = _records(idx, [*IDS, "late"])
    assert "late" in expected
    crashed = _crash_copy(client, tmp_path)
    assert _reopened(crashed, [*IDS, "late"]) == expected, "lost after a crash"
    client.close()
    assert _reopened(client.database.store.root, [*IDS, "late"]) == expected, "lost after a clean close"  # type: ignore[attr-defined]


def test_delete_and_upsert_survive_compaction_then_crash(client: spruce.Client, tmp_path: Path) -> None:
    """The same interleaving with the operations that are logged as whole effects: nothing is lost."""
    idx = _seed_segment(client)
    idx.delete(ids=IDS[:3])  # LSN 2
    idx.upsert([(rid, [2.0, 2.0, 2.0, 2.0], {"new": True}) for rid in IDS[3:6]])  # LSN 3
    idx.update(id=IDS[6], set_metadata={"u": 1})  # LSN 4: update by id is logged as the whole record
    expected = _records(idx, IDS)
    assert len(expected) == 7
    client.database.index("x").compact()
    assert _reopened(_crash_copy(client, tmp_path), IDS) == expected


def test_delete_and_upsert_during_a_flush_survive_crash(
    client: spruce.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    idx = _seed_segment(client)
    idx.upsert([("z", [1.0, 1.0, 1.0, 1.0], {"g": 2})])  # LSN 2
    build = Maintainer._build
    raced: list[int] = []

    def build_with_concurrent_writes(self: Maintainer, parts: Any, **kwargs: Any) -> Any:
        if not raced:
            raced.append(idx.delete(ids=IDS[:3]).lsn)
            raced.append(
                idx.upsert([(rid, [2.0, 2.0, 2.0, 2.0], {"new": True}) for rid in [*IDS[3:5], "z"]]).lsn
            )
            raced.append(idx.update(id=IDS[6], values=[3.0, 3.0, 3.0, 3.0]).lsn)
        return build(self, parts, **kwargs)

    monkeypatch.setattr(Maintainer, "_build", build_with_concurrent_writes)
    client.database.index("x").flush()
    assert raced == [3, 4, 5]
    expected = _records(idx, [*IDS, "z"])
    assert len(expected) == 8
    assert _reopened(_crash_copy(client, tmp_path), [*IDS, "z"]) == expected
