"""Records, index configurations, results, and the validation of every value a caller hands in.

Pure: no I/O. Each validator either returns a normalised value or raises ``InvalidArgumentError`` naming
the field and the limit. Batches are validated whole before anything is written, so one bad record
rejects the batch and changes nothing.

Normalisation rules (Pinecone's): metadata numbers become float64, ``null`` metadata values are dropped,
the namespace ``__default__`` is the default namespace ``""``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import orjson

from spruce import limits
from spruce.errors import InvalidArgumentError

MetadataValue: TypeAlias = str | float | bool | list[str]
Metadata: TypeAlias = dict[str, MetadataValue]
Vector32: TypeAlias = "np.ndarray[Any, np.dtype[np.float32]]"

_INDEX_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_TAG_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")


class _Result:
    """Lets result dataclasses be read like the SDK's models: ``r.matches`` and ``r["matches"]``."""

    def __getitem__(self, key: str) -> Any:
        if key in {f.name for f in dataclasses.fields(self)}:  # type: ignore[arg-type]
            return getattr(self, key)
        raise KeyError(key)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload,no-any-return]


# ---------------------------------------------------------------- records


IndexArray: TypeAlias = "np.ndarray[Any, np.dtype[np.uint32]]"
OffsetArray: TypeAlias = "np.ndarray[Any, np.dtype[np.int64]]"


def le_bytes(arr: np.ndarray[Any, Any], dtype: str) -> memoryview:
    """The bytes of ``arr`` as the little-endian ``dtype`` (e.g. ``"<f4"``), a view where no conversion
    is needed; empty arrays (and a sparse index's n x 0 vectors) included, which ``.data.cast`` refuses."""
    flat = np.ascontiguousarray(arr, dtype=dtype).reshape(-1)
    return flat.view(np.uint8).data


@dataclass(frozen=True, slots=True)
class SparseRows:
    """The sparse parts of ``n`` records in compressed-row form: row ``i`` holds ``indices[indptr[i]:
    indptr[i + 1]]`` (uint32, in the order the caller gave them) with the float32 ``values`` beside them.
    A record without sparse values is an empty row. The same three arrays are what the log and segments
    store (``storage.ops``, ``storage.segment``)."""

    indptr: OffsetArray
    indices: IndexArray
    values: Vector32

    def __len__(self) -> int:
        return len(self.indptr) - 1

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    @classmethod
    def empty(cls, rows: int) -> SparseRows:
        """``rows`` records without sparse values."""
        return cls(
            np.zeros(rows + 1, dtype=np.int64), np.empty(0, dtype=np.uint32), np.empty(0, dtype=np.float32)
        )

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[IndexArray, Vector32] | None]) -> SparseRows:
        """One row per item (``None``: an empty row)."""
        lengths = np.fromiter((0 if r is None else len(r[0]) for r in rows), dtype=np.int64, count=len(rows))
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        present = [r for r in rows if r is not None and len(r[0])]
        if not present:
            return cls(indptr, np.empty(0, dtype=np.uint32), np.empty(0, dtype=np.float32))
        indices = np.concatenate([r[0] for r in present]).astype(np.uint32, copy=False)
        values = np.concatenate([r[1] for r in present]).astype(np.float32, copy=False)
        return cls(indptr, indices, values)

    def row(self, i: int) -> tuple[IndexArray, Vector32]:
        lo, hi = int(self.indptr[i]), int(self.indptr[i + 1])
        return self.indices[lo:hi], self.values[lo:hi]

    def positions(self, rows: OffsetArray) -> tuple[OffsetArray, OffsetArray]:
        """For ``rows``: the positions of their entries in ``indices``/``values`` (row by row, in order) and
        each row's entry count, without a Python loop."""
        starts = self.indptr[rows]
        lengths = self.indptr[rows + 1] - starts
        total = int(lengths.sum())
        if total == 0:
            return np.empty(0, dtype=np.int64), lengths
        ends = np.cumsum(lengths)
        pos = np.arange(total, dtype=np.int64) + np.repeat(starts - (ends - lengths), lengths)
        return pos, lengths

    def take(self, rows: OffsetArray) -> SparseRows:
        """The given rows, in that order, as new arrays."""
        pos, lengths = self.positions(np.asarray(rows, dtype=np.int64))
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        return SparseRows(indptr, self.indices[pos], self.values[pos])

    @staticmethod
    def concat(parts: Sequence[SparseRows]) -> SparseRows:
        if len(parts) == 1:
            return parts[0]
        lengths = np.concatenate([np.diff(p.indptr) for p in parts]) if parts else np.empty(0, np.int64)
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        indices = np.concatenate([p.indices[: p.nnz] for p in parts]) if parts else np.empty(0, np.uint32)
        values = np.concatenate([p.values[: p.nnz] for p in parts]) if parts else np.empty(0, np.float32)
        return SparseRows(
            indptr, indices.astype(np.uint32, copy=False), values.astype(np.float32, copy=False)
        )


@dataclass(frozen=True, slots=True)
class RecordBatch:
    """A validated upsert batch: ids, an (n, dim) float32 matrix (n x 0 on a sparse index), one metadata
    dict per row, and the rows' sparse values (``None`` when no record has any)."""

    ids: list[str]
    vectors: Vector32
    metadata: list[Metadata]
    sparse: SparseRows | None = None

    def __len__(self) -> int:
        return len(self.ids)


def _is_ascii_printable_id(s: str) -> bool:
    return s.isascii() and "\x00" not in s


def validate_id(value: object, *, field: str = "id") -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{field} must be a string, got {type(value).__name__}", field=field)
    if not 1 <= len(value) <= limits.ID_MAX_LEN:
        raise InvalidArgumentError(
            f"{field} must be 1 to {limits.ID_MAX_LEN} characters long, got {len(value)}", field=field
        )
    if not _is_ascii_printable_id(value):
        raise InvalidArgumentError(f"{field} must be ASCII without NUL characters: {value!r}", field=field)
    return value


def validate_ids(value: object, *, field: str = "ids", max_count: int = limits.FETCH_MAX_IDS) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidArgumentError(f"{field} must be a list of strings", field=field)
    if len(value) > max_count:
        raise InvalidArgumentError(
            f"{field} may hold at most {max_count} ids per request, got {len(value)}", field=field
        )
    return [validate_id(v, field=f"{field}[{i}]") for i, v in enumerate(value)]


def validate_id_prefix(value: object, *, field: str = "prefix") -> str:
    """An id prefix for listing: ASCII, at most ``ID_MAX_LEN`` characters; ``None`` is no prefix."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limits.ID_MAX_LEN or not value.isascii():
        raise InvalidArgumentError(
            f"{field} must be an ASCII string of at most {limits.ID_MAX_LEN} characters", field=field
        )
    return value


def validate_namespace(value: object, *, field: str = "namespace") -> str:
    """Return the canonical namespace name; ``None``, ``""`` and ``__default__`` are the default one."""
    if value is None or value == limits.DEFAULT_NAMESPACE_ALIAS:
        return limits.DEFAULT_NAMESPACE
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{field} must be a string, got {type(value).__name__}", field=field)
    if len(value) > limits.NAMESPACE_MAX_LEN:
        raise InvalidArgumentError(
            f"{field} must be at most {limits.NAMESPACE_MAX_LEN} characters long, got {len(value)}",
            field=field,
        )
    if not _is_ascii_printable_id(value):
        raise InvalidArgumentError(f"{field} must be ASCII without NUL characters: {value!r}", field=field)
    return value


_NUMBER_TYPES = frozenset({float, int})


def _as_row(value: object, dimension: int, field: str) -> np.ndarray[Any, Any]:
    """Shape and type checks of one dense vector; finiteness is checked by the caller, batch-wide."""
    if isinstance(value, np.ndarray):
        arr = value
    elif isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidArgumentError(f"{field} must be a list of numbers", field=field)
    else:
        # One C-speed pass over the element types: bool is not a number here, though Python says so.
        if not set(map(type, value)) <= _NUMBER_TYPES:
            raise InvalidArgumentError(f"{field} must contain only numbers", field=field)
        arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] != dimension:
        got = arr.shape[0] if arr.ndim == 1 else arr.shape
        raise InvalidArgumentError(
            f"{field} has dimension {got}, but the index has dimension {dimension}", field=field
        )
    if arr.dtype.kind not in "fiu":
        raise InvalidArgumentError(f"{field} must contain only numbers", field=field)
    return arr


def _check_finite(mat: np.ndarray[Any, Any], fields: Sequence[str]) -> None:
    """Reject non-finite rows, naming the first bad one."""
    bad = np.flatnonzero(~np.isfinite(mat).all(axis=1))
    if len(bad):
        field = fields[int(bad[0])]
        raise InvalidArgumentError(
            f"{field} must contain only finite float32 numbers (no NaN, infinity, or magnitude above 3.4e38)",
            field=field,
        )


def _check_rows(mat: np.ndarray[Any, Any], metric: str, fields: Sequence[str]) -> None:
    """Reject non-finite rows (and all-zero rows on a cosine index), naming the first bad one."""
    _check_finite(mat, fields)
    if metric == "cosine":
        zero = np.flatnonzero(~mat.any(axis=1))
        if len(zero):
            field = fields[int(zero[0])]
            raise InvalidArgumentError(
                f"{field} must contain at least one non-zero value for a cosine index", field=field
            )


def _to_float32(arr: np.ndarray[Any, Any]) -> Vector32:
    with np.errstate(over="ignore", invalid="ignore"):  # beyond float32 becomes inf, rejected after
        out: Vector32 = arr.astype(np.float32)
    return out


def validate_values(value: object, dimension: int, metric: str, *, field: str = "values") -> Vector32:
    """One dense vector: exactly ``dimension`` finite float32 numbers (non-zero for cosine)."""
    out = _to_float32(_as_row(value, dimension, field))
    _check_rows(out[None, :], metric, [field])
    return out


def validate_query_vector(value: object, dimension: int, *, field: str = "vector") -> Vector32:
    """A query's dense vector: exactly ``dimension`` finite float32 numbers, all zeros allowed on every
    metric, cosine included.

    Why not ``validate_values``: a stored record of zeros has no direction, and spruce refuses one on a
    cosine index. A query of zeros is a different matter: Pinecone answers it (on cosine too) with the
    records the filter matches, each scoring 0, and clients rely on that to read records by metadata
    alone: llama-index's ``PineconeVectorStore.get_nodes(filters=...)`` sends ``[0.0] * dimension``
    (``docs/frameworks.md`` has the sources). Such a query scores 0 against every row under cosine and
    dotproduct, so ties decide which records come back: ascending id (``Block._dense_search``).
    """
    out = _to_float32(_as_row(value, dimension, field))
    _check_finite(out[None, :], [field])
    return out


def _size_bound(meta: Metadata) -> int:
    """An upper bound of the JSON size of validated metadata (a character escapes to at most 6 bytes)."""
    total = 2
    for key, v in meta.items():
        total += 6 * len(key) + 4
        if isinstance(v, str):
            total += 6 * len(v) + 2
        elif isinstance(v, list):
            total += 2 + sum(6 * len(e) + 3 for e in v)
        else:
            total += 32  # a float64 or a bool
    return total


def validate_metadata(value: object, *, field: str = "metadata") -> Metadata:
    """Pinecone's metadata rules: flat object of string, number, bool, or list of strings; nulls dropped."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"{field} must be an object", field=field)
    out: Metadata = {}
    for key, v in value.items():
        if not isinstance(key, str) or not key:
            raise InvalidArgumentError(f"{field} keys must be non-empty strings", field=field)
        if key.startswith("$"):
            raise InvalidArgumentError(f"{field} key {key!r} must not start with '$'", field=field)
        sub = f"{field}.{key}"
        if v is None:
            continue
        if isinstance(v, (bool, str)):
            out[key] = v
        elif isinstance(v, (int, float)):
            fv = float(v)
            if not math.isfinite(fv):
                raise InvalidArgumentError(f"{sub} must be a finite number", field=sub)
            out[key] = fv
        elif isinstance(v, (list, tuple)):
            if not all(isinstance(e, str) for e in v):
                raise InvalidArgumentError(
                    f"{sub} is a list, and metadata lists may only contain strings", field=sub
                )
            out[key] = list(v)
        else:
            raise InvalidArgumentError(
                f"{sub} has type {type(v).__name__}; metadata values must be a string, number, boolean, "
                "or list of strings",
                field=sub,
            )
    if _size_bound(out) <= limits.METADATA_MAX_BYTES:
        return out  # cheap bound first: most metadata is far below the limit
    size = len(orjson.dumps(out))
    if size > limits.METADATA_MAX_BYTES:
        raise InvalidArgumentError(
            f"{field} is {size} bytes, above the limit of {limits.METADATA_MAX_BYTES} bytes per record",
            field=field,
        )
    return out


def _record_parts(item: object, i: int) -> tuple[object, object, object, object]:
    """Accept the SDK's record forms: (id, values), (id, values, metadata), a dict, or a Vector-like."""
    if isinstance(item, tuple):
        if len(item) == 2:
            return item[0], item[1], None, None
        if len(item) == 3:
            return item[0], item[1], item[2], None
        raise InvalidArgumentError(
            f"vectors[{i}] as a tuple must be (id, values) or (id, values, metadata)", field=f"vectors[{i}]"
        )
    if isinstance(item, Mapping):
        sparse = item.get("sparse_values", item.get("sparseValues"))
        return item.get("id"), item.get("values"), item.get("metadata"), sparse
    if hasattr(item, "id") and hasattr(item, "values"):
        return item.id, item.values, getattr(item, "metadata", None), getattr(item, "sparse_values", None)
    raise InvalidArgumentError(
        f"vectors[{i}] must be a tuple, an object with id/values/metadata, or a dict", field=f"vectors[{i}]"
    )


def _sparse_parts(value: object, field: str) -> tuple[object, object]:
    """``indices`` and ``values`` of a sparse vector given as a dict or as an object with both (the SDK's
    ``SparseValues``)."""
    if isinstance(value, Mapping):
        return value.get("indices"), value.get("values")
    if hasattr(value, "indices") and hasattr(value, "values"):
        return value.indices, value.values
    raise InvalidArgumentError(f"{field} must be an object with indices and values", field=field)


def validate_sparse(value: object, *, field: str) -> tuple[IndexArray, Vector32] | None:
    """A sparse vector: equally long ``indices`` (distinct integers from 0 to 2**32-1) and ``values``
    (finite float32 numbers), at most ``SPARSE_MAX_NNZ`` of them. ``None`` for an absent or empty one;
    where one is required, the caller says so. The given order is kept."""
    if value is None:
        return None
    raw_idx, raw_val = _sparse_parts(value, field)
    raw_idx = [] if raw_idx is None else raw_idx
    raw_val = [] if raw_val is None else raw_val
    for name, seq in (("indices", raw_idx), ("values", raw_val)):
        if isinstance(seq, (str, bytes, Mapping)) or not isinstance(seq, (Sequence, np.ndarray)):
            raise InvalidArgumentError(f"{field}.{name} must be a list of numbers", field=f"{field}.{name}")
    assert isinstance(raw_idx, (Sequence, np.ndarray)) and isinstance(raw_val, (Sequence, np.ndarray))
    if len(raw_idx) != len(raw_val):
        raise InvalidArgumentError(
            f"{field}: indices and values must have the same length, got {len(raw_idx)} indices and "
            f"{len(raw_val)} values",
            field=field,
        )
    if not len(raw_idx):
        return None
    if len(raw_idx) > limits.SPARSE_MAX_NNZ:
        raise InvalidArgumentError(
            f"{field} has {len(raw_idx)} non-zero values, above the limit of {limits.SPARSE_MAX_NNZ}",
            field=field,
        )
    if isinstance(raw_idx, np.ndarray):
        if raw_idx.dtype.kind not in "iu":
            raise InvalidArgumentError(f"{field}.indices must be integers", field=f"{field}.indices")
        idx = raw_idx.astype(np.int64)
    else:
        if not set(map(type, raw_idx)) <= {int}:
            raise InvalidArgumentError(f"{field}.indices must be integers", field=f"{field}.indices")
        try:
            idx = np.asarray(raw_idx, dtype=np.int64)
        except OverflowError:
            idx = np.asarray([-1], dtype=np.int64)  # beyond int64: out of range below
    if idx.ndim != 1:
        raise InvalidArgumentError(f"{field}.indices must be a list of integers", field=f"{field}.indices")
    if int(idx.min()) < 0 or int(idx.max()) > limits.SPARSE_INDEX_MAX:
        raise InvalidArgumentError(
            f"{field}.indices must be integers from 0 to {limits.SPARSE_INDEX_MAX} (uint32)",
            field=f"{field}.indices",
        )
    if len(np.unique(idx)) != len(idx):
        raise InvalidArgumentError(f"{field}.indices must not repeat an index", field=f"{field}.indices")
    if not isinstance(raw_val, np.ndarray) and not set(map(type, raw_val)) <= _NUMBER_TYPES:
        raise InvalidArgumentError(f"{field}.values must contain only numbers", field=f"{field}.values")
    vals = _to_float32(np.asarray(raw_val, dtype=np.float64))
    if vals.ndim != 1 or not np.isfinite(vals).all():
        raise InvalidArgumentError(
            f"{field}.values must contain only finite float32 numbers (no NaN, infinity, or magnitude above "
            "3.4e38)",
            field=f"{field}.values",
        )
    return idx.astype(np.uint32), vals


def validate_vector_type(value: object) -> str:
    if value not in limits.VECTOR_TYPES:
        raise InvalidArgumentError(
            f"vector_type must be one of {', '.join(limits.VECTOR_TYPES)}, got {value!r}", field="vector_type"
        )
    return str(value)


def validate_batch(vectors: object, dimension: int, metric: str, vector_type: str = "dense") -> RecordBatch:
    """Validate a whole upsert batch; any bad record rejects all of it (nothing is written).

    A dense index needs ``values`` in every record and takes ``sparse_values`` beside them only with the
    dot-product metric (hybrid); a sparse index (dimension 0) needs ``sparse_values`` and refuses values.
    """
    if isinstance(vectors, (str, bytes, Mapping)) or not isinstance(vectors, Sequence):
        raise InvalidArgumentError("vectors must be a list of records", field="vectors")
    n = len(vectors)
    if n == 0:
        raise InvalidArgumentError("vectors must contain at least one record", field="vectors")
    if n > limits.UPSERT_MAX_RECORDS:
        raise InvalidArgumentError(
            f"vectors may hold at most {limits.UPSERT_MAX_RECORDS} records per upsert, got {n}",
            field="vectors",
        )
    ids: list[str] = []
    metas: list[Metadata] = []
    sparse_rows: list[tuple[IndexArray, Vector32] | None] = []
    mat = np.empty((n, dimension), dtype=np.float32)
    seen: dict[str, int] = {}
    fields: list[str] = []
    is_sparse = vector_type == "sparse"
    # Values beyond float32 become inf on assignment and are rejected by _check_rows below.
    with np.errstate(over="ignore", invalid="ignore"):
        for i, item in enumerate(vectors):
            rid, values, meta, sparse = _record_parts(item, i)
            rid = validate_id(rid, field=f"vectors[{i}].id")
            sp = _record_sparse(sparse, values, i, metric, is_sparse)
            row = None if is_sparse else _as_row(values, dimension, f"vectors[{i}].values")
            meta = validate_metadata(meta, field=f"vectors[{i}].metadata")
            slot = seen.get(rid)
            if slot is None:  # same id twice in one batch: the later record wins, as if upserted in turn
                slot = seen[rid] = len(ids)
                ids.append(rid)
                metas.append(meta)
                sparse_rows.append(sp)
                fields.append(f"vectors[{i}].values")
            else:
                _check_rows(
                    mat[slot : slot + 1], metric, [fields[slot]]
                )  # the overwritten one must be valid too
                metas[slot] = meta
                sparse_rows[slot] = sp
                fields[slot] = f"vectors[{i}].values"
            if row is not None:
                mat[slot] = row
    if len(ids) < n:
        mat = np.ascontiguousarray(mat[: len(ids)])
    _check_rows(mat, metric, fields)
    has_sparse = any(sp is not None for sp in sparse_rows)
    return RecordBatch(
        ids=ids, vectors=mat, metadata=metas, sparse=SparseRows.from_rows(sparse_rows) if has_sparse else None
    )


def _record_sparse(
    sparse: object, values: object, i: int, metric: str, is_sparse: bool
) -> tuple[IndexArray, Vector32] | None:
    """One record's sparse values, checked against the index's kind (``validate_batch``)."""
    field = f"vectors[{i}].sparse_values"
    sp = validate_sparse(sparse, field=field)
    if is_sparse:
        if values is not None and (
            isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)) or len(values)
        ):
            raise InvalidArgumentError(
                f"vectors[{i}].values: a sparse index takes no dense values; give sparse_values only",
                field=f"vectors[{i}].values",
            )
        if sp is None:
            raise InvalidArgumentError(
                f"{field} is required on a sparse index and must hold at least one value", field=field
            )
        return sp
    if values is None:
        raise InvalidArgumentError(f"vectors[{i}].values is required", field=f"vectors[{i}].values")
    if sp is not None and metric != "dotproduct":
        raise InvalidArgumentError(
            f"{field}: sparse values need an index with metric dotproduct (hybrid); this one is {metric}",
            field=field,
        )
    return sp


def validate_int(value: object, lo: int, hi: int, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{field} must be an integer from {lo} to {hi}", field=field)
    if not lo <= value <= hi:
        raise InvalidArgumentError(f"{field} must be from {lo} to {hi}, got {value}", field=field)
    return value


def validate_limit(value: object, default: int, maximum: int, *, field: str = "limit") -> int:
    """A page size: ``default`` when not given, else an integer from 1 to ``maximum``."""
    return default if value is None else validate_int(value, 1, maximum, field=field)


def validate_top_k(value: object, maximum: int = limits.TOP_K_MAX) -> int:
    return validate_int(value, limits.TOP_K_MIN, maximum, field="top_k")


# ---------------------------------------------------------------- index configuration


def validate_index_name(value: object, *, field: str = "name") -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{field} must be a string", field=field)
    if not 1 <= len(value) <= limits.INDEX_NAME_MAX or not _INDEX_NAME_RE.match(value):
        raise InvalidArgumentError(
            f"{field} {value!r} is invalid: it must be 1 to {limits.INDEX_NAME_MAX} characters of lower-case "
            "letters, digits and '-', and must not start or end with '-'",
            field=field,
        )
    return value


def validate_dimension(value: object) -> int:
    return validate_int(value, limits.DIMENSION_MIN, limits.DIMENSION_MAX, field="dimension")


def validate_metric(value: object) -> str:
    if value not in limits.METRICS:
        raise InvalidArgumentError(
            f"metric must be one of {', '.join(limits.METRICS)}, got {value!r}", field="metric"
        )
    return str(value)


def validate_deletion_protection(value: object) -> str:
    if value not in ("enabled", "disabled"):
        raise InvalidArgumentError(
            f"deletion_protection must be 'enabled' or 'disabled', got {value!r}", field="deletion_protection"
        )
    return str(value)


def validate_tags(value: object, *, allow_empty_values: bool = False) -> dict[str, str]:
    """Tags: at most 20, keys 1-80 of [A-Za-z0-9_-], values up to 120 printable ASCII.

    In ``configure`` an empty value means "remove this key", hence ``allow_empty_values``.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgumentError("tags must be an object of string keys and string values", field="tags")
    if len(value) > limits.TAGS_MAX:
        raise InvalidArgumentError(
            f"tags may hold at most {limits.TAGS_MAX} keys, got {len(value)}", field="tags"
        )
    out: dict[str, str] = {}
    for k, v in value.items():
        if not isinstance(k, str) or not 1 <= len(k) <= limits.TAG_KEY_MAX or not _TAG_KEY_RE.match(k):
            raise InvalidArgumentError(
                f"tag key {k!r} must be 1 to {limits.TAG_KEY_MAX} characters of letters, digits, '_' and '-'",
                field="tags",
            )
        if not isinstance(v, str) or len(v) > limits.TAG_VALUE_MAX or not (v.isascii() and v.isprintable()):
            raise InvalidArgumentError(
                f"tag value for {k!r} must be a string of at most {limits.TAG_VALUE_MAX} printable ASCII "
                "characters",
                field=f"tags.{k}",
            )
        if not v and not allow_empty_values:
            continue
        out[k] = v
    return out


@dataclass(frozen=True, slots=True)
class IndexConfig:
    """An index's configuration as stored in the catalog.

    ``spec`` is recorded as given (serverless or pod); spruce runs every index the same way. ``uid`` names
    the index's storage prefix, so an index re-created under a deleted name starts empty. ``number`` is
    the index's place in creation order across the store's whole life, never reused (1, 2, ...; 0 only
    before the catalog assigns one): the server derives the index's own port from it, so a client holding
    a deleted index's port can never reach an index created later.
    """

    name: str
    dimension: int
    metric: str
    uid: str
    spec: dict[str, Any] = field(
        default_factory=lambda: {"serverless": {"cloud": "aws", "region": "us-east-1"}}
    )
    deletion_protection: str = "disabled"
    tags: dict[str, str] = field(default_factory=dict)
    vector_type: str = "dense"
    created_at: float = 0.0
    number: int = 0
    # a document index's schema (``spruce.docschema``: its searched fields, as describe reports them);
    # None for a vector index
    documents: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> IndexConfig:
        return cls(**d)

    def schema_fields(self) -> dict[str, dict[str, Any]]:
        """The index's fields as API 2026-07 describes them: a document index's schema (unset options
        left out), or a vector index's ``_values`` (dense) and ``_sparse_values``."""
        if self.documents is not None:
            return {
                name: {k: v for k, v in spec.items() if v is not None}
                for name, spec in self.documents["fields"].items()
            }
        fields: dict[str, dict[str, Any]] = {"_sparse_values": {"type": "sparse_vector"}}
        if self.vector_type != "sparse":
            dense = {"type": "dense_vector", "dimension": self.dimension, "metric": self.metric}
            return {"_values": dense, **fields}
        return fields

    @property
    def schema(self) -> IndexSchema:
        """``schema.fields`` as SDK 10.x's index model has it (plain dicts here)."""
        return IndexSchema(fields=self.schema_fields())


@dataclass(frozen=True, slots=True)
class IndexSchema(_Result):
    fields: dict[str, dict[str, Any]]


# ---------------------------------------------------------------- results


@dataclass(slots=True)
class SparseValues(_Result):
    """A record's sparse values as stored (in the order they were given)."""

    indices: list[int]
    values: list[float]


@dataclass(slots=True)
class Vector(_Result):
    """A fetched record. ``metadata`` is ``None`` for a record without any, as the SDK reads it;
    ``sparse_values`` ``None`` for one without sparse values (and ``values`` empty on a sparse index)."""

    id: str
    values: list[float]
    metadata: Metadata | None = None
    sparse_values: SparseValues | None = None


@dataclass(slots=True)
class ScoredVector(_Result):
    """A query match; ``values`` (and ``sparse_values``) are empty unless asked for, ``metadata`` ``None``
    unless asked for."""

    id: str
    score: float
    values: list[float] = field(default_factory=list)
    metadata: Metadata | None = None
    sparse_values: SparseValues | None = None


@dataclass(slots=True)
class Usage(_Result):
    read_units: int = 0


@dataclass(slots=True)
class UpsertResponse(_Result):
    """``upserted_count`` records written at ``lsn`` (the last write's, with ``batch_size``). The batch
    counters are the SDK's for a call split by ``batch_size`` (0 for an unsplit call); an embedded batch
    either succeeds or raises, so nothing ever counts as failed."""

    upserted_count: int
    lsn: int
    total_item_count: int = 0
    failed_item_count: int = 0
    total_batch_count: int = 0
    successful_batch_count: int = 0
    failed_batch_count: int = 0
    errors: list[Any] = field(default_factory=list)


@dataclass(slots=True)
class WriteResponse(_Result):
    """Result of a delete or namespace operation: the LSN the write was logged at, or the current LSN
    if it changed nothing (reads issued after it see its effect either way)."""

    lsn: int


@dataclass(slots=True)
class UpdateResponse(_Result):
    matched_records: int
    lsn: int


@dataclass(slots=True)
class QueryResponse(_Result):
    matches: list[ScoredVector]
    namespace: str
    usage: Usage


@dataclass(slots=True)
class FetchResponse(_Result):
    vectors: dict[str, Vector]
    namespace: str
    usage: Usage


@dataclass(slots=True)
class Pagination(_Result):
    next: str


@dataclass(slots=True)
class FetchByMetadataResponse(_Result):
    vectors: dict[str, Vector]
    namespace: str
    usage: Usage
    pagination: Pagination | None = None


@dataclass(slots=True)
class ListItem(_Result):
    id: str


@dataclass(slots=True)
class ListResponse(_Result):
    vectors: list[ListItem]
    namespace: str
    usage: Usage
    pagination: Pagination | None = None

    def __iter__(self) -> Iterator[ListItem]:
        return iter(self.vectors)


@dataclass(slots=True)
class NamespaceSummary(_Result):
    vector_count: int


@dataclass(slots=True)
class IndexStats(_Result):
    namespaces: dict[str, NamespaceSummary]
    dimension: int
    index_fullness: float
    total_vector_count: int
    metric: str
    vector_type: str = "dense"
    memory_fullness: float | None = None
    storage_fullness: float | None = None
    pending_deletions: int = 0
    """Deleted or overwritten records still stored in segments, until compaction purges them."""
    unindexed_records: int = 0
    """Live records that background flush and compaction have still to move: in a memtable (only in the
    log on disk), or in a segment the compaction policy will merge or rewrite next. Queries see them at
    once (by exact scan); 0 means the index is fully indexed and background work is idle."""
    background_error: str | None = None
    """The last failure of background work (flush, compaction), until a step succeeds; ``None`` when it
    runs fine. Says so when the same failure repeated and background work stopped (``engine.maintenance``)."""


@dataclass(slots=True)
class NamespaceStorage(_Result):
    """How one namespace is stored (``IndexStorage``)."""

    records: int
    """Live records (what stats count)."""
    segments: int
    """Flushed, immutable segments."""
    segments_with_graph: int
    """Segments searched through an HNSW graph (the rest are scanned exactly, or by clusters)."""
    memtable_records: int
    """Live records still only in memory and the log: in the memtable and in frozen blocks awaiting flush."""
    pending_deletions: int
    """Deleted or overwritten rows still stored in segments, until compaction purges them."""


@dataclass(slots=True)
class IndexStorage(_Result):
    """``spruce``'s own view of an index's storage, beyond Pinecone's stats: what an operator asks when
    the numbers look wrong (is background work keeping up, how much does the log hold, what is on disk).
    Served at ``GET /index/{name}/spruce/storage``, read by ``spruce stats``, the console and ``/metrics``."""

    name: str
    lsn: int
    """The last applied log sequence number."""
    manifest_version: int
    """The committed manifest's version (each flush or compaction commits one)."""
    manifest_lsn: int
    """The LSN the manifest covers: entries above it are replayed at open."""
    unflushed_log_entries: int
    unflushed_log_bytes: int
    unindexed_records: int
    """As in ``IndexStats``: 0 means fully indexed and background work idle."""
    objects: int
    """Objects under the index's prefix in the store (log entries, manifests, segments, bitmaps, graphs)."""
    local_bytes: int
    """Bytes of those objects on this machine's disk (a bucket: the cached copies only)."""
    namespaces: dict[str, NamespaceStorage]
    flushes: int = 0
    """Flushes of memtables into segments since the index was opened by this process (so: 0 on a process
    that does not hold its background-work lease); ``flush_seconds``: their time."""
    flush_seconds: float = 0.0
    compactions: int = 0
    """Compactions (merges, graph builds) since the index was opened by this process; and their time."""
    compaction_seconds: float = 0.0
    bytes_written: int = 0
    """Segments and graphs written by those flushes and compactions."""
    background_error: str | None = None


@dataclass(slots=True)
class NamespaceDescription(_Result):
    """``schema`` and ``indexed_fields`` stay ``None``: every metadata field is indexed here."""

    name: str
    record_count: int
    schema: Any = None
    indexed_fields: Any = None
    size_bytes: int = 0


class IndexList(list[IndexConfig]):
    """``list_indexes()``: a list of index configurations that also reads like the SDK's ``IndexList``."""

    @property
    def indexes(self) -> list[IndexConfig]:
        return list(self)

    def names(self) -> list[str]:
        return [cfg.name for cfg in self]


@dataclass(slots=True)
class ListNamespacesResponse(_Result):
    namespaces: list[NamespaceDescription]
    total_count: int
    pagination: Pagination | None = None
