"""The operations a log entry carries, and their byte encoding.

Operations record *resolved effects*, never intents: a delete by filter is logged as the ids it deleted,
an update (by id or by filter) as the whole new records. Replaying a log is therefore deterministic and
needs no filter evaluation.

Every operation is also *self-contained*: replaying it never reads the rows it replaces. That is what
allows a manifest's deletion bitmaps to include deaths from after the manifest's LSN (see
``engine.state``): the replayed log recreates every replacement from its own bytes. An operation such as
"merge this patch into the stored metadata of these ids" would break that (its old rows may already be
dead on disk), so update by filter pays for logging whole records.

Payload layout (little-endian)::

    0   4   H = length of the JSON head
    4   H   JSON array of operation objects (orjson), e.g.
            {"op": "upsert", "ns": "films", "ids": [...], "meta": [...], "off": 0, "rows": 2, "dim": 4,
             "sp": [off, nnz]}     ("sp" only when the records carry sparse values)
            {"op": "delete", "ns": "films", "ids": [...]}
            {"op": "drop_namespace", "ns": "films"}
            {"op": "create_namespace", "ns": "films"}
    4+H ... the upserts' vectors, float32 row-major, each upsert's block at byte offset ``off`` of this area;
            an upsert with sparse values has, at byte offset ``sp[0]``, its rows' sparse parts in
            compressed-row form (``types.SparseRows``): indptr int64 x (rows + 1), indices uint32 x nnz,
            values float32 x nnz. (A sparse index's upserts have dim 0 and so no vector bytes.)
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import orjson

from spruce.types import Metadata, SparseRows, Vector32

__all__ = [
    "CreateNamespace",
    "Delete",
    "DropNamespace",
    "Op",
    "Upsert",
    "decode_ops",
    "encode_ops",
]


@dataclass(frozen=True, slots=True)
class Upsert:
    ns: str
    ids: list[str]
    vectors: Vector32
    metadata: list[Metadata]
    sparse: SparseRows | None = None
    # a document index's full-text fields analyzed by the writer before it took the index lock (never
    # logged: replay analyzes the text again, from ``metadata``)
    analyzed: Mapping[str, list[Any]] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Delete:
    ns: str
    ids: list[str]


@dataclass(frozen=True, slots=True)
class DropNamespace:
    ns: str


@dataclass(frozen=True, slots=True)
class CreateNamespace:
    ns: str


Op: TypeAlias = Upsert | Delete | DropNamespace | CreateNamespace
_LEN = struct.Struct("<I")


def encode_ops(ops: list[Op]) -> bytes:
    head: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    offset = 0
    for op in ops:
        if isinstance(op, Upsert):
            blob = np.ascontiguousarray(op.vectors, dtype="<f4").tobytes()
            rows, dim = op.vectors.shape
            head.append(
                {
                    "op": "upsert",
                    "ns": op.ns,
                    "ids": op.ids,
                    "meta": op.metadata,
                    "off": offset,
                    "rows": rows,
                    "dim": dim,
                }
            )
            blobs.append(blob)
            offset += len(blob)
            if op.sparse is not None:
                sp = op.sparse
                parts = [
                    np.ascontiguousarray(sp.indptr, dtype="<i8").tobytes(),
                    np.ascontiguousarray(sp.indices[: sp.nnz], dtype="<u4").tobytes(),
                    np.ascontiguousarray(sp.values[: sp.nnz], dtype="<f4").tobytes(),
                ]
                head[-1]["sp"] = [offset, sp.nnz]
                blobs.extend(parts)
                offset += sum(len(p) for p in parts)
        elif isinstance(op, Delete):
            head.append({"op": "delete", "ns": op.ns, "ids": op.ids})
        elif isinstance(op, DropNamespace):
            head.append({"op": "drop_namespace", "ns": op.ns})
        else:
            head.append({"op": "create_namespace", "ns": op.ns})
    head_bytes = orjson.dumps(head)
    return b"".join([_LEN.pack(len(head_bytes)), head_bytes, *blobs])


def decode_ops(payload: bytes) -> list[Op]:
    (hlen,) = _LEN.unpack_from(payload)
    head = orjson.loads(payload[4 : 4 + hlen])
    area = memoryview(payload)[4 + hlen :]
    ops: list[Op] = []
    for d in head:
        kind = d["op"]
        if kind == "upsert":
            rows, dim, off = d["rows"], d["dim"], d["off"]
            vecs = np.frombuffer(area[off : off + rows * dim * 4], dtype="<f4").reshape(rows, dim)
            sparse = None
            if "sp" in d:
                at, nnz = d["sp"]
                indptr = np.frombuffer(area, dtype="<i8", count=rows + 1, offset=at)
                at += (rows + 1) * 8
                indices = np.frombuffer(area, dtype="<u4", count=nnz, offset=at)
                values = np.frombuffer(area, dtype="<f4", count=nnz, offset=at + nnz * 4)
                sparse = SparseRows(
                    indptr.astype(np.int64), indices.astype(np.uint32), values.astype(np.float32)
                )
            ops.append(Upsert(d["ns"], d["ids"], vecs.astype(np.float32), d["meta"], sparse))
        elif kind == "delete":
            ops.append(Delete(d["ns"], d["ids"]))
        elif kind == "drop_namespace":
            ops.append(DropNamespace(d["ns"]))
        elif kind == "create_namespace":
            ops.append(CreateNamespace(d["ns"]))
        else:
            raise ValueError(f"unknown log operation {kind!r}")
    return ops
