"""Child-process half of the crash tests: opens a spruce store and writes to it until it is SIGKILLed.

Run as a script (never imported by pytest as a test module)::

    python writer.py load <dir> <seed> <flush_rows> [excluded,kinds] [dense|sparse|documents]
                                                      random writes until killed (``sparse``: a sparse
                                                      index, records carry sparse values instead of dense
                                                      ones; ``documents``: a document index written
                                                      through ``index.documents``, each record a document
                                                      with a full-text ``body``)
    python writer.py torn <dir>                       # the fixed TORN_ENTRIES, then wait to be killed
    python writer.py hold <dir>                       # open the store, write one record, wait

Protocol (``load`` and ``torn``): one JSON object per line on stdout, flushed after each line, so whatever
the parent reads after the SIGKILL is exactly what had been reported::

    {"t": "ready"}                                    store open, index "x" exists
    {"t": "begin", "i": 7, "op": {...}}               about to call the operation (before the call)
    {"t": "ack", "i": 7, "lsn": 42}                   the call returned: the write is acknowledged

A ``begin`` without its ``ack`` is the single in-flight operation at the moment of the kill. The op
dicts are plain JSON (see ``random_op``), so the parent can replay them on a model. ``hold`` prints
``{"t": "ready", "lsn": 1}`` once the store (and its lock) is held and its one record is acknowledged.

The shared pieces (operation generator, the index's shape, the torn-tail batches) live here too, and
the tests import them, so both halves agree on them by construction.
"""

from __future__ import annotations

import json
import random
import sys
import time
from typing import Any

INDEX = "x"
DIM = 8
METRIC = "cosine"
NAMESPACES = ["", "a", "b"]
UNIVERSE = 300  # ids per namespace: "r000".."r299"; the parent fetches all of them to check the state
TAGS = ["red", "green", "blue", "cyan", "gold", "gray", "pink", "teal"]
MAX_SECONDS = 60.0  # a child whose parent died stops on its own

# torn-tail store: dimension 4, each log entry small (the test cuts/flips the last one at every offset)
TORN_DIM = 4
TORN_ENTRIES: list[dict[str, Any]] = [
    {
        "kind": "upsert",
        "ns": "",
        "records": [["a", [1.0, 2.0, 3.0, 4.0], {"g": 1}], ["b", [1.0, 0.0, 0.0, 0.5], {}]],
    },
    {"kind": "upsert", "ns": "n", "records": [["c", [0.5, 0.5, 0.5, 0.5], {"t": "x"}]]},
    {"kind": "update_id", "ns": "", "id": "a", "values": None, "set_metadata": {"h": "y"}},
    {"kind": "delete_ids", "ns": "", "ids": ["b"]},
    # the last entry: overwrites one existing record and adds one new, in two namespaces' worth of state
    {
        "kind": "upsert",
        "ns": "",
        "records": [["a", [4.0, 3.0, 2.0, 1.0], {"g": 2}], ["d", [0.25, 1.0, 0.0, 2.0], {"k": True}]],
    },
]


def ids_universe() -> list[str]:
    return [f"r{i:03d}" for i in range(UNIVERSE)]


def _values(rng: random.Random, dim: int = DIM) -> list[float]:
    # multiples of 1/64 below 64: exact in float32, so the parent can compare values exactly; never zero
    return [rng.choice((-1, 1)) * rng.randint(1, 4095) / 64 for _ in range(dim)]


def _metadata(rng: random.Random) -> dict[str, Any]:
    meta: dict[str, Any] = {"grp": rng.randrange(5), "n": rng.randrange(1000)}
    if rng.random() < 0.8:
        meta["tag"] = rng.choice(TAGS)
    if rng.random() < 0.5:
        meta["tags"] = rng.sample(TAGS, rng.randint(0, 3))
    if rng.random() < 0.5:
        meta["flag"] = rng.random() < 0.5
    if rng.random() < 0.3:
        meta["pad"] = "p" * rng.randrange(1, 400)  # vary entry sizes
    return meta


WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]
DOC_SCHEMA = {
    "fields": {
        "body": {"type": "string", "full_text_search": {"language": "en"}},
        "emb": {"type": "dense_vector", "dimension": DIM, "metric": METRIC},
    }
}


def _body(rng: random.Random) -> str:
    """A document's full-text field: 1-15 words of a small vocabulary, so that terms recur."""
    return " ".join(rng.choices(WORDS, weights=range(len(WORDS), 0, -1), k=rng.randint(1, 15)))


SPARSE_DIMS = 200  # sparse records draw their indices from 0..199, so they overlap


def _sparse_values(rng: random.Random) -> dict[str, list[Any]]:
    """A sparse vector of 1-20 values, exact in float32 like ``_values``; indices in the order drawn."""
    indices = rng.sample(range(SPARSE_DIMS), rng.randint(1, 20))
    return {"indices": indices, "values": [rng.randint(1, 4095) / 64 for _ in indices]}


def _record_values(rng: random.Random, kind: str) -> Any:
    """A record's vector: dense values (a list), or sparse values (a dict) on a sparse index."""
    return _sparse_values(rng) if kind == "sparse" else _values(rng)


def _patch(rng: random.Random, i: int) -> dict[str, Any]:
    patch: dict[str, Any] = {"upd": i}
    if rng.random() < 0.5:
        patch["grp"] = rng.randrange(5)
    if rng.random() < 0.5:
        patch["tag"] = rng.choice(TAGS)
    return patch


def _filter(rng: random.Random, narrow: bool) -> dict[str, Any]:
    if narrow:  # delete by filter: a few percent of a namespace
        return rng.choice(
            [
                {"n": {"$gte": rng.randrange(940, 1000)}},
                {"grp": rng.randrange(5), "tag": rng.choice(TAGS)},
                {"tag": {"$in": rng.sample(TAGS, 1)}, "n": {"$lt": 300}},
            ]
        )
    return rng.choice(
        [
            {"grp": rng.randrange(5)},
            {"grp": {"$in": rng.sample(range(5), 2)}},
            {"tag": {"$eq": rng.choice(TAGS)}},
            {"n": {"$gte": rng.randrange(500, 1000)}},
        ]
    )


def random_op(
    rng: random.Random, i: int, exclude: frozenset[str] = frozenset(), kind: str = "dense"
) -> dict[str, Any]:
    """One write, as a JSON-able dict the parent's model can replay; never one of the ``exclude`` kinds."""
    while True:
        op = _random_op(rng, i, kind)
        if op["kind"] not in exclude:
            return op


def _random_op(rng: random.Random, i: int, kind: str) -> dict[str, Any]:
    ns = rng.choice(NAMESPACES)
    universe = ids_universe()
    roll = rng.random()
    if roll < 0.45:
        size = rng.choice([1, 1, 2, 5, 10, 25, 60, 100])
        records = [[rid, _record_values(rng, kind), _metadata(rng)] for rid in rng.sample(universe, size)]
        if kind == "documents":
            for record in records:
                record[2]["body"] = _body(rng)
        return {"kind": "upsert", "ns": ns, "records": records}
    if roll < 0.60:
        return {"kind": "delete_ids", "ns": ns, "ids": rng.sample(universe, rng.randint(1, 20))}
    if roll < 0.77:
        which = rng.random()
        values = _record_values(rng, kind) if which < 0.7 else None
        patch = _patch(rng, i) if which >= 0.4 else None
        return {
            "kind": "update_id",
            "ns": ns,
            "id": rng.choice(universe),
            "values": values,
            "set_metadata": patch,
        }
    if roll < 0.88:
        return {
            "kind": "update_filter",
            "ns": ns,
            "filter": _filter(rng, False),
            "set_metadata": _patch(rng, i),
        }
    if roll < 0.98:
        return {"kind": "delete_filter", "ns": ns, "filter": _filter(rng, True)}
    return {"kind": "delete_all", "ns": ns}


def run_doc_op(docs: Any, op: dict[str, Any]) -> int:
    """Perform ``op`` through the embedded client's Documents API; returns the acknowledged LSN. A record
    ``[id, values, metadata]`` is the document ``{"_id": id, "emb": values, **metadata}``."""
    kind, ns = op["kind"], op["ns"] or "__default__"
    if kind == "upsert":
        resp = docs.upsert(
            namespace=ns, documents=[{"_id": r[0], "emb": r[1], **r[2]} for r in op["records"]]
        )
    elif kind == "delete_ids":
        resp = docs.delete(namespace=ns, ids=op["ids"])
    elif kind == "update_id":
        patch = {"_id": op["id"], **(op["set_metadata"] or {})}
        if op["values"] is not None:
            patch["emb"] = op["values"]
        resp = docs.update(namespace=ns, documents=[patch])
    elif kind == "update_filter":
        resp = docs.update(namespace=ns, filter=op["filter"], set_fields=op["set_metadata"])
    elif kind == "delete_filter":
        resp = docs.delete(namespace=ns, filter=op["filter"])
    elif kind == "delete_all":
        resp = docs.delete(namespace=ns, delete_all=True)
    else:
        raise ValueError(f"unknown op {kind!r}")
    return int(resp.lsn)


def run_op(idx: Any, op: dict[str, Any]) -> int:
    """Perform ``op`` through the embedded client; returns the acknowledged LSN."""
    kind, ns = op["kind"], op["ns"]
    if kind == "upsert":
        records = [
            {"id": r[0], "sparse_values": r[1], "metadata": r[2]}
            if isinstance(r[1], dict)
            else (r[0], r[1], r[2])
            for r in op["records"]
        ]
        resp = idx.upsert(records, namespace=ns)
    elif kind == "delete_ids":
        resp = idx.delete(ids=op["ids"], namespace=ns)
    elif kind == "update_id":
        vec = op["values"]
        sparse = isinstance(vec, dict)
        resp = idx.update(
            id=op["id"],
            values=None if sparse else vec,
            sparse_values=vec if sparse else None,
            set_metadata=op["set_metadata"],
            namespace=ns,
        )
    elif kind == "update_filter":
        resp = idx.update(filter=op["filter"], set_metadata=op["set_metadata"], namespace=ns)
    elif kind == "delete_filter":
        resp = idx.delete(filter=op["filter"], namespace=ns)
    elif kind == "delete_all":
        resp = idx.delete(delete_all=True, namespace=ns)
    else:
        raise ValueError(f"unknown op {kind!r}")
    return int(resp.lsn)


def emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def _open(path: str, flush_rows: int, dim: int, kind: str = "dense") -> tuple[Any, Any]:
    import spruce

    # ann_min_rows well below flush_rows: flushes and merges also build, extend and save HNSW graphs, so
    # kills land in the middle of those too.
    db = spruce.Client(path=path, flush_rows=flush_rows, ann_min_rows=max(2, flush_rows // 8))
    if not db.has_index(INDEX):
        if kind == "sparse":
            db.create_index(INDEX, vector_type="sparse")
        elif kind == "documents":
            db.create_document_index(INDEX, DOC_SCHEMA)
        else:
            db.create_index(INDEX, dimension=dim, metric=METRIC)
    return db, db.Index(INDEX).documents if kind == "documents" else db.Index(INDEX)


def _wait_forever() -> None:
    deadline = time.monotonic() + MAX_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)


def main(argv: list[str]) -> None:
    mode, path = argv[1], argv[2]
    if mode == "load":
        seed, flush_rows = int(argv[3]), int(argv[4])
        exclude = frozenset(k for k in (argv[5] if len(argv) > 5 else "").split(",") if k)
        kind = argv[6] if len(argv) > 6 else "dense"
        rng = random.Random(seed)
        _db, idx = _open(path, flush_rows, DIM, kind)
        emit({"t": "ready"})
        deadline = time.monotonic() + MAX_SECONDS
        i = 0
        while time.monotonic() < deadline:
            op = random_op(rng, i, exclude, kind)
            emit({"t": "begin", "i": i, "op": op})
            lsn = run_doc_op(idx, op) if kind == "documents" else run_op(idx, op)
            emit({"t": "ack", "i": i, "lsn": lsn})
            i += 1
    elif mode == "torn":
        _db, idx = _open(path, 1_000_000, TORN_DIM)  # never flushes: every write stays a log entry
        emit({"t": "ready"})
        for i, op in enumerate(TORN_ENTRIES):
            emit({"t": "begin", "i": i, "op": op})
            emit({"t": "ack", "i": i, "lsn": run_op(idx, op)})
        emit({"t": "done"})
        _wait_forever()
    elif mode == "hold":
        _db, idx = _open(path, 1_000_000, DIM)
        lsn = run_op(idx, {"kind": "upsert", "ns": "", "records": [["held", [1.0] * DIM, {"by": "holder"}]]})
        emit({"t": "ready", "lsn": lsn})
        _wait_forever()
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv)
