"""Queries search a snapshot taken under the index lock and released before the search: a write that lands
meanwhile neither waits for the search nor shows up in it, partly or at all."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spruce.engine import Database
from spruce.engine.block import Block
from spruce.engine.namespace import Namespace


def _vec(*xs: float) -> np.ndarray[Any, np.dtype[np.float32]]:
    return np.array([xs], dtype=np.float32)


def _ids(ns: Namespace, q: list[float], at: Any = None) -> dict[str, float]:
    hits = ns.search(np.array(q, dtype=np.float32), 10, "euclidean", None, 48, at)
    return {h.id: round(h.score, 4) for h in hits}


def test_a_snapshot_keeps_seeing_the_rows_of_its_moment() -> None:
    ns = Namespace("", 2)
    segment = Block(
        2, ids=("s1", "s2"), vectors=np.array([[5, 0], [6, 0]], dtype=np.float32), metadata=[{}, {}]
    )
    ns.add_segment(segment)
    ns.upsert(["a", "b"], np.array([[1, 0], [2, 0]], dtype=np.float32), [{}, {}])
    before = ns.snapshot()
    seen = _ids(ns, [0, 0], before)
    assert seen == {"a": 1.0, "b": 4.0, "s1": 25.0, "s2": 36.0}
    alive_before = [state.alive.copy() for _, state in before]

    ns.upsert(["b"], _vec(3, 0), [{}])  # replaces b: its old row dies, a new one is appended
    ns.delete(["a", "s1"])  # in the memtable and in the segment
    ns.upsert([f"x{i}" for i in range(100)], np.full((100, 2), 9, dtype=np.float32), [{}] * 100)  # grows it

    assert _ids(ns, [0, 0], before) == seen  # the old snapshot: the same rows, the same scores
    assert [state.alive.tolist() for _, state in before] == [a.tolist() for a in alive_before]
    now = _ids(ns, [0, 0])
    assert now["b"] == 9.0 and "a" not in now and "s1" not in now and now["s2"] == 36.0


def test_a_write_completes_while_a_query_is_still_searching(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database.open(tmp_path)
    db.create_index("ix", dimension=2, metric="euclidean")
    idx = db.index("ix")
    idx.upsert([("a", [1.0, 0.0]), ("b", [2.0, 0.0])])
    searching, release = threading.Event(), threading.Event()
    real_search = Block.search

    def slow_search(self: Block, *args: Any, **kwargs: Any) -> Any:
        searching.set()
        assert release.wait(10), "the test never released the search"
        return real_search(self, *args, **kwargs)

    monkeypatch.setattr(Block, "search", slow_search)
    result: dict[str, Any] = {}
    query = threading.Thread(target=lambda: result.update(r=idx.query(vector=[0.0, 0.0], top_k=5)))
    query.start()
    assert searching.wait(10)
    # With the search holding the index lock, these would wait for it (and the test would hang).
    idx.upsert([("c", [0.5, 0.0])])
    idx.delete(ids=["a"])
    assert not release.is_set() and query.is_alive()  # the query was still searching all along
    release.set()
    query.join(10)
    monkeypatch.setattr(Block, "search", real_search)
    assert [m.id for m in result["r"].matches] == ["a", "b"]  # as of its snapshot: no c, a still there
    assert [m.id for m in idx.query(vector=[0.0, 0.0], top_k=5).matches] == ["c", "b"]
    db.close()
