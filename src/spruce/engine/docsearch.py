"""A document search's ``score_by`` clauses: checked against the schema, then run over a namespace snapshot.

The rules (SDK 10.2's, and Pinecone's):

* ``text`` (``query``, ``fields``): BM25 of the query's terms in each named full-text field; a
  document matching in several fields scores the sum.
* ``query_string`` (``query``): a Lucene query (``spruce.text.lucene``); unqualified terms search every
  full-text field of the index.
* ``text`` and ``query_string`` clauses combine: they are OR'd, a document matching several scoring the
  sum. A clause given twice (or a field named twice) counts once.
* ``dense_vector`` (``field``, ``values``) and ``sparse_vector`` (``field``, ``sparse_values``) stand alone:
  the nearest documents by the field's metric (sparse: dot product), exactly as a vector query.
* ``embed`` / ``sparse_embed`` need a hosted model and are refused.

Text clauses score every block of the snapshot as dense arrays (``spruce.text.search``), mask them with
the filter and liveness, and keep the best ``top_k`` (ties by ascending id).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spruce.docschema import DocumentSchema
from spruce.engine.block import Block, Snapshot
from spruce.engine.namespace import Hit, Namespace
from spruce.errors import InvalidArgumentError
from spruce.filter import Filter
from spruce.index.hnsw import DEFAULT_EF
from spruce.index.sparse import SparseQuery
from spruce.text import lucene
from spruce.text.analysis import Analyzer
from spruce.text.search import FieldCorpus, TextScorer, check_fields, sum_by_row
from spruce.text.topk import bm25_top
from spruce.types import Vector32, validate_sparse, validate_values

IntArray = np.ndarray[Any, np.dtype[np.int64]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]

__all__ = ["MAX_CLAUSES", "Plan", "parse_score_by", "run_plan"]

MAX_CLAUSES = 100
_KEYS = {
    "text": ("type", "query", "fields", "field"),
    "query_string": ("type", "query"),
    "dense_vector": ("type", "field", "fields", "values"),
    "sparse_vector": ("type", "field", "fields", "sparse_values"),
}


@dataclass(frozen=True, slots=True)
class Plan:
    """What a search scores by: text clauses (``(field, terms)`` BM25 pairs and Lucene trees), or one
    vector (dense, or sparse)."""

    bm25: tuple[tuple[str, tuple[str, ...]], ...] = ()
    lucene: tuple[lucene.Query, ...] = ()
    dense: Vector32 | None = None
    metric: str = "dotproduct"
    sparse: SparseQuery | None = None


def _vector_field(clause: Mapping[str, Any], where: str) -> object:
    name = clause.get("field")
    many = clause.get("fields")
    if name is None and isinstance(many, list) and len(many) == 1:
        name = many[0]
    elif many is not None:
        raise InvalidArgumentError(
            f"{where}: give the vector field as 'field' (or 'fields' with exactly one name)", field=where
        )
    return name


def parse_score_by(
    raw: object, schema: DocumentSchema, analyzers: Mapping[str, Analyzer], field: str = "score_by"
) -> Plan:
    """Check ``score_by`` against the schema (400 naming the clause and field) and plan the search."""
    if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, Sequence):
        raise InvalidArgumentError(f"{field} must be a list of scoring clauses", field=field)
    if not 1 <= len(raw) <= MAX_CLAUSES:
        raise InvalidArgumentError(
            f"{field} must hold 1 to {MAX_CLAUSES} clauses, got {len(raw)}", field=field
        )
    bm25: dict[tuple[str, tuple[str, ...]], None] = {}
    trees: dict[str, lucene.Query] = {}
    vector_plan: Plan | None = None
    for i, clause in enumerate(raw):
        where = f"{field}[{i}]"
        if not isinstance(clause, Mapping):
            raise InvalidArgumentError(f"{where} must be an object with a 'type'", field=where)
        kind = clause.get("type")
        if kind in ("embed", "sparse_embed"):
            raise InvalidArgumentError(
                f"{where}: {kind} clauses need integrated embedding with a hosted model, which spruce "
                "does not offer; embed the query yourself and use a dense_vector or sparse_vector clause",
                field=where,
            )
        if kind not in _KEYS:
            raise InvalidArgumentError(
                f"{where}.type must be one of text, query_string, dense_vector, sparse_vector; got {kind!r}",
                field=f"{where}.type",
            )
        extra = [key for key in clause if key not in _KEYS[kind]]
        if extra:
            raise InvalidArgumentError(
                f"{where}: {extra[0]!r} is not a key of a {kind} clause", field=f"{where}.{extra[0]}"
            )
        if kind in ("dense_vector", "sparse_vector"):
            if len(raw) > 1:
                raise InvalidArgumentError(
                    f"{where}: a {kind} clause must be the only clause of score_by", field=field
                )
            vector_plan = _vector_clause(kind, clause, schema, where)
            continue
        query = clause.get("query")
        if not isinstance(query, str) or not query.strip():
            raise InvalidArgumentError(f"{where}.query must be a non-empty string", field=f"{where}.query")
        if kind == "query_string":
            tree = lucene.parse_query(query, field=f"{where}.query")
            check_fields(tree, analyzers, f"{where}.query")
            trees.setdefault(query, tree)
            continue
        for name in _text_fields(clause, analyzers, where):
            bm25.setdefault((name, tuple(analyzers[name].terms(query))), None)
    if vector_plan is not None:
        return vector_plan
    return Plan(bm25=tuple(key for key in bm25 if key[1]), lucene=tuple(trees.values()))


def _text_fields(clause: Mapping[str, Any], analyzers: Mapping[str, Analyzer], where: str) -> list[str]:
    names = clause.get("fields")
    if names is None and isinstance(clause.get("field"), str):
        names = [clause["field"]]
    if isinstance(names, str) or not isinstance(names, list) or not names:
        raise InvalidArgumentError(
            f"{where}.fields must be a non-empty list of full-text field names", field=f"{where}.fields"
        )
    for name in names:
        if name not in analyzers:
            raise InvalidArgumentError(
                f"{where}.fields: {name!r} is not a full-text field of this index (full-text fields: "
                f"{', '.join(sorted(analyzers)) or 'none'})",
                field=f"{where}.fields",
            )
    return list(dict.fromkeys(names))


def _vector_clause(kind: str, clause: Mapping[str, Any], schema: DocumentSchema, where: str) -> Plan:
    name = _vector_field(clause, where)
    if kind == "dense_vector":
        if schema.dense is None or name != schema.dense[0]:
            have = f"its dense_vector field is {schema.dense[0]!r}" if schema.dense else "it has none"
            raise InvalidArgumentError(
                f"{where}.field: {name!r} is not a dense_vector field of this index ({have})",
                field=f"{where}.field",
            )
        _, dim, metric = schema.dense
        values = clause.get("values")
        return Plan(dense=validate_values(values, dim, metric, field=f"{where}.values"), metric=metric)
    if schema.sparse is None or name != schema.sparse:
        have = f"its sparse_vector field is {schema.sparse!r}" if schema.sparse else "it has none"
        raise InvalidArgumentError(
            f"{where}.field: {name!r} is not a sparse_vector field of this index ({have})",
            field=f"{where}.field",
        )
    sp = validate_sparse(clause.get("sparse_values"), field=f"{where}.sparse_values")
    if sp is None:
        raise InvalidArgumentError(
            f"{where}.sparse_values must hold at least one index and value", field=f"{where}.sparse_values"
        )
    return Plan(sparse=SparseQuery.of(*sp))


def run_plan(
    plan: Plan,
    ns: Namespace,
    at: list[tuple[Block, Snapshot]],
    analyzers: Mapping[str, Analyzer],
    flt: Filter | None,
    k: int,
) -> list[Hit]:
    """The best ``k`` documents of the snapshot ``at`` by ``plan``, passing ``flt``, best first."""
    if plan.dense is not None:
        return ns.search(plan.dense, k, plan.metric, flt, DEFAULT_EF, at)
    if plan.sparse is not None:
        return ns.search(None, k, "dotproduct", flt, DEFAULT_EF, at, plan.sparse)
    sizes = [snap.n for _, snap in at]
    used = {name for name, _ in plan.bm25}
    if plan.lucene:
        used |= set(analyzers)
    scorer = TextScorer(
        {
            name: (
                analyzers[name],
                FieldCorpus([(block.text_view(name, snap.n), snap.alive) for block, snap in at]),
            )
            for name in sorted(used)
        },
        sizes,
    )
    if not plan.lucene:  # BM25 clauses only: MaxScore, reading common terms' postings only if needed
        allowed = [
            snap.alive if flt is None or flt.is_empty else block.matching(flt, snap) for block, snap in at
        ]
        found = bm25_top(scorer, plan.bm25, k, allowed)
        return _ranked(at, [(rows, scores) for rows, scores in found], k)
    # each block's matching rows and scores, summed over the clauses (OR'd): BM25 clauses as postings
    # hits, Lucene trees as the rows their postings name
    per_block: list[tuple[list[IntArray], list[FloatArray]]] = [([], []) for _ in at]
    for name, terms in plan.bm25:
        for acc, (rows, scores) in zip(per_block, scorer.bm25_rows(name, terms), strict=True):
            acc[0].append(rows)
            acc[1].append(scores)
    for tree in plan.lucene:
        for acc, (rows, scores) in zip(per_block, scorer.query_rows(tree, sorted(analyzers)), strict=True):
            acc[0].append(rows)
            acc[1].append(scores)
    summed: list[tuple[IntArray, FloatArray]] = []
    for (block, snap), (row_parts, score_parts) in zip(at, per_block, strict=True):
        if len(row_parts) == 1:  # one clause: its rows are distinct already
            rows, scores = row_parts[0], score_parts[0]
        else:
            rows, scores = sum_by_row(row_parts, score_parts, snap.n)
        if len(rows):
            keep = (snap.alive if flt is None or flt.is_empty else block.matching(flt, snap))[rows]
            rows, scores = rows[keep], scores[keep]
        summed.append((rows, scores))
    return _ranked(at, summed, k)


def _ranked(at: list[tuple[Block, Snapshot]], found: list[tuple[IntArray, FloatArray]], k: int) -> list[Hit]:
    """The best ``k`` of each block's allowed rows and scores, best first, ties by ascending id."""
    hits: list[Hit] = []
    for (block, _snap), (rows, scores) in zip(at, found, strict=True):
        if len(rows) > k:
            top = np.argpartition(-scores, k - 1)[:k]
            cut = scores[top].min()
            tied = scores >= cut  # ties at the k-th score stay, for the id tie-break
            rows, scores = rows[tied], scores[tied]
        ids = block.ids
        hits.extend(Hit(s, ids[r], block, r) for r, s in zip(rows.tolist(), scores.tolist(), strict=True))
    hits.sort(key=lambda h: (-h.score, h.id))
    return hits[:k]
