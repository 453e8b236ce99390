"""``spruce stats``: the CLI's numbers are the engine's (``describe_index_stats`` and ``storage()``), as a
table and as JSON, and the command changes nothing in the store it reports on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import spruce
from spruce.cli import main
from spruce.engine import Database


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        rc = main(list(args))
    except SystemExit as exc:  # (argparse: --help, a bad flag)
        rc = int(exc.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


def _du(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """Two indexes: ``docs`` with three namespaces, segments, a memtable, deletions and an unflushed log;
    ``empty``, sparse, with nothing in it."""
    path = tmp_path / "db"
    db = spruce.Client(path=str(path), flush_rows=100)
    db.create_index("docs", dimension=4, metric="euclidean")
    db.create_index("empty", vector_type="sparse", metric="dotproduct")
    idx = db.Index("docs")
    rng = np.random.default_rng(0)
    for start in range(0, 300, 100):
        idx.upsert([(f"a{i}", rng.normal(size=4).tolist(), {"i": i}) for i in range(start, start + 100)], "a")
    idx.flush()
    idx.upsert([(f"b{i}", rng.normal(size=4).tolist()) for i in range(7)], namespace="b")
    idx.upsert([(f"d{i}", rng.normal(size=4).tolist()) for i in range(3)])
    idx.delete(ids=["a1", "a2", "a3"], namespace="a")
    db.close(flush=False)  # the last writes stay in the log only
    return path


def test_json_counts_equal_the_engine_and_nothing_changes(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files_before = sorted(str(p.relative_to(store)) for p in store.rglob("*"))
    rc, out, err = _cli(capsys, "stats", "--data", str(store), "--json")
    assert rc == 0 and err == ""
    report = json.loads(out)
    assert sorted(str(p.relative_to(store)) for p in store.rglob("*")) == files_before  # nothing written

    db = Database(store, background=False)
    try:
        assert report["store"] == str(store)
        assert report["disk_bytes"] == _du(store)
        assert [i["name"] for i in report["indexes"]] == ["docs", "empty"]
        docs, empty = report["indexes"]
        stats = db.index("docs").describe_index_stats()
        assert docs["records"] == stats.total_vector_count == 307
        assert {n: s["records"] for n, s in docs["namespaces"].items()} == {
            n: s.vector_count for n, s in stats.namespaces.items()
        }
        assert docs["unindexed_records"] == stats.unindexed_records
        storage = db.index("docs").storage().to_dict()
        for field in ("lsn", "manifest_version", "manifest_lsn", "unflushed_log_entries", "objects"):
            assert docs[field] == storage[field], field
        assert docs["local_bytes"] == storage["local_bytes"]
        assert docs["namespaces"] == storage["namespaces"]
        assert docs["unflushed_log_entries"] >= 1 and docs["namespaces"][""]["memtable_records"] == 3
        assert docs["namespaces"]["a"]["pending_deletions"] == 3
        assert (docs["dimension"], docs["metric"], docs["vector_type"]) == (4, "euclidean", "dense")
        assert "flushes" not in docs  # (this process's own work counts: meaningless in a report)
        assert empty["records"] == 0 and empty["namespaces"] == {} and empty["vector_type"] == "sparse"
        assert report["records"] == 307
    finally:
        db.close(flush=False)


def test_the_table_shows_every_index_and_namespace(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _cli(capsys, "stats", "--data", str(store))
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"store {store}: 2 indexes, 307 records, ")
    assert lines[0].endswith(" on disk")
    header = next(line for line in lines if line.startswith("INDEX"))
    assert header.split()[:5] == ["INDEX", "TYPE", "DIM", "METRIC", "RECORDS"]
    docs = next(line for line in lines if line.startswith("docs "))
    assert docs.split()[:6] == ["docs", "dense", "4", "euclidean", "307", "3"]
    empty = next(line for line in lines if line.startswith("empty "))
    assert empty.split()[:5] == ["empty", "sparse", "-", "dotproduct", "0"]
    namespaces = {
        line.split()[0]: line.split()[1:] for line in lines if line.startswith("  ") and "lsn" not in line
    }
    assert namespaces["__default__"][0] == "3" and namespaces["a"][0] == "297" and namespaces["b"][0] == "7"
    assert namespaces["a"][-1] == "3"  # pending deletions
    assert "  (no namespaces)" in lines


def test_index_picks_indexes_and_an_unknown_one_is_one_line(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = _cli(capsys, "stats", "--data", str(store), "--index", "empty", "--json")
    assert rc == 0 and [i["name"] for i in json.loads(out)["indexes"]] == ["empty"]
    rc, out, err = _cli(capsys, "stats", "--data", str(store), "--index", "nope")
    assert rc == 2 and out == ""
    assert err == "spruce stats: --index nope: no such index (the store has: docs, empty)\n"


def test_a_store_with_no_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spruce.Client(path=str(tmp_path / "db")).close()
    rc, out, _ = _cli(capsys, "stats", "--data", str(tmp_path / "db"))
    assert rc == 0 and out.startswith(f"store {tmp_path / 'db'}: 0 indexes, 0 records")


def test_stats_through_the_installed_command(store: Path) -> None:
    """The real entry point, as a script would run it: JSON on stdout, nothing on stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "spruce.cli", "stats", "--data", str(store), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stderr == ""
    assert json.loads(done.stdout)["records"] == 307
