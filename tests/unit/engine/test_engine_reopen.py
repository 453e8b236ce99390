"""Engine-only record behaviour the faces cannot see: LSNs, and state across a reopen without a clean
close (the behaviour suite, ``tests/behaviour``, covers the operations themselves on both faces)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import spruce


def test_a_write_that_changes_nothing_logs_nothing(client: spruce.Client) -> None:
    client.create_index("ix", dimension=2)
    idx = client.Index("ix")
    r1 = idx.upsert([("a", [1, 0])], namespace="ns")
    r2 = idx.upsert([("b", [0, 1])], namespace="ns")
    assert r2.lsn == r1.lsn + 1
    lsn = idx.delete(ids=["a", "nope"], namespace="ns").lsn
    assert idx.delete(ids=["nope"], namespace="ns").lsn == lsn
    assert idx.delete(filter={"g": "none"}, namespace="ns").lsn == lsn
    assert idx.delete(delete_all=True, namespace="absent").lsn == lsn


def test_everything_survives_reopen(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    vecs = rng.normal(size=(40, 3)).astype(np.float32)
    c = spruce.Client(path=tmp_path, flush_rows=16)
    c.create_index("ix", dimension=3, metric="euclidean")
    idx = c.Index("ix")
    for start in range(0, 40, 7):
        idx.upsert([(f"v{i}", vecs[i], {"i": i}) for i in range(start, min(start + 7, 40))], namespace="n")
    idx.delete(ids=["v3", "v30"], namespace="n")
    idx.update(id="v5", set_metadata={"tag": "t"}, namespace="n")
    idx.create_namespace("empty")
    before = idx.query(vector=[0, 0, 0], top_k=10, namespace="n", include_metadata=True)
    # Reopen without a clean close: the log is the only copy of the newest writes.
    c.store.close()
    c2 = spruce.Client(path=tmp_path)
    idx2 = c2.Index("ix")
    assert idx2.query(vector=[0, 0, 0], top_k=10, namespace="n", include_metadata=True) == before
    assert idx2.describe_index_stats().namespaces["n"].vector_count == 38
    assert "empty" in idx2.describe_index_stats().namespaces
    assert idx2.fetch(["v5"], namespace="n").vectors["v5"].metadata == {"i": 5.0, "tag": "t"}
    c2.close()
    c3 = spruce.Client(path=tmp_path)
    assert c3.Index("ix").query(vector=[0, 0, 0], top_k=10, namespace="n", include_metadata=True) == before
    c3.close()
