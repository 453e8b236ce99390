"""Approximate search for one large segment: a faiss HNSW graph over the segment's own vectors.

Why faiss HNSW (measured in docs/ann-choice.md): the fastest build and search on this class of machine,
an allow-bitmap checked inside the C++ search (filtered search without a Python callback), a per-call
``efSearch`` (thread-safe knobs), and graphs that faiss can memory-map (``IO_FLAG_MMAP_IFC``; not used yet,
see ``load``).

The graph is stored *without* its vectors (``IO_FLAG_SKIP_STORAGE``, about 0.13x the raw vector bytes):
the segment object already holds them, so they are attached as the graph's storage on load (one copy in
memory, which also serves as the block's vectors). Labels are row numbers: rows are added in order.

Metrics: euclidean uses L2 storage (faiss returns squared L2, Pinecone's euclidean score); dotproduct uses
inner product. Cosine uses inner product over the stored vectors when they are unit length (within
``UNIT_TOLERANCE``, the usual case for embedding models), so no second copy is needed; otherwise a
normalised copy is stored inside the graph object ("own storage", 2x disk for that segment). Either way
the engine recomputes the final scores exactly, so approximation only affects which rows are returned.

Object layout (``indexes/<uid>/seg/<n>.ann``): the bytes of ``faiss.write_index`` of an ``IndexHNSW``,
with or without storage as above, preceded by nothing; which case applies is recorded in the manifest
entry (``"ann_storage": "segment" | "own"``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import faiss as _faiss
import numpy as np

from spruce.index.omp import build_threads, search_thread

faiss: Any = _faiss  # its SWIG stubs miss most of what is used here; treat the module as untyped

__all__ = ["DEFAULT_EF", "HnswIndex", "filtered_ef"]

M = 24
EF_CONSTRUCTION = 80  # for 256+ dimensions: meets 5,000 records/s to fully indexed on real 384-d embeddings
EF_CONSTRUCTION_LOW_DIM = 200  # below 256 dimensions distances are cheap, and 80 left a 1M x 128
# clustered set at recall 0.93 with ef 48 (0.965 only at ef 256)
DEFAULT_EF = 48
MAX_EF = 4096
UNIT_TOLERANCE = 1e-3

FloatArray = np.ndarray[Any, np.dtype[np.float32]]


def filtered_ef(ef: int, selectivity: float) -> int:
    """HNSW visits about ``ef`` nodes whatever the filter, so a selective filter needs a larger ``ef``."""
    if selectivity >= 1.0:
        return ef
    return min(MAX_EF, max(ef, math.ceil(0.4 * ef / max(selectivity, 1e-6))))


def _flat(dim: int, metric: str) -> Any:
    return faiss.IndexFlatL2(dim) if metric == "euclidean" else faiss.IndexFlatIP(dim)


def _give_storage(graph: Any, storage: Any) -> None:
    """Make the graph the one owner of its storage, which it frees with itself. (Assigning
    ``graph.storage`` makes the Python proxy give up ownership, so leaving ``own_fields`` off leaked the
    whole storage, about the raw vector bytes, on every close and merge.) The ``HnswIndex`` keeps the
    storage's proxy only beside the graph, so it never outlives it."""
    storage.thisown = False
    graph.own_fields = True


def _reserve(buffer: Any, nbytes: int) -> None:
    """Give a faiss byte vector the capacity for ``nbytes`` without changing its contents. The bindings
    have no ``reserve``, but growing a std::vector and shrinking it back keeps its capacity."""
    size = int(buffer.size())
    if nbytes > size:
        buffer.resize(nbytes)
        buffer.resize(size)


def _is_unit(vectors: FloatArray) -> bool:
    return _unit_norms(np.einsum("ij,ij->i", vectors, vectors, dtype=np.float64))


def _unit_norms(sq_norms: np.ndarray[Any, np.dtype[np.float64]]) -> bool:
    return bool(np.all(np.abs(np.sqrt(sq_norms) - 1.0) <= UNIT_TOLERANCE))


class HnswIndex:
    """A searchable graph plus the storage it is attached to (kept alive together)."""

    def __init__(self, graph: Any, storage: Any, own_storage: bool) -> None:
        self._graph = graph
        self._storage = storage
        self.own_storage = own_storage

    @property
    def ntotal(self) -> int:
        return int(self._graph.ntotal)

    # ------------------------------------------------------------ building

    @classmethod
    def build(cls, vectors: FloatArray, metric: str) -> HnswIndex:
        """Build a graph over ``vectors`` (rows become labels 0..n-1) using every core."""
        index = cls.empty(vectors.shape[1], metric, own_storage=cls.needs_own_storage(vectors, metric))
        index.add(vectors)
        return index

    @staticmethod
    def needs_own_storage(vectors: FloatArray, metric: str) -> bool:
        """Whether a graph over these rows must store a normalised copy (cosine over non-unit rows)."""
        return metric == "cosine" and not _is_unit(vectors)

    @staticmethod
    def needs_own_storage_by_norms(sq_norms: np.ndarray[Any, np.dtype[np.float64]], metric: str) -> bool:
        """``needs_own_storage`` from the rows' squared norms (float64, as a block keeps them): no row is
        read, so a mapped segment's pages are not touched just to decide."""
        return metric == "cosine" and not _unit_norms(sq_norms)

    @classmethod
    def empty(cls, dim: int, metric: str, *, own_storage: bool) -> HnswIndex:
        """A graph with no rows yet: ``add`` them, in as many calls as suits the caller's memory."""
        storage = _flat(dim, metric)
        graph = faiss.IndexHNSW(storage, M)
        _give_storage(graph, storage)
        graph.hnsw.efConstruction = EF_CONSTRUCTION if dim >= 256 else EF_CONSTRUCTION_LOW_DIM
        return cls(graph, storage, own_storage)

    def add(self, vectors: FloatArray) -> None:
        """Insert more rows (labels continue from ``ntotal``); used to merge segments into a larger one."""
        data = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.own_storage:
            data = data / np.maximum(np.linalg.norm(data, axis=1, keepdims=True), 1e-30)
        with build_threads():
            self._graph.add(data)

    def _writer(self) -> Any:
        writer = faiss.VectorIOWriter()
        # Room for the whole object first: the writer's buffer would otherwise double as it fills, holding
        # the old and the new buffer at once (about 1.5x the graph) at a merge's peak.
        hnsw = self._graph.hnsw
        size = 4 * int(hnsw.neighbors.size()) + 8 * int(hnsw.offsets.size()) + 4 * int(hnsw.levels.size())
        size += 8 * int(hnsw.assign_probas.size()) + 4 * int(hnsw.cum_nneighbor_per_level.size()) + 4096
        if self.own_storage:
            size += self.ntotal * int(self._storage.code_size)
        _reserve(writer.data, size)
        faiss.write_index(self._graph, writer, 0 if self.own_storage else faiss.IO_FLAG_SKIP_STORAGE)
        return writer

    def to_bytes(self) -> np.ndarray[Any, np.dtype[np.uint8]]:
        """The object's bytes, as a copy (see ``write_to`` for the way without one)."""
        writer = self._writer()  # kept in a name: ``writer.data`` alone does not keep the writer alive
        out: np.ndarray[Any, np.dtype[np.uint8]] = faiss.vector_to_array(writer.data)
        return out

    def write_to(self, put: Callable[[memoryview], object]) -> None:
        """Hand the object's bytes to ``put`` as a view of faiss's own buffer, freed when ``put`` returns:
        a copy of a large graph (about 200 MB at a million rows) would come at the moment a merge holds
        the most memory."""
        writer = self._writer()
        size = int(writer.data.size())
        put(faiss.rev_swig_ptr(writer.data.data(), size).data if size else memoryview(b""))
        del writer

    # ------------------------------------------------------------ loading

    @classmethod
    def load(
        cls,
        data: bytes | np.ndarray[Any, np.dtype[np.uint8]] | None,
        path: str | None,
        vectors: FloatArray,
        metric: str,
        own_storage: bool,
        *,
        reserve_rows: int = 0,
    ) -> HnswIndex:
        """Open a graph (read from ``path`` where there is one, else from ``data``) and attach ``vectors``,
        with room for ``reserve_rows`` rows in all (see ``reserve``).

        The graph is read into memory in full, not mapped: faiss maps an index file only with
        ``IO_FLAG_MMAP_IFC``; ``IO_FLAG_MMAP`` (with ``IO_FLAG_READ_ONLY``) concerns IVF inverted lists and
        changes nothing for HNSW (measured: +8.1 MB anonymous memory for an 8.3 MB graph file)."""
        flags = 0 if own_storage else faiss.IO_FLAG_SKIP_STORAGE
        if path is not None:
            graph = faiss.read_index(path, flags | faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        else:
            assert data is not None
            reader = faiss.VectorIOReader()
            faiss.copy_array_to_vector(np.frombuffer(data, dtype=np.uint8), reader.data)
            graph = faiss.read_index(reader, flags)
        return cls._attach(graph, vectors, metric, own_storage, reserve_rows)

    @classmethod
    def _attach(
        cls, graph: Any, vectors: FloatArray, metric: str, own_storage: bool, reserve_rows: int
    ) -> HnswIndex:
        """Give a graph read without its storage a copy of ``vectors`` as storage (or adopt its own)."""
        if own_storage:
            index = cls(graph, faiss.downcast_index(graph.storage), True)
            index.reserve(reserve_rows)
            return index
        storage = _flat(vectors.shape[1], metric)
        index = cls(graph, storage, False)
        index.reserve(reserve_rows)
        storage.add(np.ascontiguousarray(vectors, dtype=np.float32))
        graph.storage = storage
        _give_storage(graph, storage)
        return index

    def clone(self, vectors: FloatArray, metric: str, *, reserve_rows: int = 0) -> HnswIndex:
        """A writable copy of the graph attached to a copy of ``vectors`` (the rows it already holds). The
        serialised graph moves from the writer to the reader without a copy."""
        writer = self._writer()
        reader = faiss.VectorIOReader()
        reader.data.swap(writer.data)
        del writer
        graph = faiss.read_index(reader, 0 if self.own_storage else faiss.IO_FLAG_SKIP_STORAGE)
        del reader
        return HnswIndex._attach(graph, vectors, metric, self.own_storage, reserve_rows)

    def reserve(self, rows: int) -> None:
        """Allocate the storage for ``rows`` rows in all now, so that adding rows in several calls never
        reallocates it: a reallocation holds the old and the new buffer at once, and the storage is the
        largest thing in memory."""
        _reserve(self._storage.codes, rows * int(self._storage.code_size))

    def vectors(self) -> FloatArray | None:
        """The attached rows as a read-only numpy view (None when the storage is a normalised copy)."""
        if self.own_storage:
            return None
        n, d = self.ntotal, self._storage.d
        view: FloatArray = faiss.rev_swig_ptr(self._storage.get_xb(), n * d).reshape(n, d)
        view.flags.writeable = False
        return view

    # ------------------------------------------------------------ searching

    def search(
        self, q: FloatArray, k: int, ef: int, allow: np.ndarray[Any, Any] | None
    ) -> np.ndarray[Any, Any]:
        """Row numbers of about the ``k`` nearest rows among ``allow`` (a bool mask, or None for all), on one
        OpenMP thread whichever thread calls (``omp.search_thread``)."""
        search_thread()
        query = np.ascontiguousarray(q, dtype=np.float32).reshape(1, -1)
        if self.own_storage:
            query = query / max(float(np.linalg.norm(query)), 1e-30)
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(ef, k)
        bits = None
        if allow is not None:
            bits = np.packbits(allow, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(allow), faiss.swig_ptr(bits))
            params.sel = selector
        _, labels = self._graph.search(query, k, params=params)
        del bits  # the selector points into it: it must live until the search returned
        found = labels[0]
        out: np.ndarray[Any, Any] = found[found >= 0].astype(np.int64)
        return out
