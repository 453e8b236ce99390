"""The optional ``clusters`` section of a segment (rows in cluster order, ``spruce.index.clusters``)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from spruce.index.clusters import Clusters
from spruce.storage.objectstore import LocalStore
from spruce.storage.segment import encode_segment, read_segment
from spruce.types import Metadata

F32 = np.ndarray[Any, np.dtype[np.float32]]
I64 = np.ndarray[Any, np.dtype[np.int64]]

N, DIM = 1500, 12


def _rows(seed: int = 1) -> F32:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(8, DIM))
    x = centres[rng.integers(0, 8, size=N)] + 0.3 * rng.normal(size=(N, DIM))
    return x.astype(np.float32)


def _clustered_segment(metric: str) -> tuple[list[str], F32, Clusters, list[bytes | memoryview]]:
    """Ids and vectors in cluster order, their clusters, and the segment's parts."""
    vectors = _rows()
    clusters, perm = Clusters.order(vectors, metric)
    ids = [f"id{int(i)}" for i in perm]
    ordered = np.ascontiguousarray(vectors[perm])
    metas: list[Metadata] = [{"n": float(i)} for i in perm]
    parts = encode_segment(ids, ordered, metas, clusters=clusters.to_parts())
    return ids, ordered, clusters, parts


def _header(data: bytes) -> dict[str, Any]:
    _, hlen, _ = struct.unpack_from("<8sII", data)
    header: dict[str, Any] = orjson.loads(data[16 : 16 + hlen])
    return header


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_clusters_section_round_trips(tmp_path: Path, metric: str) -> None:
    ids, ordered, clusters, parts = _clustered_segment(metric)
    store = LocalStore(tmp_path)
    assert store.put_if_absent("seg/1.seg", parts)
    seg = read_segment(store, "seg/1.seg")
    assert seg.clusters is not None
    assert seg.ids == ids
    np.testing.assert_array_equal(seg.vectors, ordered)
    assert seg.metadata[0] == {"n": float(ids[0][2:])}
    back = Clusters.from_buffer(seg.clusters, len(seg.ids), seg.vectors.shape[1], metric)
    assert back.metric == metric
    np.testing.assert_array_equal(back.centroids, clusters.centroids)
    np.testing.assert_array_equal(back.offsets, clusters.offsets)
    q = ordered[321]
    for fraction in (0.1, 0.3, 1.0):
        np.testing.assert_array_equal(back.probe(q, fraction), clusters.probe(q, fraction))
    # the section holds exactly the persisted form, at a 64-byte aligned offset like every section
    off, length, _ = _header(b"".join(parts))["sections"]["clusters"]
    assert off % 64 == 0
    assert bytes(seg.clusters) == b"".join(clusters.to_parts())
    assert length == len(seg.clusters)
    store.close()


def test_clusters_section_beside_the_others_leaves_them_intact(tmp_path: Path) -> None:
    """Adding the section must not move or damage the other sections (all read and CRC-checked)."""
    ids, ordered, _, parts = _clustered_segment("euclidean")
    plain = encode_segment(ids, ordered, [{"n": float(i[2:])} for i in ids])
    store = LocalStore(tmp_path)
    store.put_if_absent("seg/c.seg", parts)
    store.put_if_absent("seg/p.seg", plain)
    with_c, without = read_segment(store, "seg/c.seg"), read_segment(store, "seg/p.seg")
    assert with_c.ids == without.ids
    assert list(with_c.metadata) == list(without.metadata)
    np.testing.assert_array_equal(with_c.vectors, without.vectors)
    assert with_c.columns is None and without.columns is None
    store.close()


def test_segment_without_clusters_reads_none(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    vecs = np.arange(12, dtype=np.float32).reshape(4, 3)
    parts = encode_segment(["a", "b", "c", "d"], vecs, [{}, {}, {}, {}])
    assert "clusters" not in _header(b"".join(parts))["sections"]
    store.put_if_absent("seg/1.seg", parts)
    seg = read_segment(store, "seg/1.seg")
    assert seg.clusters is None
    np.testing.assert_array_equal(seg.vectors, vecs)
    store.close()


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_corrupt_clusters_section_is_detected_and_left_out(tmp_path: Path, where: str) -> None:
    """Clusters are derived data: a damaged section is reported and left out (the rows still read)."""
    _, _, _, parts = _clustered_segment("cosine")
    data = bytearray(b"".join(parts))
    off, length, _ = _header(bytes(data))["sections"]["clusters"]
    at = {"first": off, "middle": off + length // 2, "last": off + length - 1}[where]
    data[at] ^= 0x01
    store = LocalStore(tmp_path)
    store.put_if_absent("seg/1.seg", bytes(data))
    seg = read_segment(store, "seg/1.seg")
    assert seg.damaged == ["clusters"] and seg.clusters is None
    assert len(seg.ids) == seg.vectors.shape[0]
    store.close()


def test_truncated_clusters_section_is_detected(tmp_path: Path) -> None:
    """A segment object cut short inside its clusters section."""
    _, _, _, parts = _clustered_segment("euclidean")
    data = b"".join(parts)
    off, length, _ = _header(data)["sections"]["clusters"]
    store = LocalStore(tmp_path)
    store.put_if_absent("seg/1.seg", data[: off + length - 3])
    assert read_segment(store, "seg/1.seg").damaged == ["clusters"]
    store.close()
