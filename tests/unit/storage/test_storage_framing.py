from __future__ import annotations

import pytest

from spruce.storage.framing import HEADER, CorruptFrame, frame, unframe


def test_roundtrip() -> None:
    data = frame(b"SPRL", 42, b"payload")
    assert len(data) == HEADER.size + 7
    assert unframe(data, b"SPRL") == (42, b"payload")


def test_every_truncation_and_bit_flip_is_detected() -> None:
    data = frame(b"SPRL", 7, b"some payload bytes")
    for cut in range(len(data)):
        with pytest.raises(CorruptFrame):
            unframe(data[:cut], b"SPRL")
    for pos in range(len(data)):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[pos] ^= 1 << bit
            with pytest.raises(CorruptFrame):
                unframe(bytes(flipped), b"SPRL")


def test_wrong_kind_is_rejected() -> None:
    with pytest.raises(CorruptFrame, match="magic"):
        unframe(frame(b"SPRM", 1, b"{}"), b"SPRL")
