"""Checksummed framing shared by every small object spruce writes (log entries, manifests, catalogs,
deletion bitmaps).

Frame layout, little-endian, 28-byte header then payload::

    offset size field
    0      4    magic: b"SPRL" log entry | b"SPRM" manifest | b"SPRC" catalog | b"SPRD" deletion bitmap
    4      2    format version (1)
    6      2    reserved, zero
    8      8    sequence number (the LSN for log entries, the version for manifests/catalogs)
    16     8    payload length in bytes
    24     4    CRC-32 (zlib) of bytes 0..24 followed by the payload
    28     n    payload

A frame that is short, has the wrong magic, length or checksum is rejected whole (``CorruptFrame``): a torn
or bit-flipped object is never half-read. A whole frame (its checksum holds) of a format version above
``VERSION`` was written by a newer spruce: ``NewerFormatError``, which says so instead of calling it damage.
"""

from __future__ import annotations

import struct

from spruce.errors import NewerFormatError
from spruce.storage.checksum import crc32

__all__ = ["HEADER", "CorruptFrame", "frame", "unframe"]

HEADER = struct.Struct("<4sHHQQI")
VERSION = 1


class CorruptFrame(Exception):
    """A frame failed validation. Internal: callers decide whether that is a torn tail or data loss."""


def frame(magic: bytes, seq: int, payload: bytes) -> bytes:
    head = HEADER.pack(magic, VERSION, 0, seq, len(payload), 0)[:24]
    crc = crc32(payload, crc32(head))
    return head + struct.pack("<I", crc) + payload


def unframe(data: bytes, magic: bytes) -> tuple[int, bytes]:
    """Return ``(seq, payload)`` of a whole, valid frame of the given kind."""
    if len(data) < HEADER.size:
        raise CorruptFrame(f"frame shorter than its header ({len(data)} bytes)")
    got_magic, version, _, seq, length, crc = HEADER.unpack_from(data)
    if got_magic != magic:
        raise CorruptFrame(f"bad magic {got_magic!r}, expected {magic!r}")
    if len(data) != HEADER.size + length:
        raise CorruptFrame(f"frame length {len(data)} does not match header ({HEADER.size + length})")
    payload = data[HEADER.size :]
    if crc32(payload, crc32(data[:24])) != crc:
        raise CorruptFrame("checksum mismatch")
    if version > VERSION:
        raise NewerFormatError(
            f"the store holds {_KINDS.get(magic, 'an object')} written by a newer spruce (format version "
            f"{version}; this spruce reads version {VERSION}): upgrade spruce to open it; nothing was changed"
        )
    if version != VERSION:
        raise CorruptFrame(f"unknown frame version {version}")
    return seq, payload


_KINDS = {
    b"SPRL": "a log entry",
    b"SPRM": "a manifest",
    b"SPRC": "a catalog",
    b"SPRD": "a deletion bitmap",
    b"SPRI": "an index configuration record",
}
