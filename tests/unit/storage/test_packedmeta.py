"""Packed metadata: gathering runs and single rows from packed and unpacked sources keeps every row."""

from __future__ import annotations

import numpy as np

from spruce.storage.packedmeta import PackedMetadata


def test_gather_mixes_contiguous_runs_single_rows_and_dicts() -> None:
    dicts = [{"a": float(i), "t": ["x"] * (i % 3)} for i in range(10)]
    packed = PackedMetadata.gather([(dicts, range(10))])
    assert list(packed) == dicts and packed[-1] == dicts[-1] and packed[3:7] == dicts[3:7]
    memtable = [{"z": "q"}, {"y": True}]
    parts = [(packed, np.arange(2, 7)), (memtable, [1]), (packed, np.array([0, 3, 9])), (packed, [])]
    got = PackedMetadata.gather(parts)
    assert list(got) == [*dicts[2:7], {"y": True}, dicts[0], dicts[3], dicts[9]]
    assert bytes(got.raw(5)) == b'{"y":true}'
    assert len(PackedMetadata.gather([])) == 0
