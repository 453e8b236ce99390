"""Documents as records: checking a document against its index's schema, and turning it into the engine's
row (id, dense vector, sparse values, metadata) and back.

The mapping (``spruce.docschema``): ``_id`` is the record id; the ``dense_vector`` field's value is the
row's vector (an index without one has dimension 0), the ``sparse_vector`` field's value its sparse
values, and every other field (full-text strings included) its metadata, which is what the log,
segments and fetch carry. A full-text field is therefore stored once, as text in the metadata, and its
postings are derived from it (``spruce.text.index``).

Every check here raises :class:`~spruce.errors.InvalidArgumentError` naming the document by position and
the field (``documents[3].title``), before anything is written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spruce.docschema import DocumentSchema
from spruce.engine.block import Block
from spruce.errors import InvalidArgumentError
from spruce.types import (
    IndexArray,
    Metadata,
    Vector32,
    validate_id,
    validate_metadata,
    validate_sparse,
    validate_values,
)

__all__ = [
    "DocumentRow",
    "Patch",
    "parse_document",
    "parse_patch",
    "render",
    "row_of",
    "stack_rows",
    "wanted_fields",
]

ID = "_id"
SCORE = "_score"
REMOVE = "_remove_fields"


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """One document as the engine stores it."""

    id: str
    vector: Vector32 | None  # None: the index has no dense field
    sparse: tuple[IndexArray, Vector32] | None
    fields: Metadata  # full-text strings and metadata


@dataclass(frozen=True, slots=True)
class Patch:
    """A partial update: fields to set (already checked against the schema) and fields to remove."""

    vector: Vector32 | None
    sparse: tuple[IndexArray, Vector32] | None
    fields: Metadata
    remove: frozenset[str]

    def apply(self, schema: DocumentSchema, current: DocumentRow, where: str) -> DocumentRow:
        """``current`` with this patch applied; the result must still be a valid document."""
        fields = {k: v for k, v in current.fields.items() if k not in self.remove}
        fields.update(self.fields)
        sparse = current.sparse
        if schema.sparse is not None and schema.sparse in self.remove:
            sparse = None
        if self.sparse is not None:
            sparse = self.sparse
        vector = self.vector if self.vector is not None else current.vector
        row = DocumentRow(current.id, vector, sparse, fields)
        _check_metadata_size(schema, fields, where)
        _require_searchable(schema, row, where)
        return row


def _field_value(schema: DocumentSchema, name: str, value: object, where: str) -> tuple[str, Any]:
    """Check one field's value against the schema: which slot it goes to (``dense``, ``sparse``,
    ``text`` or ``meta``) and the checked value."""
    sub = f"{where}.{name}"
    if value is None:
        raise InvalidArgumentError(
            f"{sub} is null; leave the field out (or remove it with _remove_fields) instead", field=sub
        )
    if schema.dense is not None and name == schema.dense[0]:
        _, dim, metric = schema.dense
        return "dense", validate_values(value, dim, metric, field=sub)
    if name == schema.sparse:
        sp = validate_sparse(value, field=sub)
        if sp is None:
            raise InvalidArgumentError(f"{sub} must hold at least one index and value", field=sub)
        return "sparse", sp
    if name in schema.text:
        if not isinstance(value, str):
            raise InvalidArgumentError(
                f"{sub} must be a string (a full-text field), got {type(value).__name__}", field=sub
            )
        return "text", value
    if isinstance(value, (bool, str)):
        return "meta", value
    if isinstance(value, (int, float)):
        if not math.isfinite(float(value)):
            raise InvalidArgumentError(f"{sub} must be a finite number", field=sub)
        return "meta", float(value)
    if isinstance(value, (list, tuple)) and all(isinstance(e, str) for e in value):
        return "meta", list(value)
    raise InvalidArgumentError(
        f"{sub} has type {type(value).__name__}; a field not in the schema is metadata, and metadata "
        "values must be a string, number, boolean, or list of strings",
        field=sub,
    )


def _fields_of(
    schema: DocumentSchema, values: Mapping[str, Any], where: str
) -> tuple[Vector32 | None, tuple[IndexArray, Vector32] | None, Metadata]:
    """``values`` (field name -> value, ``_id`` excluded) checked and sorted into the dense vector, the
    sparse values and the other fields."""
    vector: Vector32 | None = None
    sparse: tuple[IndexArray, Vector32] | None = None
    fields: Metadata = {}
    for name, value in values.items():
        _check_name(name, where)
        slot, checked = _field_value(schema, name, value, where)
        if slot == "dense":
            vector = checked
        elif slot == "sparse":
            sparse = checked
        else:
            fields[name] = checked
    return vector, sparse, fields


def _check_name(name: object, where: str) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(f"{where}: field names must be non-empty strings", field=where)
    if name.startswith("_"):
        raise InvalidArgumentError(
            f"{where}.{name}: field names starting with '_' are reserved (only _id may be given)",
            field=f"{where}.{name}",
        )
    if name.startswith("$"):
        raise InvalidArgumentError(f"{where}.{name}: field names must not start with '$'", field=where)
    return name


def _check_metadata_size(schema: DocumentSchema, fields: Metadata, where: str) -> None:
    """Metadata (the fields outside the schema) has Pinecone's per-record cap; full-text fields are
    bounded by the request size only."""
    meta = {k: v for k, v in fields.items() if k not in schema.text}
    if meta:
        validate_metadata(meta, field=where)


def _require_searchable(schema: DocumentSchema, row: DocumentRow, where: str) -> None:
    if row.vector is not None or row.sparse is not None or any(name in row.fields for name in schema.text):
        return
    names = sorted(schema.fields)
    raise InvalidArgumentError(
        f"{where} has no searchable field; it needs at least one of: {', '.join(names)}", field=where
    )


def parse_document(schema: DocumentSchema, raw: object, where: str) -> DocumentRow:
    """A whole document for upsert: ``_id``, the dense field (required if the schema has one), and any
    other fields, each typed per the schema."""
    if not isinstance(raw, Mapping):
        raise InvalidArgumentError(f"{where} must be an object, got {type(raw).__name__}", field=where)
    if ID not in raw:
        raise InvalidArgumentError(f"{where} has no _id; every document needs one", field=f"{where}._id")
    rid = validate_id(raw[ID], field=f"{where}._id")
    vector, sparse, fields = _fields_of(schema, {k: v for k, v in raw.items() if k != ID}, where)
    if schema.dense is not None and vector is None:
        raise InvalidArgumentError(
            f"{where}.{schema.dense[0]} is missing: the schema's dense_vector field is required in every "
            "document",
            field=f"{where}.{schema.dense[0]}",
        )
    row = DocumentRow(rid, vector, sparse, fields)
    _check_metadata_size(schema, fields, where)
    _require_searchable(schema, row, where)
    return row


def parse_patch(schema: DocumentSchema, values: Mapping[str, Any], remove: object, where: str) -> Patch:
    """Fields to set (``values``) and to remove (``remove``, a list of names) on existing documents."""
    if remove is None:
        removed: frozenset[str] = frozenset()
    elif isinstance(remove, (str, bytes)) or not isinstance(remove, Sequence):
        raise InvalidArgumentError(f"{where}: remove fields must be a list of field names", field=where)
    else:
        for name in remove:
            _check_name(name, where)
        removed = frozenset(remove)
    if schema.dense is not None and schema.dense[0] in removed:
        raise InvalidArgumentError(
            f"{where}: {schema.dense[0]!r} cannot be removed: the dense_vector field is required",
            field=where,
        )
    for name in values:
        if name in removed:
            raise InvalidArgumentError(
                f"{where}.{name} is both set and removed in one update", field=f"{where}.{name}"
            )
    vector, sparse, fields = _fields_of(schema, values, where)
    return Patch(vector, sparse, fields, removed)


def row_of(schema: DocumentSchema, rid: str, block: Block, row: int) -> DocumentRow:
    """The stored document at ``row`` of ``block``."""
    vector = block.vectors[row] if schema.dense is not None else None
    indices, values = block.sparse_rows().row(row)
    sparse = (indices, values) if len(indices) else None
    return DocumentRow(rid, vector, sparse, dict(block.metadata[row]))


def wanted_fields(raw: object, *, default_all: bool, field: str = "include_fields") -> frozenset[str] | None:
    """The fields a read returns: None for every field, else these names. Search returns none by
    default, fetch all; ``["*"]`` (even beside names) is every field in both."""
    if raw is None:
        return None if default_all else frozenset()
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        raise InvalidArgumentError(f"{field} must be a list of field names", field=field)
    if not all(isinstance(name, str) for name in raw):
        raise InvalidArgumentError(f"{field} must be a list of field names (strings)", field=field)
    if "*" in raw or (default_all and not raw):
        return None
    return frozenset(raw)


def render(
    schema: DocumentSchema, block: Block, row: int, rid: str, wanted: frozenset[str] | None
) -> dict[str, Any]:
    """The JSON of a stored document: ``_id`` and the ``wanted`` fields (None: all)."""
    out: dict[str, Any] = {ID: rid}
    meta = block.metadata[row]
    if schema.dense is not None and (wanted is None or schema.dense[0] in wanted):
        out[schema.dense[0]] = block.vectors[row].tolist()
    if schema.sparse is not None and (wanted is None or schema.sparse in wanted):
        indices, values = block.sparse_rows().row(row)
        if len(indices):
            out[schema.sparse] = {"indices": indices.tolist(), "values": values.tolist()}
    for name, value in meta.items():
        if wanted is None or name in wanted:
            out[name] = list(value) if isinstance(value, list) else value
    return out


def stack_rows(schema: DocumentSchema, rows: Sequence[DocumentRow]) -> Vector32:
    """The rows' dense vectors as one (n, dim) array (n x 0 without a dense field)."""
    dim = schema.dense[1] if schema.dense is not None else 0
    out = np.empty((len(rows), dim), dtype=np.float32)
    for i, r in enumerate(rows):
        if r.vector is not None:
            out[i] = r.vector
    return out
