"""Parent-side helpers of the crash tests: run ``writer.py`` as a child, read what it reported, replay
the acknowledged operations on a plain-dict model, and snapshot a store to compare against the model."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .writer import NAMESPACES, ids_universe

WRITER = Path(__file__).with_name("writer.py")

# ---------------------------------------------------------------- the child process


class Child:
    """``writer.py <mode> <store> <args...>``; stdout/stderr go to files, so nothing can block the child
    and whatever it wrote before a SIGKILL is still there to read."""

    def __init__(self, workdir: Path, name: str, mode: str, store: Path, *args: object) -> None:
        self.out_path = workdir / f"{name}.out"
        self.err_path = workdir / f"{name}.err"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, str(WRITER), mode, str(store), *map(str, args)],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )

    def events(self) -> list[dict[str, Any]]:
        """Every whole line reported so far (a line torn by the kill has no newline and is ignored)."""
        data = self.out_path.read_bytes()
        lines = data.split(b"\n")[:-1]
        return [json.loads(line) for line in lines]

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def wait_for(self, kind: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e["t"] == kind for e in self.events()):
                return
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"child exited ({self.proc.returncode}) before {kind!r}:\n{self.stderr()}"
                )
            time.sleep(0.01)
        self.kill()
        raise AssertionError(f"child did not report {kind!r} within {timeout} s:\n{self.stderr()}")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> int:
        """SIGKILL the child (if still running) and reap it; returns its exit status."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=30)


def split_events(
    events: list[dict[str, Any]],
) -> tuple[list[tuple[dict[str, Any], int]], dict[str, Any] | None]:
    """``([(op, acked lsn), ...] in order, the in-flight op or None)``; checks the protocol is well formed."""
    acked: list[tuple[dict[str, Any], int]] = []
    pending: dict[str, Any] | None = None
    for ev in events:
        if ev["t"] == "begin":
            assert pending is None, f"begin {ev['i']} while {pending} is unacknowledged"
            pending = ev
        elif ev["t"] == "ack":
            assert pending is not None and pending["i"] == ev["i"], f"ack without its begin: {ev}"
            acked.append((pending["op"], ev["lsn"]))
            pending = None
    return acked, (pending["op"] if pending is not None else None)


# ---------------------------------------------------------------- the model


def f32(values: Any) -> tuple[Any, ...]:
    """A record's vector as compared: dense values as float32, or sparse values (a dict, or the engine's
    ``SparseValues``) as (indices, float32 values) in their stored order."""
    if isinstance(values, dict):
        return (tuple(values["indices"]), f32(values["values"]))
    if hasattr(values, "indices"):
        return (tuple(values.indices), f32(values.values))
    return tuple(float(x) for x in np.asarray(values, dtype=np.float32))


def _norm(v: Any) -> Any:
    if isinstance(v, bool | str):
        return v
    if isinstance(v, int | float):
        return float(v)  # metadata numbers are float64 in spruce
    if isinstance(v, list):
        return [_norm(x) for x in v]
    return v


def canon_meta(meta: dict[str, Any] | None) -> str:
    """Metadata in a canonical, type-strict form (True and 1.0 differ, 3 and 3.0 do not)."""
    return json.dumps({k: _norm(v) for k, v in (meta or {}).items() if v is not None}, sort_keys=True)


def _cond(meta: dict[str, Any], key: str, cond: Any) -> bool:
    if key not in meta:
        return False
    v = meta[key]
    if not isinstance(cond, dict):
        cond = {"$eq": cond}
    for op, arg in cond.items():
        if op == "$eq":
            ok = v == arg
        elif op == "$in":
            ok = v in arg
        elif op == "$gte":
            ok = not isinstance(v, bool | str) and v >= arg
        elif op == "$lt":
            ok = not isinstance(v, bool | str) and v < arg
        else:
            raise ValueError(f"model does not know {op}")
        if not ok:
            return False
    return True


def matches(meta: dict[str, Any], flt: dict[str, Any]) -> bool:
    return all(_cond(meta, k, c) for k, c in flt.items())


class Model:
    """namespace -> id -> (values, metadata); a namespace exists from its first upsert until delete_all."""

    def __init__(self) -> None:
        self.ns: dict[str, dict[str, tuple[Any, dict[str, Any]]]] = {}

    def copy(self) -> Model:
        m = Model()
        m.ns = copy.deepcopy(self.ns)
        return m

    def apply(self, op: dict[str, Any]) -> bool:
        """Apply ``op``; returns whether the engine logs an entry for it (it changes something)."""
        kind, name = op["kind"], op["ns"]
        if kind == "upsert":
            recs = self.ns.setdefault(name, {})
            for rid, values, meta in op["records"]:
                recs[rid] = (copy.deepcopy(values), dict(meta))
            return True
        recs = self.ns.get(name)
        if recs is None:
            return False
        if kind == "delete_all":
            del self.ns[name]
            return True
        if kind == "delete_ids":
            present = [rid for rid in op["ids"] if rid in recs]
            for rid in present:
                del recs[rid]
            return bool(present)
        if kind == "update_id":
            rid = op["id"]
            if rid not in recs:
                return False
            values, meta = recs[rid]
            if op["values"] is not None:
                values = copy.deepcopy(op["values"])
            if op["set_metadata"] is not None:
                meta = {**meta, **op["set_metadata"]}
            recs[rid] = (values, meta)
            return True
        hit = [rid for rid, (_, meta) in recs.items() if matches(meta, op["filter"])]
        if kind == "update_filter":
            for rid in hit:
                values, meta = recs[rid]
                recs[rid] = (values, {**meta, **op["set_metadata"]})
            return bool(hit)
        if kind == "delete_filter":
            for rid in hit:
                del recs[rid]
            return bool(hit)
        raise ValueError(f"unknown op {kind!r}")

    def state(self) -> dict[str, dict[str, tuple[tuple[float, ...], str]]]:
        return {
            name: {rid: (f32(v), canon_meta(m)) for rid, (v, m) in recs.items()}
            for name, recs in self.ns.items()
        }


# ---------------------------------------------------------------- the store


def snapshot(
    idx: Any, universe: list[str] | None = None
) -> dict[str, dict[str, tuple[tuple[float, ...], str]]]:
    """The whole visible state of ``idx`` via fetch, with stats, listing and a query cross-checked."""
    universe = universe if universe is not None else ids_universe()
    stats = idx.describe_index_stats()
    names = {("" if n == "__default__" else n) for n in stats.namespaces}
    state: dict[str, dict[str, tuple[tuple[float, ...], str]]] = {}
    for name in sorted(names | set(NAMESPACES)):
        got = idx.fetch(universe, namespace=name).vectors
        if name not in names:
            assert not got, f"namespace {name!r} absent from stats but fetch returns {sorted(got)}"
            continue
        state[name] = {
            rid: (f32(v.sparse_values if v.sparse_values is not None else v.values), canon_meta(v.metadata))
            for rid, v in got.items()
        }
        key = name if name in stats.namespaces else "__default__"
        count = stats.namespaces[key].vector_count
        assert count == len(got), f"namespace {name!r}: stats say {count}, fetch finds {len(got)}"
        listed = [item.id for page in idx.list(namespace=name) for item in page.vectors]
        assert listed == sorted(got), f"namespace {name!r}: list {listed[:5]}.. != fetched ids"
        for rid in sorted(got)[:2]:  # the search path sees the same records (segments, memtable)
            if got[rid].sparse_values is not None:  # (dot product: the record scores > 0 against itself)
                res = idx.query(id=rid, top_k=len(universe), namespace=name)
            else:
                res = idx.query(vector=list(got[rid].values), top_k=3, namespace=name)
            assert rid in [m.id for m in res.matches], f"query by {name!r}/{rid}'s own vector misses it"
    assert stats.total_vector_count == sum(len(r) for r in state.values())
    return state


def doc_snapshot(
    docs: Any, universe: list[str] | None = None
) -> dict[str, dict[str, tuple[tuple[float, ...], str]]]:
    """``snapshot`` for a document index, through its Documents API (records are documents: ``emb`` the
    values, the other fields the metadata), with listing, a dense search and BM25 scores of the full-text
    field cross-checked: the statistics must be those of exactly the documents that fetch finds."""
    from bm25_reference import assert_ranked, bm25

    universe = universe if universe is not None else ids_universe()
    state: dict[str, dict[str, tuple[tuple[float, ...], str]]] = {}
    for name in NAMESPACES:
        public = name or "__default__"
        got = docs.fetch(namespace=public, ids=universe).documents
        listed = [d.id for d in docs.list(namespace=public)]
        assert listed == sorted(got), f"namespace {name!r}: list {listed[:5]}.. != fetched ids"
        if not got:
            continue
        rows = {rid: d.to_dict() for rid, d in got.items()}
        state[name] = {
            rid: (f32(doc.pop("emb")), canon_meta({k: v for k, v in doc.items() if k != "_id"}))
            for rid, doc in ((rid, dict(d)) for rid, d in rows.items())
        }
        rid = sorted(got)[0]
        dense = [{"type": "dense_vector", "field": "emb", "values": rows[rid]["emb"]}]
        assert rid in [m.id for m in docs.search(namespace=public, score_by=dense, top_k=3).matches]
        for query in ("alpha", "beta gamma", "kappa iota"):
            expected = bm25({r: d.get("body") for r, d in rows.items()}, query)
            text = [{"type": "text", "query": query, "fields": ["body"]}]
            found = docs.search(namespace=public, score_by=text, top_k=10).matches
            assert_ranked([m.id for m in found], expected, 10)
            for m in found:
                assert abs(m.score - expected[m.id]) <= 1e-9 * expected[m.id], f"{name!r}/{m.id}: BM25 score"
    return state


def diff(a: dict[str, Any], b: dict[str, Any], limit: int = 8) -> str:
    """A short human description of how two states differ."""
    out: list[str] = []
    for name in sorted(set(a) | set(b)):
        if name not in a or name not in b:
            out.append(f"namespace {name!r} only in {'first' if name in a else 'second'}")
            continue
        for rid in sorted(set(a[name]) | set(b[name])):
            x, y = a[name].get(rid), b[name].get(rid)
            if x != y:
                out.append(f"{name!r}/{rid}: {x} != {y}")
    return "; ".join(out[:limit]) + (f"; ... ({len(out)} differences)" if len(out) > limit else "")


def crash_signs(store: Path) -> set[str]:
    """What a kill left half done on disk, read before recovery tidies it: shows which windows the kills
    actually hit (a put in progress, a flush before/after its manifest commit, a log truncation)."""
    import orjson

    from spruce.storage.framing import unframe

    signs: set[str] = set()
    if any((store / ".tmp").glob("*")):
        signs.add("put in progress (.tmp leftover)")
    for index_dir in (store / "indexes").glob("*"):
        manifests = sorted((index_dir / "manifest").glob("*"))
        if len(manifests) > 1:
            signs.add("older manifest not yet deleted")
        named: set[str] = set()
        manifest_lsn = 0
        if manifests:
            _, payload = unframe(manifests[-1].read_bytes(), b"SPRM")
            doc = orjson.loads(payload)
            manifest_lsn = doc["lsn"]
            for segs in doc["namespaces"].values():
                for s in segs:
                    named.update(k for k in (s["segment"], s["deleted"]) if k)
        prefix = f"indexes/{index_dir.name}/"
        for sub in ("seg", "del"):
            if any(f"{prefix}{sub}/{p.name}" not in named for p in (index_dir / sub).glob("*")):
                signs.add(f"unreferenced {sub} object (flush cut before its manifest or before GC)")
        if any(int(p.name) <= manifest_lsn for p in (index_dir / "log").glob("*") if p.name.isdigit()):
            signs.add("log entries covered by the manifest (cut before truncation)")
    return signs
