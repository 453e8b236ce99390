"""The embedded engine against a plain dict model: random write sequences, all read back after each step.

A hypothesis ``RuleBasedStateMachine`` drives ``spruce.Client`` (one index of a kind drawn per run: dense
with dimension 3 or 4 and any metric, hybrid (dense dotproduct records that may carry sparse values too),
or sparse (no dense values, dotproduct); a tiny ``flush_rows`` so that memtables become segments all the
time, and the background flush/compaction thread running) with random sequences of: upserts (duplicate
ids inside a batch, ids that already exist, tuple and dict records, sparse values), updates by id (values,
sparse values and/or ``set_metadata``) and by filter
(``dry_run`` too), deletes by ids (unknown ones too), by filter and by id prefix (the documented
list-then-delete loop), ``delete_all``, namespace create and delete, refused writes, explicit flush and
compaction, and close-and-reopen (with the flush on close, and without it as after a crash).

The model is ``namespace -> {id: (float32 values, metadata, sparse values as {index: float32})}``. A
namespace exists once written to or
created, until ``delete_namespace`` or ``delete_all``; deleting its last record leaves it there, empty.
After every step (each rule also draws a :class:`Probe`: the random parameters of the reads) the engine
must agree with the model on:

* ``fetch`` of every id of the vocabulary (and unknown ones) in every namespace: values bit for bit,
  metadata equal with its types (numbers come back as float, ``True`` is not ``1.0``);
* ``list_paginated`` with a small limit and a prefix, following tokens: exactly the sorted model ids;
* ``describe_index_stats``: namespaces, per-namespace counts, total; with a filter, the per-namespace
  filtered counts (the total ignores the filter);
* ``list_namespaces`` (paginated) and ``describe_namespace`` (``NotFoundError`` for a missing one);
* ``fetch_by_metadata`` with a filter, following tokens;
* ``query`` by vector (unfiltered, filtered, and with a ``top_k`` covering everything) and by id, against
  the exact ranking computed in float64 (cosine similarity, dot product, squared euclidean where lower is
  better; hybrid: dense dot + sparse dot; sparse: sparse dot, records scoring 0 left out; ties by
  ascending id): each score within 1e-4 relative of the model's, reordering allowed only
  among ids the model scores within that tolerance, equal engine scores in ascending id order, and the
  top-k equal to the prefix of the full ranking (ties at the k-th place broken the same way).

LSNs: never decreasing, strictly increasing when the write changed the model, unchanged by a dry run or a
refused write, carried over a reopen. The filter oracle is ``spruce.filter.reference_matches``.

Because the background thread flushes and compacts on its own schedule, a failure that depends on its
timing may replay as "flaky"; the sequence hypothesis prints is still the one to look at.

Environment knobs: ``SPRUCE_SM_EXAMPLES`` / ``SPRUCE_SM_STEPS`` (CI defaults below), ``SPRUCE_SM_RANDOM=1``
for a fresh random run (and the example database) instead of the derandomised one CI uses,
``SPRUCE_SM_SHRINK=1`` to shrink a failure to a minimal sequence (on by default only in random runs: it can
take minutes, so CI prints the sequence as found; the derandomised run finds the same one locally), and
``SPRUCE_SM_DISABLE=rule,...`` to switch rules (``upsert``, ``update``, ``update_filter``, ``delete``,
``delete_filter``, ``delete_prefix``, ``rejected``, ``namespaces``) or maintenance operations (``flush``,
``compact``, ``reopen``, ``reopen_unflushed``) off while exploring.

At the end, sequences the machine found are replayed as plain tests, so they run every time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import shutil
import tempfile
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

import spruce
from spruce.errors import AlreadyExistsError, InvalidArgumentError, NotFoundError
from spruce.filter import reference_matches

EXAMPLES = int(os.environ.get("SPRUCE_SM_EXAMPLES", "100"))
STEPS = int(os.environ.get("SPRUCE_SM_STEPS", "50"))
RANDOM_RUN = os.environ.get("SPRUCE_SM_RANDOM", "") not in ("", "0")
SHRINK = os.environ.get("SPRUCE_SM_SHRINK", "1" if RANDOM_RUN else "") not in ("", "0")
DISABLED = {name.strip() for name in os.environ.get("SPRUCE_SM_DISABLE", "").split(",") if name.strip()}

INDEX = "machine"
DEFAULT_ALIAS = "__default__"
NAMESPACES = ["", "ns1", "ns2"]
NS_ARGS = ["", DEFAULT_ALIAS, "ns1", "ns2"]  # how callers may name them
IDS = [
    "A",
    "a",
    "a1",
    "a2",
    "ab",
    "b",
    "b1",
    "b2",
    "ba",
    "c",
]  # "A" < "a" < "a1" < "a2" < "ab": byte order matters
UNKNOWN_IDS = ["a3", "zz"]
PREFIXES = [None, "", "a", "a1", "b", "x"]
REL_TOL = 1e-4
MAINTENANCE = ["flush", "compact", "reopen", "reopen_unflushed"]
REJECTED = [
    "dimension",
    "nan",
    "not_finite",
    "id",
    "nested",
    "list",
    "delete_empty_filter",
    "update_empty_filter",
    "bad_filter",
    "ids_and_filter",
    "values_by_filter",
    "sparse_repeat",
    "sparse_lengths",
    "sparse_misplaced",
]

# ---------------------------------------------------------------- strategies

component = st.one_of(
    st.sampled_from([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0]),  # exact in float32: real ties
    st.integers(-2, 2),
    # Magnitudes of real embeddings: products of two components stay far above float32's smallest normal
    # number (see test_cosine_of_tiny_vectors for what happens below it).
    st.floats(1 / 1024, 100, width=32),
    st.floats(-100, -1 / 1024, width=32),
)
# Four components, cut to the index dimension (3 or 4); never all zero, so cosine accepts every vector.
raw_vectors = st.lists(component, min_size=4, max_size=4).filter(lambda v: any(v[:3]))

GENRES = ["a", "b", "c"]
TAGS = ["x", "y", "z"]
YEARS: list[int | float] = [2019, 2020, 2020.5, 2021.0, -1, 0]
MISC: list[Any] = ["a", "x", 0, 1, 1.0, 2.5, True, False]

meta_values: dict[str, st.SearchStrategy[Any]] = {
    "genre": st.sampled_from(GENRES),
    "year": st.sampled_from(YEARS),
    "flag": st.booleans(),
    "tags": st.lists(st.sampled_from(TAGS), max_size=3),
    "misc": st.one_of(st.sampled_from(MISC), st.lists(st.sampled_from(["a", "x"]), max_size=2)),
}
# Upserted metadata may carry nulls (dropped on write); patches never do (a null in a patch is unsettled).
metadata = st.fixed_dictionaries(
    {}, optional={**meta_values, "genre": st.one_of(st.none(), st.sampled_from(GENRES))}
)
patches = st.fixed_dictionaries({}, optional=meta_values)


def _conditions(values: list[Any], *, ordered: bool = False, lists: bool = True) -> st.SearchStrategy[Any]:
    one = st.sampled_from(values)
    options: list[st.SearchStrategy[Any]] = [
        one,  # implicit equality
        one.map(lambda v: {"$eq": v}),
        one.map(lambda v: {"$ne": v}),
        st.booleans().map(lambda b: {"$exists": b}),
    ]
    if lists:
        many = st.lists(one, min_size=1, max_size=3)
        options += [many.map(lambda vs: {"$in": vs}), many.map(lambda vs: {"$nin": vs})]
    if ordered:
        options.append(
            st.tuples(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), one).map(lambda t: {t[0]: t[1]})
        )
    return st.one_of(options)


FIELD_CONDITIONS: dict[str, st.SearchStrategy[Any]] = {
    "genre": _conditions(GENRES),
    "year": _conditions(YEARS, ordered=True),
    "flag": _conditions([True, False], lists=False),
    "tags": _conditions(TAGS),
    "misc": st.one_of(_conditions(["a", "x", 0, 1.0, 2.5], ordered=False), _conditions([True], lists=False)),
}
simple_filters = st.lists(
    st.sampled_from(sorted(FIELD_CONDITIONS)), min_size=1, max_size=2, unique=True
).flatmap(lambda keys: st.fixed_dictionaries({k: FIELD_CONDITIONS[k] for k in keys}))
filters = st.one_of(
    simple_filters,
    st.lists(simple_filters, min_size=1, max_size=3).map(lambda fs: {"$or": fs}),
    st.lists(simple_filters, min_size=1, max_size=3).map(lambda fs: {"$and": fs}),
)


# Sparse values: up to four of eight dimensions (so records share dimensions), in the order drawn.
sparse_vectors = st.dictionaries(st.integers(0, 7), component, max_size=4)


@dataclasses.dataclass(frozen=True)
class Probe:
    """The random parameters of the reads that check the state after a step."""

    ns: str
    vector: tuple[float, ...]
    top_k: int
    filter: dict[str, Any]
    prefix: str | None
    limit: int
    by_id: str | None
    include_values: bool
    include_metadata: bool
    sparse: tuple[tuple[int, float], ...] = ()


probes = st.builds(
    Probe,
    ns=st.sampled_from(NS_ARGS),
    vector=raw_vectors.map(tuple),
    top_k=st.integers(1, 10),
    filter=filters,
    prefix=st.sampled_from(PREFIXES),
    limit=st.integers(1, 4),
    by_id=st.one_of(st.none(), st.sampled_from(IDS)),
    include_values=st.booleans(),
    include_metadata=st.booleans(),
    sparse=sparse_vectors.map(lambda d: tuple(d.items())),
)

records = st.lists(
    st.tuples(
        st.sampled_from(IDS),
        raw_vectors,
        st.one_of(st.none(), metadata),
        st.sampled_from(["tuple", "dict"]),
        sparse_vectors,
    ),
    min_size=1,
    max_size=6,
)

# ---------------------------------------------------------------- the model's helpers

Record = tuple[np.ndarray, dict[str, Any], dict[int, float]]


def canonical(ns: str) -> str:
    return "" if ns == DEFAULT_ALIAS else ns


def public(ns: str) -> str:
    return ns or DEFAULT_ALIAS


def normalise_meta(meta: dict[str, Any] | None) -> dict[str, Any]:
    """What the engine stores: nulls dropped, numbers as float, lists as lists."""
    out: dict[str, Any] = {}
    for key, value in (meta or {}).items():
        if value is None:
            continue
        if isinstance(value, bool | str):
            out[key] = value
        elif isinstance(value, int | float):
            out[key] = float(value)
        else:
            out[key] = list(value)
    return out


def as_float32(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).astype(np.float32)


def meta_equal(got: dict[str, Any] | None, want: dict[str, Any]) -> bool:
    """Equal with types: ``True`` is not ``1.0``; numbers must come back as float."""
    got = got or {}
    if set(got) != set(want):
        return False
    for key, value in want.items():
        other = got[key]
        if type(other) is not type(value) or other != value:
            return False
        if isinstance(value, list) and any(type(e) is not str for e in other):
            return False
    return True


def fingerprint(model: dict[str, dict[str, Record]]) -> Any:
    return tuple(
        (
            ns,
            tuple(
                (rid, vals.tobytes(), repr(sorted(meta.items())), repr(list(sparse.items())))
                for rid, (vals, meta, sparse) in sorted(recs.items())
            ),
        )
        for ns, recs in sorted(model.items())
    )


def score(metric: str, values: np.ndarray, q: np.ndarray) -> tuple[float, float]:
    """The exact score in float64 and the tolerance allowed for the engine's float32 arithmetic."""
    v = values.astype(np.float64)
    w = q.astype(np.float64)
    dot = float(v @ w)
    nv, nw = math.sqrt(float(v @ v)), math.sqrt(float(w @ w))
    if metric == "cosine":
        return dot / (nv * nw), REL_TOL
    if metric == "dotproduct":
        return dot, REL_TOL * max(1.0, abs(dot), nv * nw)
    d = float(((v - w) ** 2).sum())
    return d, REL_TOL * max(1.0, d, nv * nv + nw * nw)


def sparse_score(a: dict[int, float], b: dict[int, float]) -> tuple[float, float]:
    """The exact sparse dot product in float64, and the tolerance for float32 arithmetic."""
    terms = [float(v) * float(b[i]) for i, v in a.items() if i in b]
    return sum(terms), REL_TOL * max(1.0, sum(abs(t) for t in terms))


def sparse_f32(raw: dict[int, Any]) -> dict[int, float]:
    """Sparse values as stored: float32, in the order given."""
    return {i: float(np.float32(v)) for i, v in raw.items()}


def sparse_arg(sparse: dict[int, float]) -> dict[str, list[Any]]:
    return {"indices": list(sparse), "values": list(sparse.values())}


def enabled(name: str) -> Any:
    """A rule switched off by ``SPRUCE_SM_DISABLE`` gets a precondition that never holds."""
    if name not in DISABLED:
        return lambda f: f
    return precondition(lambda self: False)


# ---------------------------------------------------------------- the machine


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="spruce-sm-")
        self.db: spruce.Client | None = None
        self.model: dict[str, dict[str, Record]] = {}
        self.last_lsn = 0
        self.metric = "cosine"
        self.kind = "dense"
        self.dim = 4
        self.flush_rows = 7
        self.ann_min_rows = 10_000

    # ------------------------------------------------------------ lifecycle

    @initialize(
        metric=st.sampled_from(["cosine", "euclidean", "dotproduct"]),
        dim=st.integers(3, 4),
        flush_rows=st.sampled_from([1, 3, 7, 1000]),
        ann_min_rows=st.sampled_from([2, 5, 10_000]),
        probe=probes,
        kind=st.sampled_from(["dense", "dense", "hybrid", "sparse"]),
    )
    def open_index(
        self,
        metric: str,
        dim: int,
        flush_rows: int,
        probe: Probe,
        ann_min_rows: int = 10_000,
        kind: str = "dense",
    ) -> None:
        # Small ann_min_rows: segments get HNSW graphs (built, extended by merges, saved, memory-mapped
        # on reopen, their storage serving fetches), while queries of this size still plan exact scans.
        if kind != "dense":
            metric = "dotproduct"
        if kind == "sparse":
            dim = 0
        self.metric, self.dim, self.flush_rows, self.ann_min_rows = metric, dim, flush_rows, ann_min_rows
        self.kind = kind
        self.db = spruce.Client(path=self.dir, flush_rows=flush_rows, ann_min_rows=ann_min_rows)
        if kind == "sparse":
            self.db.create_index(INDEX, vector_type="sparse")
        else:
            self.db.create_index(INDEX, dimension=dim, metric=metric)
        self.idx = self.db.Index(INDEX)
        self.check(probe)

    def teardown(self) -> None:
        try:
            if self.db is not None:
                self.db.close()
                self.db = None
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------ maintenance and lifecycle

    def _reopen(self, *, flush_on_close: bool) -> None:
        assert self.db is not None
        if not flush_on_close:  # as after a crash: the memtables' writes come back from the log
            self.db.database.index(INDEX).close(flush=False)
        self.db.close()
        self.db = None
        self.db = spruce.Client(path=self.dir, flush_rows=self.flush_rows, ann_min_rows=self.ann_min_rows)
        self.idx = self.db.Index(INDEX)
        assert (self.idx.config.dimension, self.idx.config.metric) == (self.dim, self.metric)
        assert self.idx.lsn >= self.last_lsn, "the LSN went back over a reopen"

    @rule(op=st.sampled_from([op for op in MAINTENANCE if op not in DISABLED] or ["flush"]), probe=probes)
    def maintenance(self, op: str, probe: Probe) -> None:
        """``flush`` and ``compact`` (what the background thread does, run now), close and reopen."""
        if op == "flush":
            self.idx.flush()
        elif op == "compact":
            self.idx.compact()
        else:
            self._reopen(flush_on_close=op == "reopen")
        self.check(probe)

    # ------------------------------------------------------------ writes

    def _lsn(self, lsn: int, before: Any, what: str) -> None:
        changed = fingerprint(self.model) != before
        assert lsn >= self.last_lsn, f"{what}: LSN {lsn} went back from {self.last_lsn}"
        if changed:
            assert lsn > self.last_lsn, f"{what} changed the data but its LSN {lsn} did not advance"
        self.last_lsn = lsn

    def _vec(self, raw: Any) -> list[Any]:
        return list(raw[: self.dim])

    def _sparse_of(self, rest: Any) -> dict[int, float]:
        """A drawn record's sparse values as this index takes them: none on a dense index; on a sparse
        one, at least one (dimension 0 stands in for an empty draw)."""
        raw = dict(rest[0]) if rest else {}
        if self.kind == "dense":
            return {}
        if self.kind == "sparse" and not raw:
            raw = {0: 1.0}
        return sparse_f32(raw)

    def _record(self, rid: str, raw: Any, meta: Any, form: str, sparse: dict[int, float]) -> Any:
        values = self._vec(raw)
        if form == "dict" or sparse or self.kind == "sparse":
            rec: dict[str, Any] = {"id": rid}
            if self.kind != "sparse":
                rec["values"] = values
            if sparse:
                rec["sparse_values"] = sparse_arg(sparse)
            if meta is not None:
                rec["metadata"] = meta
            return rec
        return (rid, values) if meta is None else (rid, values, meta)

    def _upsert(self, ns: str, recs: list[tuple[Any, ...]], probe: Probe) -> None:
        before = fingerprint(self.model)
        batch: list[Any] = []
        for rid, raw, meta, form, *rest in recs:
            batch.append(self._record(rid, raw, meta, form, self._sparse_of(rest)))
        resp = self.idx.upsert(batch, namespace=ns)
        space = self.model.setdefault(canonical(ns), {})
        for rid, raw, meta, _, *rest in recs:  # one after the other: the last of duplicate ids wins
            space[rid] = (as_float32(self._vec(raw)), normalise_meta(meta), self._sparse_of(rest))
        assert resp.upserted_count == len(batch)
        self._lsn(resp.lsn, before, "upsert")
        self.check(probe)

    # Upserts come in under three names so that they are drawn more often than the other rules and the
    # namespaces hold a few records most of the time.
    @enabled("upsert")
    @rule(ns=st.sampled_from(NS_ARGS), recs=records, probe=probes)
    def upsert(self, ns: str, recs: list[tuple[Any, ...]], probe: Probe) -> None:
        self._upsert(ns, recs, probe)

    @enabled("upsert")
    @rule(ns=st.sampled_from(NS_ARGS), recs=records, probe=probes)
    def upsert_more(self, ns: str, recs: list[tuple[Any, ...]], probe: Probe) -> None:
        self._upsert(ns, recs, probe)

    @enabled("upsert")
    @rule(ns=st.sampled_from(NS_ARGS), recs=records, probe=probes)
    def upsert_again(self, ns: str, recs: list[tuple[Any, ...]], probe: Probe) -> None:
        self._upsert(ns, recs, probe)

    @enabled("update")
    @rule(
        ns=st.sampled_from(NS_ARGS),
        rid=st.sampled_from(IDS + UNKNOWN_IDS),
        raw=st.one_of(st.none(), raw_vectors),
        patch=st.one_of(st.none(), patches),
        probe=probes,
        sparse=st.one_of(st.none(), sparse_vectors.filter(bool)),
    )
    def update_by_id(
        self,
        ns: str,
        rid: str,
        raw: Any,
        patch: dict[str, Any] | None,
        probe: Probe,
        sparse: dict[int, Any] | None = None,
    ) -> None:
        before = fingerprint(self.model)
        if self.kind == "sparse":
            raw = None  # (a sparse index has no dense values to update)
        if self.kind == "dense":
            sparse = None
        new_sparse = None if sparse is None else sparse_f32(sparse)
        if raw is None and patch is None and new_sparse is None:
            with pytest.raises(InvalidArgumentError):
                self.idx.update(id=rid, namespace=ns)
            self.check(probe)
            return
        values = None if raw is None else self._vec(raw)
        resp = self.idx.update(
            id=rid,
            values=values,
            set_metadata=patch,
            namespace=ns,
            sparse_values=None if new_sparse is None else sparse_arg(new_sparse),
        )
        space = self.model.get(canonical(ns), {})
        exists = rid in space
        if exists:  # values and sparse values replace, set_metadata merges
            old_values, old_meta, old_sparse = space[rid]
            new_values = old_values if values is None else as_float32(values)
            kept = old_sparse if new_sparse is None else new_sparse
            space[rid] = (new_values, {**old_meta, **normalise_meta(patch)}, kept)
        assert resp.matched_records == int(exists)
        self._lsn(resp.lsn, before, "update by id")
        self.check(probe)

    @enabled("update_filter")
    @rule(
        ns=st.sampled_from(NS_ARGS),
        flt=filters,
        patch=st.one_of(st.none(), patches),
        dry_run=st.booleans(),
        probe=probes,
    )
    def update_by_filter(
        self, ns: str, flt: dict[str, Any], patch: dict[str, Any] | None, dry_run: bool, probe: Probe
    ) -> None:
        before = fingerprint(self.model)
        if patch is None and not dry_run:
            with pytest.raises(InvalidArgumentError):
                self.idx.update(filter=flt, namespace=ns)
            self.check(probe)
            return
        lsn_before = self.last_lsn
        resp = self.idx.update(filter=flt, set_metadata=patch, namespace=ns, dry_run=dry_run)
        space = self.model.get(canonical(ns), {})
        matched = [rid for rid, (_, meta, _) in space.items() if reference_matches(flt, meta)]
        assert resp.matched_records == len(matched), f"update by {flt}: matched {resp.matched_records}"
        if dry_run:
            assert resp.lsn == lsn_before, "a dry run moved the LSN"
        else:
            for rid in matched:
                values, meta, sparse = space[rid]
                space[rid] = (values, {**meta, **normalise_meta(patch)}, sparse)
        self._lsn(resp.lsn, before, "update by filter")
        self.check(probe)

    @enabled("delete")
    @rule(
        ns=st.sampled_from(NS_ARGS),
        ids=st.lists(st.sampled_from(IDS + UNKNOWN_IDS), min_size=1, max_size=4),
        probe=probes,
    )
    def delete_ids(self, ns: str, ids: list[str], probe: Probe) -> None:
        before = fingerprint(self.model)
        resp = self.idx.delete(ids=ids, namespace=ns)
        space = self.model.get(canonical(ns), {})
        for rid in ids:  # unknown ids are not an error; the namespace stays, even if emptied
            space.pop(rid, None)
        self._lsn(resp.lsn, before, "delete by ids")
        self.check(probe)

    @enabled("delete_filter")
    @rule(ns=st.sampled_from(NS_ARGS), flt=filters, probe=probes)
    def delete_by_filter(self, ns: str, flt: dict[str, Any], probe: Probe) -> None:
        before = fingerprint(self.model)
        resp = self.idx.delete(filter=flt, namespace=ns)
        space = self.model.get(canonical(ns), {})
        for rid in [rid for rid, (_, meta, _) in space.items() if reference_matches(flt, meta)]:
            del space[rid]
        self._lsn(resp.lsn, before, "delete by filter")
        self.check(probe)

    @enabled("delete_prefix")
    @rule(
        ns=st.sampled_from(NS_ARGS),
        prefix=st.sampled_from(["a", "a1", "b", "A", "x"]),
        limit=st.integers(1, 3),
        probe=probes,
    )
    def delete_by_prefix(self, ns: str, prefix: str, limit: int, probe: Probe) -> None:
        """Pinecone's documented loop: list a page, delete it, go on with the page's token."""
        token: str | None = None
        for _ in range(len(IDS) + 2):
            page = self.idx.list_paginated(prefix=prefix, limit=limit, pagination_token=token, namespace=ns)
            ids = [v.id for v in page.vectors]
            if ids:
                before = fingerprint(self.model)
                resp = self.idx.delete(ids=ids, namespace=ns)
                space = self.model.get(canonical(ns), {})
                assert set(ids) <= set(space), f"list {ns!r} prefix={prefix!r} gave unknown ids {ids}"
                for rid in ids:
                    del space[rid]
                self._lsn(resp.lsn, before, "delete by prefix")
            if page.pagination is None:
                break
            token = page.pagination.next
        else:
            raise AssertionError("list-then-delete did not finish")
        assert not [rid for rid in self.model.get(canonical(ns), {}) if rid.startswith(prefix)]
        self.check(probe)

    @enabled("rejected")
    @rule(
        ns=st.sampled_from(NS_ARGS),
        recs=records,
        where=st.integers(0, 6),
        kind=st.sampled_from(REJECTED),
        probe=probes,
    )
    def rejected_write(
        self, ns: str, recs: list[tuple[Any, ...]], where: int, kind: str, probe: Probe
    ) -> None:
        """Bad requests change nothing; an upsert batch with one bad record is refused whole and creates no
        namespace."""
        lsn_before = self.idx.lsn
        values: list[Any] = [0.5] * self.dim
        sparse: dict[str, Any] = {"indices": [1], "values": [0.5]}
        rid, meta, write = "bad", {}, True
        if kind == "dimension":
            values = [0.5] * (self.dim + 1)
        elif kind == "nan":
            values = [*values[:-1], math.nan] if self.dim else values
            sparse = {"indices": [1], "values": [math.nan]}
        elif kind == "not_finite":  # inf; or zero on a cosine index
            values = [0.0] * self.dim if self.metric == "cosine" else [math.inf, *values[1:]]
            sparse = {"indices": [1], "values": [math.inf]}
        elif kind == "id":
            rid = ""
        elif kind == "nested":
            meta = {"genre": {"nested": 1}}
        elif kind == "list":
            meta = {"tags": ["x", 1]}
        elif kind == "sparse_repeat":
            sparse = {"indices": [2, 2], "values": [0.5, 1.0]}
        elif kind == "sparse_lengths":
            sparse = {"indices": [2, 3], "values": [0.5]}
        elif kind == "sparse_misplaced":  # on a cosine/euclidean index any sparse values are; else none given
            sparse = {"indices": [], "values": []} if self.metric == "dotproduct" else sparse
            if self.metric == "dotproduct" and self.kind != "sparse":
                values = [0.5] * (self.dim + 2)
        else:
            write = False
        if write:
            batch: list[Any] = [
                self._record(r, raw, m or {}, "dict", self._sparse_of(rest)) for r, raw, m, _, *rest in recs
            ]
            bad: dict[str, Any] = {"id": rid, "metadata": meta}
            if self.kind != "sparse" or kind == "dimension":
                bad["values"] = values
            if self.kind != "dense" or kind.startswith("sparse"):
                bad["sparse_values"] = sparse
            batch.insert(min(where, len(batch)), bad)
            with pytest.raises(InvalidArgumentError):
                self.idx.upsert(batch, namespace=ns)
        else:
            with pytest.raises(InvalidArgumentError):
                if kind == "delete_empty_filter":
                    self.idx.delete(filter={}, namespace=ns)
                elif kind == "update_empty_filter":
                    self.idx.update(filter={}, set_metadata={"genre": "a"}, namespace=ns)
                elif kind == "bad_filter":
                    self.idx.delete(filter={"year": {"$gt": "a"}}, namespace=ns)
                elif kind == "ids_and_filter":
                    self.idx.delete(ids=["a"], filter={"genre": "a"}, namespace=ns)
                else:
                    assert kind == "values_by_filter"
                    self.idx.update(filter={"genre": "a"}, values=[1.0] * max(self.dim, 1), namespace=ns)
        assert self.idx.lsn == lsn_before, f"a refused write ({kind}) moved the LSN"
        self.check(probe)

    # ------------------------------------------------------------ namespaces

    @enabled("namespaces")
    @rule(
        op=st.sampled_from(["create", "delete", "delete_all"]),
        name=st.sampled_from(NS_ARGS),
        probe=probes,
    )
    def namespace_op(self, op: str, name: str, probe: Probe) -> None:
        before = fingerprint(self.model)
        ns = canonical(name)
        if op == "delete_all":  # the namespace disappears with its records; a missing one is no error
            resp = self.idx.delete(delete_all=True, namespace=name)
            self.model.pop(ns, None)
            self._lsn(resp.lsn, before, "delete_all")
        elif op == "delete":
            if ns not in self.model:
                with pytest.raises(NotFoundError):
                    self.idx.delete_namespace(name)
            else:
                resp = self.idx.delete_namespace(name)
                del self.model[ns]
                self._lsn(resp.lsn, before, "delete_namespace")
        else:
            lsn_before = self.idx.lsn
            if ns == "":
                with pytest.raises(InvalidArgumentError):  # the default namespace cannot be created
                    self.idx.create_namespace(name)
            elif ns in self.model:
                with pytest.raises(AlreadyExistsError):
                    self.idx.create_namespace(name)
            else:
                desc = self.idx.create_namespace(name)
                assert (desc.name, desc.record_count) == (name, 0)
                self.model[ns] = {}
            # create_namespace answers with a NamespaceDescription, not an LSN: read the engine's.
            lsn = self.idx.lsn
            if fingerprint(self.model) != before:
                assert lsn > lsn_before, "create_namespace did not advance the LSN"
            else:
                assert lsn == lsn_before, "a refused create_namespace moved the LSN"
            self.last_lsn = max(self.last_lsn, lsn)
        self.check(probe)

    # ------------------------------------------------------------ the checks

    def check(self, p: Probe) -> None:
        for ns in NAMESPACES:
            arg = p.ns if canonical(p.ns) == ns else ns  # sometimes "__default__" for ""
            self.check_fetch(ns, arg)
            self.check_list(ns, arg, p.prefix, p.limit)
        self.check_list(canonical(p.ns), p.ns, None, p.limit)
        self.check_stats(p.filter)
        self.check_namespaces(p.limit)
        self.check_fetch_by_metadata(canonical(p.ns), p.ns, p.filter, p.limit)
        self.check_queries(p)

    def check_fetch(self, ns: str, arg: str) -> None:
        resp = self.idx.fetch(IDS + UNKNOWN_IDS, namespace=arg)
        space = self.model.get(ns, {})
        assert sorted(resp.vectors) == sorted(space), (
            f"fetch in {ns!r}: {sorted(resp.vectors)} != {sorted(space)}"
        )
        for rid, vec in resp.vectors.items():
            self.check_record(ns, rid, vec, "fetch")

    def check_record(self, ns: str, rid: str, vec: Any, what: str) -> None:
        want_values, want_meta, want_sparse = self.model[ns][rid]
        assert vec.id == rid
        assert np.array_equal(as_float32(vec.values), want_values), (
            f"{what} {ns!r}/{rid}: {vec.values} != {want_values}"
        )
        assert meta_equal(vec.metadata, want_meta), (
            f"{what} {ns!r}/{rid}: metadata {vec.metadata} != {want_meta}"
        )
        self.check_sparse(vec.sparse_values, want_sparse, f"{what} {ns!r}/{rid}")

    @staticmethod
    def check_sparse(got: Any, want: dict[int, float], where: str) -> None:
        """Sparse values bit for bit and in the order given; ``None`` for a record without any."""
        if not want:
            assert got is None, f"{where}: sparse values {got} for a record without any"
            return
        assert got is not None, f"{where}: sparse values missing"
        assert list(got.indices) == list(want) and list(got.values) == list(want.values()), (
            f"{where}: sparse values {got} != {want}"
        )

    def check_list(self, ns: str, arg: str, prefix: str | None, limit: int) -> None:
        got: list[str] = []
        token: str | None = None
        for _ in range(len(IDS) + 2):
            page = self.idx.list_paginated(prefix=prefix, limit=limit, pagination_token=token, namespace=arg)
            assert len(page.vectors) <= limit
            got += [v.id for v in page.vectors]
            if page.pagination is None:
                break
            assert page.vectors and page.pagination.next, "a token after an empty page"
            token = page.pagination.next
        else:
            raise AssertionError("list pagination does not end")
        want = sorted(rid for rid in self.model.get(ns, {}) if rid.startswith(prefix or ""))
        assert got == want, f"list {ns!r} prefix={prefix!r} limit={limit}: {got} != {want}"

    def check_stats(self, flt: dict[str, Any]) -> None:
        stats = self.idx.describe_index_stats()
        counts = {ns: len(space) for ns, space in self.model.items()}
        got = {ns: s.vector_count for ns, s in stats.namespaces.items()}
        assert got == counts, f"stats namespaces {got} != model {counts}"
        assert stats.total_vector_count == sum(counts.values())
        assert (stats.dimension, stats.metric) == (self.dim, self.metric)
        stats = self.idx.describe_index_stats(filter=flt)
        assert stats.total_vector_count == sum(counts.values()), "the stats total must ignore the filter"
        want = {
            ns: sum(reference_matches(flt, meta) for _, meta, _ in space.values())
            for ns, space in self.model.items()
        }
        got = {ns: s.vector_count for ns, s in stats.namespaces.items()}
        # A namespace with no match may be listed with 0 or left out; one that does not exist must not appear.
        assert set(got) <= set(want), (
            f"filtered stats list namespaces {set(got) - set(want)} that do not exist"
        )
        assert {ns: got.get(ns, 0) for ns in want} == want, f"filtered stats {flt}: {got} != {want}"

    def check_namespaces(self, limit: int) -> None:
        got = [
            (d.name, d.record_count)
            for page in self.idx.list_namespaces(limit=limit)
            for d in page.namespaces
        ]
        want = sorted((public(ns), len(space)) for ns, space in self.model.items())
        assert got == want, f"list_namespaces {got} != {want}"
        for ns in NAMESPACES:
            if ns in self.model:
                desc = self.idx.describe_namespace(public(ns))
                assert (desc.name, desc.record_count) == (public(ns), len(self.model[ns]))
            else:
                with pytest.raises(NotFoundError):
                    self.idx.describe_namespace(public(ns))

    def check_fetch_by_metadata(self, ns: str, arg: str, flt: dict[str, Any], limit: int) -> None:
        got: list[str] = []
        token: str | None = None
        for _ in range(len(IDS) + 2):
            page = self.idx.fetch_by_metadata(flt, namespace=arg, limit=limit, pagination_token=token)
            assert len(page.vectors) <= limit
            for rid, vec in page.vectors.items():
                self.check_record(ns, rid, vec, "fetch_by_metadata")
            got += list(page.vectors)
            if page.pagination is None:
                break
            token = page.pagination.next
        else:
            raise AssertionError("fetch_by_metadata pagination does not end")
        want = sorted(
            rid for rid, (_, meta, _) in self.model.get(ns, {}).items() if reference_matches(flt, meta)
        )
        assert sorted(got) == want and len(got) == len(set(got)), f"fetch_by_metadata {flt}: {got} != {want}"

    def check_queries(self, p: Probe) -> None:
        ns = canonical(p.ns)
        q = None if self.kind == "sparse" else as_float32(self._vec(p.vector))
        sq = {} if self.kind == "dense" else sparse_f32(dict(p.sparse))
        if self.kind == "sparse" and not sq:
            sq = {0: 1.0}
        kw: dict[str, Any] = {
            "namespace": p.ns,
            "include_values": p.include_values,
            "include_metadata": p.include_metadata,
        }
        if q is not None:
            kw["vector"] = q.tolist()
        if sq:
            kw["sparse_vector"] = sparse_arg(sq)
        # Both unfiltered queries over the same blocks: a background flush in between could move rows to a
        # block where float32 rounds a near-tie differently. Holding the maintenance lock keeps it out.
        maint = getattr(self.idx, "_maint", None)
        with maint.mu if maint is not None else contextlib.nullcontext():
            everything = self.idx.query(top_k=100, **kw)
            top = self.idx.query(top_k=p.top_k, **kw)
        self.check_ranking(ns, (q, sq), 100, None, everything.matches, p)
        self.check_ranking(ns, (q, sq), p.top_k, None, top.matches, p)
        assert [m.id for m in top.matches] == [m.id for m in everything.matches][: p.top_k], (
            "top-k is not the prefix of the full ranking: ties at the k-th place broken differently"
        )
        filtered = self.idx.query(top_k=p.top_k, filter=p.filter, **kw)
        self.check_ranking(ns, (q, sq), p.top_k, p.filter, filtered.matches, p)
        if p.by_id is not None:
            kw.pop("vector", None)
            kw.pop("sparse_vector", None)
            by_id = self.idx.query(id=p.by_id, top_k=p.top_k, **kw)
            space = self.model.get(ns, {})
            if p.by_id in space:  # the stored record's dense and sparse values
                values, _, sparse = space[p.by_id]
                target = (None if self.kind == "sparse" else values, sparse)
                self.check_ranking(ns, target, p.top_k, None, by_id.matches, p)
            else:
                assert by_id.matches == [], "query by an unknown id found matches"

    def model_score(
        self, q: tuple[np.ndarray | None, dict[int, float]], values: np.ndarray, sparse: dict[int, float]
    ) -> tuple[float, float]:
        """The exact score of a record: dense, sparse, or their sum (hybrid), with its tolerance."""
        dense, qs = q
        total, tol = score(self.metric, values, dense) if dense is not None else (0.0, 0.0)
        if qs:
            s, t = sparse_score(qs, sparse)
            total, tol = total + s, tol + t
        return total, tol

    def check_ranking(
        self,
        ns: str,
        q: tuple[np.ndarray | None, dict[int, float]],
        top_k: int,
        flt: dict[str, Any] | None,
        matches: list[Any],
        p: Probe,
    ) -> None:
        space = self.model.get(ns, {})
        scored = {
            rid: self.model_score(q, vals, sparse)
            for rid, (vals, meta, sparse) in space.items()
            if reference_matches(flt, meta)
        }
        if self.kind == "sparse":  # a sparse index leaves out records that score 0
            scored = {rid: st for rid, st in scored.items() if st[0] != 0.0}
        sign = -1.0 if self.metric != "euclidean" else 1.0
        want = sorted(scored, key=lambda rid: (sign * scored[rid][0], rid))[:top_k]
        got = [m.id for m in matches]
        shown = (q[0].tolist() if q[0] is not None else None, q[1])
        where = f"query {ns!r} q={shown} top_k={top_k} filter={flt}: got {got}, model {want}"
        assert len(got) == len(want) and len(set(got)) == len(got), where
        for i, m in enumerate(matches):
            assert m.id in scored, f"{where}: {m.id} is not a candidate"
            s, tol = scored[m.id]
            assert abs(m.score - s) <= tol, f"{where}: score of {m.id} is {m.score}, model {s}"
            ws, wtol = scored[want[i]]
            assert abs(s - ws) <= max(tol, wtol), (
                f"{where}: place {i} holds {m.id} ({s}), model {want[i]} ({ws})"
            )
            if i:
                prev = matches[i - 1]
                assert sign * prev.score <= sign * m.score, f"{where}: not ordered best first"
                if prev.score == m.score:
                    assert prev.id < m.id, f"{where}: equal scores not in ascending id order"
            if p.include_values:
                assert np.array_equal(as_float32(m.values), space[m.id][0]), f"{where}: values of {m.id}"
                self.check_sparse(m.sparse_values, space[m.id][2], f"{where}: sparse values of {m.id}")
            else:
                assert not m.values and m.sparse_values is None
            if p.include_metadata:
                assert meta_equal(m.metadata, space[m.id][1]), f"{where}: metadata of {m.id}"
            else:
                assert not m.metadata


def machine_settings(examples: int, steps: int, *, random_run: bool, shrink: bool) -> settings:
    """How the state machines run: derandomised without an example database in CI, random with one when
    asked, shrinking only when asked (module docstring)."""
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        derandomize=not random_run,
        phases=tuple(Phase) if shrink else tuple(phase for phase in Phase if phase is not Phase.shrink),
        database=None if not random_run else settings.default.database,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


TestEngineStateMachine = EngineMachine.TestCase
TestEngineStateMachine.settings = machine_settings(EXAMPLES, STEPS, random_run=RANDOM_RUN, shrink=SHRINK)


# ---------------------------------------------------------------- sequences the machine found

QUIET = Probe(
    ns="",
    vector=(1.0, 0.5, -0.5, 2.0),
    top_k=3,
    filter={"flag": True},
    prefix=None,
    limit=2,
    by_id="a",
    include_values=True,
    include_metadata=True,
)


def replay(steps: list[tuple[str, dict[str, Any]]]) -> None:
    """Run a fixed sequence through the machine, with all its checks."""
    machine = EngineMachine()
    try:
        for name, kwargs in steps:
            getattr(machine, name)(**{"probe": QUIET, **kwargs})
    finally:
        machine.teardown()


def test_reopen_after_flushing_one_record() -> None:
    """A flushed segment must open again. Here the segment's header grows across a 64-byte boundary between
    the two passes of ``storage.segment.encode_segment``, so the header names section offsets 64 bytes
    short of where the sections were written, and the store no longer opens (``DataCorruptionError``)."""
    replay(
        [
            ("open_index", {"metric": "cosine", "dim": 4, "flush_rows": 3}),
            ("upsert", {"ns": "", "recs": [("ab", [2, -0.5, 1.0, 25.880701065063477], None, "tuple")]}),
            ("maintenance", {"op": "reopen"}),
        ]
    )


def test_cosine_of_tiny_vectors() -> None:
    """Cosine similarity does not depend on magnitude: a tiny vector is as similar to itself as any other."""
    tiny = [1e-23, 2e-23, 0.0, 0.0]
    replay(
        [
            ("open_index", {"metric": "cosine", "dim": 4, "flush_rows": 1000}),
            (
                "upsert",
                {
                    "ns": "",
                    "recs": [("a", tiny, None, "tuple"), ("b", [1.0, -1.0, 0.0, 0.0], None, "tuple")],
                    "probe": dataclasses.replace(QUIET, vector=tuple(tiny)),
                },
            ),
        ]
    )
