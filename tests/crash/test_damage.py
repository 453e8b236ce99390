"""Damaged and missing objects: open refuses with a message naming the object, or rebuilds derived data;
it never deletes what it cannot prove is garbage, never raises anything but spruce's own errors, and never
answers wrongly.

One store is built (a dense euclidean index with a graph and a deletion bitmap, a hybrid dotproduct index
with sparse postings, a document index with full-text postings, each with log entries above its
manifest), its answers recorded, and then, each time on a fresh copy, one object is damaged:

- primary data (a catalog, a config record is not primary, a manifest, a segment's rows, a deletion bitmap,
  a log entry below the newest) refuses to open, names the object, and every file is still there;
- derived data (a graph, metadata columns, sparse postings, full-text postings) is dropped with a warning
  and rebuilt, and the store answers exactly as before;
- a missing catalog is rebuilt by ``spruce repair`` from the indexes' config records.
"""

from __future__ import annotations

import logging
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

import spruce
from spruce.engine.repair import repair_catalog
from spruce.engine.verify import verify_store
from spruce.errors import DataCorruptionError, SpruceError
from spruce.storage.objectstore import LocalStore

DENSE, HYBRID, DOCS = "dense", "hybrid", "docs"
_PRE = struct.Struct("<8sII")


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "LOCK" and ".tmp" not in p.parts
    }


def _answers(db: spruce.Client) -> dict[str, Any]:
    """Everything the tests compare: per index, counts, a few queries (ids and scores), fetches."""
    rng = np.random.default_rng(5)
    out: dict[str, Any] = {}
    dense = db.Index(DENSE)
    out["dense.stats"] = dense.describe_index_stats().total_vector_count
    for i in range(4):
        q = rng.normal(size=8).tolist()
        res = dense.query(vector=q, top_k=10, namespace="n")
        out[f"dense.q{i}"] = [(m.id, round(m.score, 4)) for m in res.matches]
        res = dense.query(vector=q, top_k=10, namespace="n", filter={"g": {"$in": ["a", "c"]}})
        out[f"dense.f{i}"] = [(m.id, round(m.score, 4)) for m in res.matches]
    out["dense.fetch"] = sorted(dense.fetch([f"d{i}" for i in range(0, 1600, 97)], namespace="n").vectors)
    hybrid = db.Index(HYBRID)
    out["hybrid.stats"] = hybrid.describe_index_stats().total_vector_count
    res = hybrid.query(
        vector=[0.0] * 4, sparse_vector={"indices": [1, 7, 30], "values": [1.0, 0.5, 2.0]}, top_k=10
    )
    out["hybrid.q"] = [(m.id, round(m.score, 4)) for m in res.matches]
    docs = db.Index(DOCS).documents
    found = docs.search(namespace="n", top_k=10, score_by=[{"type": "text", "field": "body", "query": "fox"}])
    out["docs.q"] = [(d.id, round(d.score or 0.0, 4)) for d in found.matches]
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    store = tmp_path_factory.mktemp("damage") / "store"
    rng = np.random.default_rng(1)
    db = spruce.Client(path=store, flush_rows=400, ann_min_rows=300)
    db.create_index(DENSE, dimension=8, metric="euclidean")
    dense = db.Index(DENSE)
    vecs = rng.normal(size=(1600, 8)).astype(np.float32)
    for start in range(0, 1600, 400):
        dense.upsert(
            [(f"d{i}", vecs[i], {"g": "abc"[i % 3], "i": i}) for i in range(start, start + 400)],
            namespace="n",
        )
    dense.flush()
    dense.compact()
    dense.delete(ids=[f"d{i}" for i in range(0, 1600, 50)], namespace="n")
    dense.flush()  # a deletion bitmap
    db.create_index(HYBRID, dimension=4, metric="dotproduct")
    hybrid = db.Index(HYBRID)
    hybrid.upsert(
        [
            {
                "id": f"h{i}",
                "values": rng.normal(size=4).tolist(),
                "sparse_values": {"indices": [i % 40, 40 + i % 7], "values": [1.0, 0.5]},
            }
            for i in range(200)
        ]
    )
    hybrid.flush()
    db.indexes.create(name=DOCS, schema={"fields": {"body": {"type": "string", "full_text_search": {}}}})
    docs = db.Index(DOCS)
    words = ["quick", "brown", "fox", "lazy", "dog", "jumps", "over"]
    docs.documents.upsert(
        namespace="n",
        documents=[
            {"_id": f"t{i}", "body": " ".join(words[(i + j) % 7] for j in range(i % 5 + 1))}
            for i in range(300)
        ],
    )
    docs.flush()
    for name in (DENSE, HYBRID):  # log entries above each manifest
        db.Index(name).upsert([(f"late-{name}", [0.5] * (8 if name == DENSE else 4))], namespace="n")
    for name in (DENSE, HYBRID, DOCS):
        db.index(name).close(flush=False)
    db.close()
    db = spruce.Client(path=store)
    answers = _answers(db)
    for name in (DENSE, HYBRID, DOCS):  # (no flush on close: keep the log entries above the manifests)
        db.index(name).close(flush=False)
    db.close()
    return store, answers


def _copy(built: tuple[Path, dict[str, Any]], tmp_path: Path) -> Path:
    store = tmp_path / "store"
    shutil.copytree(built[0], store)
    return store


def _uid(store: Path, name: str) -> str:
    (version,) = sorted((store / "catalog").iterdir())[-1:]
    payload = version.read_bytes()[28:]
    return next(d["uid"] for d in orjson.loads(payload)["indexes"] if d["name"] == name)


def _one(store: Path, name: str, sub: str, suffix: str = "") -> Path:
    found = sorted((store / "indexes" / _uid(store, name) / sub).iterdir())
    found = [p for p in found if p.name.endswith(suffix)]
    assert found, f"no {sub}*{suffix} object in index {name}"
    return found[-1]


def _flip_at(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= 0x10
    path.write_bytes(bytes(data))


def _section(path: Path, name: str) -> tuple[int, int]:
    data = path.read_bytes()
    _, hlen, _ = _PRE.unpack_from(data)
    off, length, _ = orjson.loads(data[_PRE.size : _PRE.size + hlen])["sections"][name]
    return off, length


def _flip_section(name: str, index: str) -> Callable[[Path], None]:
    def damage(store: Path) -> None:
        for seg in (store / "indexes" / _uid(store, index) / "seg").glob("*.seg"):
            try:
                off, length = _section(seg, name)
            except KeyError:
                continue
            _flip_at(seg, off + length // 2)
            return
        raise AssertionError(f"no segment of {index} has a section {name}")

    return damage


def _refuses(store: Path, match: str) -> None:
    before = _files(store)
    with pytest.raises(DataCorruptionError, match=match) as err:
        spruce.Client(path=store)
    assert "spruce verify" in str(err.value) or "spruce repair" in str(err.value)
    assert _files(store) == before, "a refused open changed files"
    local = LocalStore(store)
    try:
        assert any(f.loss for f in verify_store(local)), "spruce verify does not see the damage"
    finally:
        local.close()


def _reframe_last_log_entry(store: Path) -> None:
    """The newest log entry of the dense index, replaced by a whole, checksummed frame of the same LSN whose
    payload is not what a writer writes: damage the CRC cannot see (a writer bug), refused, never cut."""
    from spruce.storage.framing import frame
    from spruce.storage.log import MAGIC

    entry = sorted((store / "indexes" / _uid(store, DENSE) / "log").iterdir())[-1]
    entry.write_bytes(frame(MAGIC, int(entry.name), b'[{"op": "upsert", "rows": -1}]'))


PRIMARY: dict[str, tuple[Callable[[Path], None], str]] = {
    "log entry malformed but checksummed": (_reframe_last_log_entry, "log entry"),
    "catalog flipped": (lambda s: _flip_at(sorted((s / "catalog").iterdir())[-1], 40), "catalog"),
    "manifest flipped": (lambda s: _flip_at(_one(s, DENSE, "manifest"), 40), "manifest"),
    "manifest truncated": (
        lambda s: _one(s, DENSE, "manifest").write_bytes(_one(s, DENSE, "manifest").read_bytes()[:-3]),
        "manifest",
    ),
    "segment vectors flipped": (_flip_section("vectors", DENSE), "vectors"),
    "segment ids flipped": (_flip_section("ids", DENSE), "ids"),
    "segment metadata flipped": (_flip_section("metadata", DENSE), "metadata"),
    "segment header flipped": (lambda s: _flip_at(_one(s, DENSE, "seg", ".seg"), 20), "header"),
    "segment truncated": (
        lambda s: _one(s, DENSE, "seg", ".seg").write_bytes(_one(s, DENSE, "seg", ".seg").read_bytes()[:100]),
        "segment",
    ),
    "segment missing": (lambda s: _one(s, DENSE, "seg", ".seg").unlink(), "missing"),
    "sparse rows flipped": (_flip_section("sparse_values", HYBRID), "sparse_values"),
    "deletion bitmap flipped": (lambda s: _flip_at(_one(s, DENSE, "del"), 30), "deletion bitmap"),
    "deletion bitmap missing": (lambda s: _one(s, DENSE, "del").unlink(), "deletion bitmap"),
}


@pytest.mark.parametrize("case", sorted(PRIMARY))
def test_damaged_primary_data_refuses_to_open_and_changes_nothing(
    built: tuple[Path, dict[str, Any]], tmp_path: Path, case: str
) -> None:
    store = _copy(built, tmp_path)
    damage, match = PRIMARY[case]
    damage(store)
    _refuses(store, match)


def test_a_missing_manifest_refuses_when_segments_exist(
    built: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    store = _copy(built, tmp_path)
    shutil.rmtree(store / "indexes" / _uid(store, HYBRID) / "manifest")
    shutil.rmtree(store / "indexes" / _uid(store, HYBRID) / "log")
    _refuses(store, "manifest/ is missing")


def test_a_missing_log_entry_below_the_newest_refuses(
    built: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    store = _copy(built, tmp_path)
    index = DENSE
    db = spruce.Client(path=store)
    db.Index(index).upsert([("x1", [1.0] * 8)], namespace="n")
    db.Index(index).upsert([("x2", [2.0] * 8)], namespace="n")
    db.index(index).close(flush=False)
    db.close()
    entries = sorted((store / "indexes" / _uid(store, index) / "log").iterdir())
    assert len(entries) >= 2
    entries[-2].unlink()
    _refuses(store, f"log entry .*{entries[-2].name} is missing")


DERIVED: dict[str, Callable[[Path], None]] = {
    "graph flipped": lambda s: _flip_at(_one(s, DENSE, "seg", ".ann"), 5000),
    "graph truncated": lambda s: _one(s, DENSE, "seg", ".ann").write_bytes(
        _one(s, DENSE, "seg", ".ann").read_bytes()[:777]
    ),
    "graph header flipped": lambda s: _flip_at(_one(s, DENSE, "seg", ".ann"), 2),
    "graph missing": lambda s: _one(s, DENSE, "seg", ".ann").unlink(),
    "columns flipped": _flip_section("columns", DENSE),
    "sparse postings flipped": _flip_section("sparse_postings", HYBRID),
    "text postings flipped": _flip_section("text:body", DOCS),
}


@pytest.mark.parametrize("case", sorted(DERIVED))
def test_damaged_derived_data_is_rebuilt_and_answers_stay_exact(
    built: tuple[Path, dict[str, Any]], tmp_path: Path, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = _copy(built, tmp_path)
    DERIVED[case](store)
    with caplog.at_level(logging.WARNING, logger="spruce"):
        db = spruce.Client(path=store)
    try:
        assert any("damaged" in r.getMessage() for r in caplog.records), "no warning about the damage"
        assert _answers(db) == built[1]
        if case.startswith("graph"):
            dense = db.Index(DENSE)
            dense.flush()
            dense.compact()  # the background loop would do this on its own; here, now
            assert dense.describe_index_stats().unindexed_records == 0
            assert _answers(db) == built[1]
    finally:
        db.close()


def test_missing_catalog_refuses_then_repair_restores_every_index(
    built: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    store = _copy(built, tmp_path)
    shutil.rmtree(store / "catalog")
    _refuses(store, "catalog")
    done = subprocess.run(
        [sys.executable, "-m", "spruce.cli", "repair", "--data", str(store)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("restored index") == 3, done.stdout
    db = spruce.Client(path=store)
    try:
        assert _answers(db) == built[1]
        assert [c.number for c in db.list_indexes()] == [1, 2, 3]
    finally:
        db.close()


def test_damaged_catalog_is_kept_aside_by_repair(built: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    store = _copy(built, tmp_path)
    newest = sorted((store / "catalog").iterdir())[-1]
    _flip_at(newest, 40)
    damaged = newest.read_bytes()
    local = LocalStore(store)
    try:
        report = repair_catalog(local)
    finally:
        local.close()
    assert any("damaged" in line for line in report), report
    kept = list((store / "quarantine").rglob("*"))
    assert any(p.is_file() and p.read_bytes() == damaged for p in kept)
    db = spruce.Client(path=store)
    try:
        assert _answers(db) == built[1]
    finally:
        db.close()


def test_a_prefix_the_catalog_does_not_name_is_kept(
    built: tuple[Path, dict[str, Any]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = _copy(built, tmp_path)
    stray = store / "indexes" / ("f" * 32) / "seg" / "000000000001.seg"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"not mine")
    with caplog.at_level(logging.WARNING, logger="spruce"):
        spruce.Client(path=store).close()
    assert stray.read_bytes() == b"not mine"
    assert any("does not name" in r.getMessage() for r in caplog.records)


def test_a_deleted_index_whose_removal_was_cut_short_is_removed_at_open(tmp_path: Path) -> None:
    db = spruce.Client(path=tmp_path / "s")
    db.create_index("gone", dimension=2)
    db.Index("gone").upsert([("a", [1.0, 2.0])])
    uid = db.describe_index("gone").uid
    engine = db.index("gone")
    engine._destroy = lambda: engine.close(flush=False)  # type: ignore[method-assign]  # crash before removal
    db.delete_index("gone")
    db.close()
    assert list((tmp_path / "s" / "indexes" / uid).rglob("*"))
    spruce.Client(path=tmp_path / "s").close()
    assert not [p for p in (tmp_path / "s" / "indexes" / uid).rglob("*") if p.is_file()]


def test_no_damage_case_raises_anything_but_spruce_errors(
    built: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """Flip one byte at many offsets of every object kind: open either works (and then answers exactly)
    or raises a SpruceError with a message; nothing else escapes (a native library's error included)."""
    base = _copy(built, tmp_path)
    keys = [p.relative_to(base) for p in sorted(base.rglob("*")) if p.is_file() and p.name != "LOCK"]
    last_entries = {
        max(d.iterdir()).relative_to(base) for d in base.glob("indexes/*/log") if any(d.iterdir())
    }
    failures = []
    for rel in keys:
        size = (base / rel).stat().st_size
        for offset in sorted({0, 9, 27, size // 3, size // 2, size - 1}):
            store = tmp_path / "v"
            shutil.copytree(base, store)
            _flip_at(store / rel, offset)
            try:
                db = spruce.Client(path=store)
            except SpruceError:
                pass
            except Exception as exc:
                failures.append(f"{rel}@{offset}: {type(exc).__name__}: {exc}")
            else:
                try:
                    if rel in last_entries:  # cut, and kept aside: its write (never acknowledged) is gone
                        if not list((store / "quarantine").rglob(rel.name + ".1")):
                            failures.append(f"{rel}@{offset}: the cut last entry was not kept aside")
                    elif _answers(db) != built[1]:
                        failures.append(f"{rel}@{offset}: opened but answers differ")
                except Exception as exc:
                    failures.append(f"{rel}@{offset}: answering raised {type(exc).__name__}: {exc}")
                finally:
                    db.close()
            shutil.rmtree(store)
    assert not failures, "\n".join(failures[:20])
