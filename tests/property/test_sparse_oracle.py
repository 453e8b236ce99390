"""Sparse and hybrid queries against a brute-force oracle (numpy over the records the test holds), on an
embedded index large enough to have several segments, memtable tails, postings and (hybrid) HNSW graphs,
with upserts, updates (sparse values, dense values, metadata) and deletes (by id and by filter)
interleaved with flushes and compactions, and checked after each round with and without filters.

Sparse results must equal the oracle's top-k exactly (ids in order, scores to float32 precision, records
scoring 0 left out). Hybrid results over graph-carrying segments are approximate on the dense side, so
they must reach recall@10 >= 0.95 against the exact hybrid ranking; over exactly scanned blocks they are
exact too (the default thresholds scan blocks of this size exactly; ``plans="small"`` does not)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import spruce
from spruce.engine import block as block_module
from spruce.index import sparse as sparse_module

VOCAB = 400
DIM = 16


class Oracle:
    """The records as plain dicts: id -> (dense values, {index: value}, metadata)."""

    def __init__(self) -> None:
        self.records: dict[str, tuple[np.ndarray, dict[int, float], dict[str, Any]]] = {}

    def scores(self, dense: np.ndarray | None, sparse: dict[int, float], flt: Any) -> dict[str, float]:
        out = {}
        for rid, (values, sp, meta) in self.records.items():
            if flt is not None and meta["g"] not in flt["g"]["$in"]:
                continue
            s = sum(float(np.float32(v)) * float(sp[i]) for i, v in sparse.items() if i in sp)
            if dense is not None:
                s += float(values.astype(np.float64) @ dense.astype(np.float64))
            out[rid] = s
        return out

    def top(self, scores: dict[str, float], k: int, drop_zero: bool) -> list[str]:
        items = [(rid, s) for rid, s in scores.items() if not (drop_zero and s == 0.0)]
        return [rid for rid, _ in sorted(items, key=lambda t: (-t[1], t[0]))[:k]]


def _sparse(rng: np.random.Generator, nnz: int) -> dict[int, float]:
    # a skewed vocabulary, as text has: low indices are common
    dims = np.unique(np.minimum(rng.exponential(VOCAB / 6, size=nnz).astype(int), VOCAB - 1))
    return {int(d): float(np.float32(rng.uniform(0.1, 3.0))) for d in dims}


def _arg(sp: dict[int, float]) -> dict[str, list[Any]]:
    return {"indices": list(sp), "values": list(sp.values())}


@pytest.mark.parametrize("plans", ["default", "small"])
@pytest.mark.parametrize("kind", ["sparse", "hybrid"])
def test_queries_match_brute_force(tmp_path: Any, monkeypatch: Any, kind: str, plans: str) -> None:
    """``plans="small"`` lowers the planner's thresholds so that blocks of this size take the paths large
    ones take: the HNSW graph on the dense side of hybrid queries (candidates from both sides, rescored),
    the postings also under filters, and a memtable's own postings beside its exactly scanned tail."""
    if plans == "small":
        monkeypatch.setattr(block_module, "EXACT_MAX_WORK", 50 * DIM)
        monkeypatch.setattr(block_module, "SPARSE_EXACT_ROWS", 16)
        monkeypatch.setattr(block_module, "SPARSE_TAIL_ROWS", 64)
        monkeypatch.setattr(sparse_module, "GATHER_MAX", 0)  # segments searched by MaxScore
    rng = np.random.default_rng(11 if kind == "sparse" else 12)
    db = spruce.Client(path=tmp_path, flush_rows=300, ann_min_rows=400)
    if kind == "sparse":
        db.create_index("o", vector_type="sparse")
    else:
        db.create_index("o", dimension=DIM, metric="dotproduct")
    idx = db.Index("o")
    oracle = Oracle()
    next_id = 0
    recalls: list[float] = []

    def record(rid: str) -> dict[str, Any]:
        values = rng.normal(size=DIM).astype(np.float32)
        sp = _sparse(rng, int(rng.integers(1, 25)))
        meta = {"g": int(rng.integers(0, 10))}
        oracle.records[rid] = (values, sp, meta)
        rec: dict[str, Any] = {"id": rid, "sparse_values": _arg(sp), "metadata": meta}
        if kind == "hybrid":
            rec["values"] = values.tolist()
        return rec

    for round_no in range(6):
        batch = [record(f"r{next_id + i:05d}") for i in range(400)]
        next_id += 400
        for start in range(0, len(batch), 100):
            idx.upsert(batch[start : start + 100])
        ids = sorted(oracle.records)
        for rid in rng.choice(ids, size=30, replace=False).tolist():  # sparse values replace
            sp = _sparse(rng, 10)
            idx.update(id=rid, sparse_values=_arg(sp))
            values, _, meta = oracle.records[rid]
            oracle.records[rid] = (values, sp, meta)
        if kind == "hybrid":
            for rid in rng.choice(ids, size=10, replace=False).tolist():  # dense values replace
                values = rng.normal(size=DIM).astype(np.float32)
                idx.update(id=rid, values=values.tolist())
                oracle.records[rid] = (values, *oracle.records[rid][1:])
        gone = rng.choice(sorted(oracle.records), size=40, replace=False).tolist()
        idx.delete(ids=gone)
        for rid in gone:
            del oracle.records[rid]
        idx.delete(filter={"g": round_no})
        oracle.records = {r: v for r, v in oracle.records.items() if v[2]["g"] != round_no}
        if round_no % 2:
            idx.flush()
            idx.compact()
        for q_no in range(12):
            sq = _sparse(rng, int(rng.integers(2, 12)))
            dense = rng.normal(size=DIM).astype(np.float32) if kind == "hybrid" else None
            flt = (
                {"g": {"$in": [int(g) for g in rng.choice(10, size=3, replace=False)]}} if q_no % 3 else None
            )
            kw: dict[str, Any] = {"sparse_vector": _arg(sq), "top_k": 10, "filter": flt}
            if dense is not None:
                kw["vector"] = dense.tolist()
            got = idx.query(**kw).matches
            scores = oracle.scores(dense, sq, flt)
            want = oracle.top(scores, 10, drop_zero=kind == "sparse")
            if kind == "sparse":
                assert [m.id for m in got] == want or _same_up_to_ties(got, want, scores), (
                    f"round {round_no} query {q_no}: {[m.id for m in got]} != {want}"
                )
                for m in got:
                    assert m.score == pytest.approx(scores[m.id], rel=1e-5, abs=1e-6)
            else:
                recalls.append(len({m.id for m in got} & set(want)) / max(1, len(want)))
                for m in got:  # whatever is returned carries its exact hybrid score
                    assert m.score == pytest.approx(scores[m.id], rel=1e-4, abs=1e-4)
    stats = idx.describe_index_stats()
    assert stats.total_vector_count == len(oracle.records)
    if kind == "hybrid":
        assert float(np.mean(recalls)) >= 0.95, f"hybrid recall@10 {np.mean(recalls):.3f}"
    db.close()


def _same_up_to_ties(got: list[Any], want: list[str], scores: dict[str, float]) -> bool:
    """Equal but for the order of ids whose exact scores differ by float32 rounding only."""
    if len(got) != len(want):
        return False
    return all(
        abs(scores[m.id] - scores[w]) <= 1e-5 * max(1.0, abs(scores[w]))
        for m, w in zip(got, want, strict=True)
    )
