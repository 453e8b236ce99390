"""Fuzzing what spruce reads back from its store: frames, log entries, versioned documents, bitmaps.

Every small object spruce writes is a ``storage.framing`` frame (28-byte header with a CRC-32, then the
payload), so the frame reader is the first line: whatever the bytes, ``unframe`` returns the exact
``(seq, payload)`` of a well-formed frame or raises ``CorruptFrame``. Behind it, each payload decoder (a log
entry's operations, ``storage.ops``; a manifest, catalog or config document, ``storage.versioned``; a
deletion bitmap, ``storage.segment``) refuses bytes it could not have written with ``DataCorruptionError``
and nothing else. And ``Log.recover`` over a real ``LocalStore`` with damaged and missing entries cuts a
bad *last* entry, keeping its bytes under ``quarantine/``, and refuses any other damage while changing
nothing on disk.

The properties:

1. ``frame``/``unframe`` round-trip every magic, sequence number and payload, and a frame is never taken
   for another kind;
2. every truncation and every extension of a frame is refused; so is every single-bit flip anywhere,
   every 2- or 3-bit flip and every burst of up to 32 bits outside the stored CRC (CRC-32 detects all of
   those, for messages of up to 91,607 bits: the payloads here stay below 2 KiB); the refusal is exactly
   ``CorruptFrame``, never a wrong payload;
3. arbitrary bytes, and frames re-sealed with a valid CRC around wrong header fields, give ``unframe``
   only ``CorruptFrame``; it accepts exactly the well-formed frames (right magic, version 1, length);
4. ``decode_ops``, ``decode_deleted`` and ``VersionedDoc.load`` raise only ``DataCorruptionError`` on
   arbitrary bytes, on damaged encodings and on validly framed payloads of the wrong shape; what
   ``decode_ops`` accepts is well-formed (so the replay cannot trip over it) and round-trips, and real
   encodings round-trip exactly;
5. ``Log.recover`` over a store where random entries above the manifest's LSN are missing, truncated,
   extended, bit-flipped, emptied, swapped for another entry or another kind of frame, or garbage (with
   stray files beside them and earlier quarantined copies): if the only damage is the newest entry, it
   yields every entry before it with its exact payload, moves the bad one byte for byte to
   ``quarantine/<key>.<n>`` (the next free ``n``) and nothing else changes, and the next append takes
   the cut LSN; any gap or damage below the newest raises ``DataCorruptionError`` naming the first bad
   object, before yielding anything, and leaves every file as it was; ``spruce verify``'s log check
   reports exactly the same verdict (and changes nothing either).

Each example of a store test gets a fresh temporary directory.
"""

from __future__ import annotations

import os
import struct
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from json_slots import slots as json_slots

from spruce.engine.verify import _verify_log
from spruce.errors import DataCorruptionError, NewerFormatError
from spruce.storage.framing import HEADER, CorruptFrame, frame, unframe
from spruce.storage.log import MAGIC as LOG_MAGIC
from spruce.storage.log import Log
from spruce.storage.objectstore import LocalStore
from spruce.storage.ops import CreateNamespace, Delete, DropNamespace, Op, Upsert, decode_ops, encode_ops
from spruce.storage.quarantine import PREFIX as QUARANTINE
from spruce.storage.segment import DEL_MAGIC, decode_deleted, encode_deleted
from spruce.storage.versioned import VersionedDoc
from spruce.types import SparseRows

SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MAGICS = [b"SPRL", b"SPRM", b"SPRC", b"SPRD", b"SPRI"]
CRC_BYTES = range(24, 28)  # where the header stores the CRC
magics = st.sampled_from(MAGICS)
seqs = st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 100))
payloads = st.binary(max_size=2_000)


def refused(data: bytes, magic: bytes) -> bool:
    """Whether ``unframe`` refuses ``data``; any exception but ``CorruptFrame`` propagates (and fails)."""
    try:
        unframe(data, magic)
    except CorruptFrame:
        return True
    return False


# --- 1-3: frames --------------------------------------------------------------------------------------


@SETTINGS
@given(magic=magics, seq=seqs, payload=payloads)
def test_frames_round_trip_and_keep_their_kind(magic: bytes, seq: int, payload: bytes) -> None:
    data = frame(magic, seq, payload)
    assert len(data) == HEADER.size + len(payload)
    assert unframe(data, magic) == (seq, payload)
    for other in MAGICS:
        if other != magic:
            assert refused(data, other)


@SETTINGS
@given(magic=magics, seq=seqs, payload=st.binary(max_size=300), tail=st.binary(min_size=1, max_size=40))
def test_every_truncation_and_extension_is_refused(
    magic: bytes, seq: int, payload: bytes, tail: bytes
) -> None:
    data = frame(magic, seq, payload)
    for cut in range(len(data)):
        assert refused(data[:cut], magic), cut
    assert refused(data + tail, magic)
    assert refused(tail + data, magic)


def _flipped(data: bytes, bits: list[int]) -> bytes:
    out = bytearray(data)
    for bit in bits:
        out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@settings(SETTINGS, max_examples=60)
@given(magic=magics, seq=seqs, payload=st.binary(max_size=120))
def test_every_single_bit_flip_is_refused(magic: bytes, seq: int, payload: bytes) -> None:
    data = frame(magic, seq, payload)
    for bit in range(len(data) * 8):
        assert refused(_flipped(data, [bit]), magic), bit


@SETTINGS
@given(magic=magics, seq=seqs, payload=payloads, data=st.data())
def test_single_flips_of_long_frames_and_up_to_three_outside_the_crc_are_refused(
    magic: bytes, seq: int, payload: bytes, data: st.DataObject
) -> None:
    framed = frame(magic, seq, payload)
    bits = len(framed) * 8
    for bit in data.draw(st.lists(st.integers(0, bits - 1), min_size=1, max_size=20, unique=True)):
        assert refused(_flipped(framed, [bit]), magic)
    covered = [bit for bit in range(bits) if bit // 8 not in CRC_BYTES]
    flips = data.draw(st.lists(st.sampled_from(covered), min_size=2, max_size=3, unique=True))
    assert refused(_flipped(framed, flips), magic), flips


@SETTINGS
@given(magic=magics, seq=seqs, payload=st.binary(min_size=1, max_size=2_000), data=st.data())
def test_bursts_of_up_to_32_bits_are_refused(
    magic: bytes, seq: int, payload: bytes, data: st.DataObject
) -> None:
    framed = frame(magic, seq, payload)
    start, stop = data.draw(st.sampled_from([(0, 24 * 8), (HEADER.size * 8, len(framed) * 8)]))
    length = data.draw(st.integers(1, min(32, stop - start)))
    first = data.draw(st.integers(start, stop - length))
    pattern = data.draw(st.integers(0, 2**length - 1)) | 1 | (1 << (length - 1))  # spans exactly ``length``
    bits = [first + i for i in range(length) if pattern >> i & 1]
    assert refused(_flipped(framed, bits), magic), (first, length)


@st.composite
def resealed_frames(draw: st.DrawFn) -> tuple[bytes, bytes, int, int, int, bytes]:
    """A frame with a valid CRC around header fields that may be wrong: the bytes, and the magic,
    version, length, sequence number and payload they were sealed with."""
    magic = draw(st.one_of(magics, st.binary(min_size=4, max_size=4)))
    version = draw(st.one_of(st.just(1), st.integers(0, 2**16 - 1)))
    payload = draw(st.binary(max_size=64))
    length = draw(st.one_of(st.just(len(payload)), st.integers(0, 2**64 - 1), st.integers(0, 80)))
    seq = draw(seqs)
    head = HEADER.pack(magic, version, 0, seq, length, 0)[:24]
    data = head + struct.pack("<I", zlib.crc32(payload, zlib.crc32(head))) + payload
    return data, magic, version, length, seq, payload


@SETTINGS
@given(sealed=resealed_frames(), expected=magics)
def test_resealed_frames_are_accepted_only_when_well_formed(
    sealed: tuple[bytes, bytes, int, int, int, bytes], expected: bytes
) -> None:
    data, magic, version, length, seq, payload = sealed
    whole = magic == expected and length == len(payload)
    if whole and version == 1:
        assert unframe(data, expected) == (seq, payload)
        assert data == frame(expected, seq, payload)
    elif whole and version > 1:  # a whole frame of a newer spruce: named as such, not as damage
        with pytest.raises(NewerFormatError, match=f"format version {version}"):
            unframe(data, expected)
    else:
        assert refused(data, expected)


@SETTINGS
@given(data=st.one_of(st.binary(max_size=200), st.binary(min_size=28, max_size=40)), magic=magics)
def test_arbitrary_bytes_are_refused_or_exactly_a_frame(data: bytes, magic: bytes) -> None:
    try:
        seq, payload = unframe(data, magic)
    except CorruptFrame:
        return
    assert data == frame(magic, seq, payload)


# --- 4: payload decoders ------------------------------------------------------------------------------

ids = st.lists(st.text(max_size=8), max_size=6)
meta_values = st.one_of(
    st.text(max_size=6),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.text(max_size=4), max_size=3),
)
metadata = st.dictionaries(st.text(min_size=1, max_size=6), meta_values, max_size=3)


@st.composite
def sparse_rows(draw: st.DrawFn, rows: int) -> SparseRows:
    indices = [draw(st.lists(st.integers(0, 2**32 - 1), max_size=3)) for _ in range(rows)]
    values = [draw(st.lists(st.floats(width=32), min_size=len(i), max_size=len(i))) for i in indices]
    return SparseRows.from_rows(
        [
            (np.array(i, dtype=np.uint32), np.array(v, dtype=np.float32))
            for i, v in zip(indices, values, strict=True)
        ]
    )


@st.composite
def upserts(draw: st.DrawFn) -> Upsert:
    rows, dim = draw(st.integers(0, 5)), draw(st.integers(0, 4))
    values = draw(st.lists(st.floats(width=32), min_size=rows * dim, max_size=rows * dim))
    return Upsert(
        draw(st.text(max_size=6)),
        draw(st.lists(st.text(max_size=8), min_size=rows, max_size=rows)),
        np.array(values, dtype=np.float32).reshape(rows, dim),
        draw(st.lists(metadata, min_size=rows, max_size=rows)),
        draw(st.none() | sparse_rows(rows)),
    )


operations = st.lists(
    st.one_of(
        upserts(),
        st.builds(Delete, st.text(max_size=6), ids),
        st.builds(DropNamespace, st.text(max_size=6)),
        st.builds(CreateNamespace, st.text(max_size=6)),
    ),
    max_size=5,
)


def _canonical(ops: list[Op]) -> list[Any]:
    """Operations as comparable plain values (arrays as their shape and bytes)."""
    out: list[Any] = []
    for op in ops:
        if isinstance(op, Upsert):
            sparse = None
            if op.sparse is not None:
                sp = op.sparse
                sparse = [sp.indptr.tolist(), sp.indices[: sp.nnz].tobytes(), sp.values[: sp.nnz].tobytes()]
            out.append(["upsert", op.ns, op.ids, op.vectors.shape, op.vectors.tobytes(), op.metadata, sparse])
        else:
            out.append([type(op).__name__, op.ns, getattr(op, "ids", None)])
    return out


def check_well_formed(ops: list[Op]) -> None:
    """What replay relies on, for operations ``decode_ops`` accepted; and they survive a round trip."""
    for op in ops:
        assert type(op) in (Upsert, Delete, DropNamespace, CreateNamespace)
        assert isinstance(op.ns, str)
        if isinstance(op, Delete):
            assert isinstance(op.ids, list) and all(isinstance(i, str) for i in op.ids)
        if isinstance(op, Upsert):
            rows = len(op.ids)
            assert all(isinstance(i, str) for i in op.ids)
            assert op.vectors.dtype == np.float32 and op.vectors.ndim == 2 and op.vectors.shape[0] == rows
            assert isinstance(op.metadata, list) and len(op.metadata) == rows
            for meta in op.metadata:
                assert isinstance(meta, dict)
                for value in meta.values():
                    assert (
                        value is None
                        or isinstance(value, str | bool | int | float)
                        or (isinstance(value, list) and all(isinstance(item, str) for item in value))
                    )
            if op.sparse is not None:
                sp = op.sparse
                assert sp.indptr.dtype == np.int64 and len(sp.indptr) == rows + 1 and sp.indptr[0] == 0
                assert bool(np.all(np.diff(sp.indptr) >= 0)) and sp.nnz == len(sp.indices) == len(sp.values)
                assert sp.indices.dtype == np.uint32 and sp.values.dtype == np.float32
    assert _canonical(decode_ops(encode_ops(ops))) == _canonical(ops)


def decoded_or_refused(payload: bytes) -> list[Op] | None:
    """``decode_ops``, which may refuse only with DataCorruptionError (None then)."""
    try:
        ops = decode_ops(payload)
    except DataCorruptionError as error:
        assert "log entry's payload cannot be decoded" in str(error)
        return None
    check_well_formed(ops)
    return ops


@SETTINGS
@given(ops=operations)
def test_log_payloads_round_trip(ops: list[Op]) -> None:
    payload = encode_ops(ops)
    back = decode_ops(payload)
    assert _canonical(back) == _canonical(ops)
    check_well_formed(back)
    assert encode_ops(back) == payload


# JSON values for heads of the wrong shape.
junk = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**64 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=6),
        st.sampled_from(["upsert", "delete", "drop_namespace", "create_namespace", "", -1, 0, 2**40]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _payload(head: bytes, area: bytes) -> bytes:
    return struct.pack("<I", len(head)) + head + area


@SETTINGS
@given(
    payload=st.one_of(
        st.binary(max_size=200),
        st.builds(_payload, st.binary(max_size=8), st.binary(max_size=16)),
        st.builds(_payload, junk.map(orjson.dumps), st.binary(max_size=64)),
        st.builds(_payload, st.lists(junk, max_size=3).map(orjson.dumps), st.binary(max_size=64)),
    )
)
def test_arbitrary_log_payloads_are_refused_as_corruption(payload: bytes) -> None:
    decoded_or_refused(payload)


@SETTINGS
@given(ops=operations, data=st.data())
def test_damaged_log_payloads_are_refused_as_corruption(ops: list[Op], data: st.DataObject) -> None:
    payload = encode_ops(ops)
    (hlen,) = struct.unpack_from("<I", payload)
    head, area = orjson.loads(payload[4 : 4 + hlen]), payload[4 + hlen :]
    how = data.draw(st.sampled_from(["head", "key", "drop-key", "truncate", "extend", "flip", "length"]))
    slots = json_slots(head)
    if how in ("head", "key", "drop-key") and slots:
        container, slot = data.draw(st.sampled_from(slots))
        if how == "head":
            container[slot] = data.draw(junk)
        elif how == "key" and isinstance(container, dict):
            container[data.draw(st.sampled_from(["op", "ns", "ids", "meta", "off", "rows", "dim", "sp"]))] = (
                data.draw(junk)
            )
        elif isinstance(container, dict):
            del container[slot]
        else:
            container.pop(slot)
        body = orjson.dumps(head)
        damaged = struct.pack("<I", len(body)) + body + area
    elif how == "truncate" and payload:
        damaged = payload[: data.draw(st.integers(0, len(payload) - 1))]
    elif how == "extend":
        damaged = payload + data.draw(st.binary(min_size=1, max_size=16))
    elif how == "length":
        damaged = struct.pack("<I", data.draw(st.integers(0, 2**32 - 1))) + payload[4:]
    else:
        bit = data.draw(st.integers(0, len(payload) * 8 - 1))
        damaged = _flipped(payload, [bit])
    decoded_or_refused(damaged)  # (a damaged value may still be a valid one: then it must be well-formed)


@SETTINGS
@given(
    deleted=st.lists(st.booleans(), max_size=70),
    how=st.sampled_from(["none", "flip", "truncate", "extend", "garbage", "resealed", "rows"]),
    data=st.data(),
)
def test_deletion_bitmaps_decode_exactly_or_refuse(
    deleted: list[bool], how: str, data: st.DataObject
) -> None:
    rows = len(deleted)
    encoded = encode_deleted(np.array(deleted, dtype=bool))
    if how == "none":
        assert decode_deleted(encoded, rows, "del/x").tolist() == deleted
        return
    if how == "flip":
        damaged = _flipped(encoded, [data.draw(st.integers(0, len(encoded) * 8 - 1))])
    elif how == "truncate":
        damaged = encoded[: data.draw(st.integers(0, len(encoded) - 1))]
    elif how == "extend":
        damaged = encoded + data.draw(st.binary(min_size=1, max_size=9))
    elif how == "garbage":
        damaged = data.draw(st.binary(max_size=60))
    elif how == "rows":
        damaged = encoded
        rows = data.draw(st.integers(0, 80).filter(lambda n: n != len(deleted)))
    else:  # a valid frame around a payload of the wrong size for its rows
        payload = data.draw(st.binary(max_size=12).filter(lambda b: len(b) != (rows + 7) // 8))
        damaged = frame(DEL_MAGIC, rows, payload)
    # Every damage is refused: a single flip and any truncation or extension by the CRC and the length,
    # a wrong row count or a payload of the wrong size by the reader, garbage by the magic.
    with pytest.raises(DataCorruptionError, match="del/x"):
        decode_deleted(damaged, rows, "del/x")


@contextmanager
def fresh_store() -> Iterator[tuple[LocalStore, Path]]:
    with tempfile.TemporaryDirectory() as tmp:
        store = LocalStore(tmp)
        try:
            yield store, Path(tmp)
        finally:
            store.close()


def snapshot(root: Path) -> dict[str, bytes]:
    """Every object file under ``root`` (not the lock, not temporaries) and its bytes."""
    out: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".tmp"]
        for name in filenames:
            path = Path(dirpath, name)
            key = path.relative_to(root).as_posix()
            if key != "LOCK":
                out[key] = path.read_bytes()
    return out


def _put(root: Path, key: str, data: bytes) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


documents = st.dictionaries(
    st.text(max_size=5), st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(max_size=5)), max_size=4
)


def _damaged_doc(how: str, good: bytes, magic: bytes, version: int, doc: Any, data: st.DataObject) -> bytes:
    """The bytes of the newest version of a document after damage ``how``."""
    if how == "none":
        return good
    if how == "flip":
        return _flipped(good, [data.draw(st.integers(0, len(good) * 8 - 1))])
    if how == "truncate":
        return good[: data.draw(st.integers(0, len(good) - 1))]
    if how == "garbage":
        return data.draw(st.binary(max_size=80))
    if how == "empty":
        return b""
    # validly framed, but not what commit writes: not JSON, not an object, or under another version
    if how == "not-json":
        return frame(magic, version, data.draw(st.sampled_from([b"", b"{", b"\xff", b"{}x", b"NaN", b"[1"])))
    if how == "not-object":
        other = st.one_of(
            st.lists(st.integers(-5, 5), max_size=2), st.integers(-5, 5), st.text(max_size=3), st.none()
        )
        return frame(magic, version, orjson.dumps(data.draw(other)))
    assert how == "version"
    return frame(
        magic, data.draw(st.integers(0, 2**64 - 1).filter(lambda v: v != version)), orjson.dumps(doc)
    )


@SETTINGS
@given(
    docs=st.lists(documents, min_size=1, max_size=4),
    how=st.sampled_from(
        ["none", "flip", "truncate", "garbage", "empty", "not-json", "not-object", "version"]
    ),
    data=st.data(),
)
def test_versioned_documents_load_exactly_or_refuse(
    docs: list[dict[str, Any]], how: str, data: st.DataObject
) -> None:
    prefix, magic = "indexes/ix/manifest/", b"SPRM"
    with fresh_store() as (store, root):
        for version, doc in enumerate(docs, start=1):
            _put(root, f"{prefix}{version:020d}", frame(magic, version, orjson.dumps(doc)))
        newest = len(docs)
        key = f"{prefix}{newest:020d}"
        good = (root / key).read_bytes()
        damaged = _damaged_doc(how, good, magic, newest, docs[-1], data)
        _put(root, key, damaged)
        before = snapshot(root)
        reader = VersionedDoc(store, prefix, magic)
        try:
            loaded = reader.load()
        except DataCorruptionError as error:
            assert how != "none" and key in str(error)
            assert reader.version == newest  # so that a repair's commit supersedes it
        else:
            assert how == "none", how  # (garbage never passes the magic and CRC in practice)
            assert loaded == docs[-1] and reader.version == newest
        assert snapshot(root) == before


# --- 5: Log.recover -----------------------------------------------------------------------------------

PREFIX = "indexes/ix/log/"


def log_key(lsn: int) -> str:
    """The object name of log entry ``lsn`` (``storage.log``: the prefix, then the LSN in 20 digits)."""
    return f"{PREFIX}{lsn:020d}"


DAMAGE = [
    "intact",
    "intact",
    "intact",
    "missing",
    "truncate",
    "extend",
    "flip",
    "empty",
    "other-lsn",
    "other-kind",
    "garbage",
]


def _damaged(how: str, good: bytes, lsn: int, payload: bytes, data: st.DataObject) -> bytes | None:
    """The bytes entry ``lsn`` holds after damage ``how`` (None: the object is missing)."""
    if how == "intact":
        return good
    if how == "missing":
        return None
    if how == "truncate":
        return good[: data.draw(st.integers(0, len(good) - 1))]
    if how == "extend":
        return good + data.draw(st.binary(min_size=1, max_size=8))
    if how == "flip":
        return _flipped(good, [data.draw(st.integers(0, len(good) * 8 - 1))])
    if how == "empty":
        return b""
    if how == "other-lsn":  # a whole, valid entry, under the wrong name
        return frame(LOG_MAGIC, data.draw(st.integers(0, 2**64 - 1).filter(lambda n: n != lsn)), payload)
    if how == "other-kind":
        return frame(b"SPRM", lsn, payload)
    return data.draw(st.binary(max_size=60))


@settings(SETTINGS, max_examples=150)
@given(
    # whole entries are what a writer writes (``spruce verify`` decodes them too)
    entries=st.lists(
        st.lists(st.text(max_size=6), max_size=3).map(lambda ids: encode_ops([Delete(ns="", ids=ids)])),
        min_size=1,
        max_size=8,
    ),
    data=st.data(),
)
def test_log_recovery_cuts_only_a_bad_last_entry_and_otherwise_changes_nothing(
    entries: list[bytes], data: st.DataObject
) -> None:
    n = len(entries)
    covered = data.draw(st.integers(0, n), label="manifest LSN")
    damage = {
        lsn: data.draw(st.sampled_from(DAMAGE), label=f"entry {lsn}") for lsn in range(covered + 1, n + 1)
    }
    stray = data.draw(st.booleans(), label="stray file")
    quarantined_before = data.draw(st.integers(0, 2), label="earlier quarantined copies")
    with fresh_store() as (store, root):
        for lsn in range(covered + 1, n + 1):
            good = frame(LOG_MAGIC, lsn, entries[lsn - 1])
            written = _damaged(damage[lsn], good, lsn, entries[lsn - 1], data)
            if written is not None:
                _put(root, log_key(lsn), written)
        if stray:
            _put(root, PREFIX + "notes.txt", b"not an entry")
        present = [lsn for lsn, how in damage.items() if how != "missing"]
        last = max(present, default=covered)
        for copy in range(1, quarantined_before + 1):
            _put(root, f"{QUARANTINE}{log_key(last)}.{copy}", b"an earlier cut")
        before = snapshot(root)

        # The model: the first problem below the newest entry refuses; a bad newest entry alone is cut.
        problems = [lsn for lsn in range(covered + 1, last) if damage[lsn] != "intact"]
        cut = last in damage and damage[last] != "intact" and not problems
        event("refused" if problems else "cut" if cut else "clean")

        findings = _verify_log(store, PREFIX, covered, lambda key: None)
        assert snapshot(root) == before
        assert any(f.loss for f in findings) == bool(problems)
        assert (not problems and any(not f.loss for f in findings)) == cut

        log = Log(store, PREFIX)
        recovered = log.recover(covered)
        if problems:
            with pytest.raises(DataCorruptionError) as caught:
                next(recovered)  # refused before the first entry is yielded
            assert log_key(problems[0]) in str(caught.value)
            assert "nothing was changed" in str(caught.value)
            assert snapshot(root) == before
            return
        got = list(recovered)
        kept = last - 1 if cut else last
        assert got == [(lsn, entries[lsn - 1]) for lsn in range(covered + 1, kept + 1)]
        assert log.last_lsn == kept
        after = snapshot(root)
        if cut:
            expected = dict(before)
            bad = expected.pop(log_key(last))
            expected[f"{QUARANTINE}{log_key(last)}.{quarantined_before + 1}"] = bad
            assert after == expected
        else:
            assert after == before
        # The next write takes the cut LSN, and a second recovery reads everything back.
        assert log.append(b"next") == kept + 1
        again = list(Log(store, PREFIX).recover(covered))
        assert again == [*got, (kept + 1, b"next")]
