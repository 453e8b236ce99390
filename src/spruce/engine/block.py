"""A block of records of one namespace: the in-memory form of a segment, or the growing memtable.

Rows are append-only and never change in place: an upsert or update appends a new row and marks the old
one dead in ``alive``. The memtable is simply the one block that still grows; when it is frozen and
flushed, or when segments are compacted, the live rows are copied into a new block and the old block is
*retired*: ``forward`` maps each of its rows to the row in the new block (or -1), so an id -> (block, row)
entry that still names the old block resolves correctly until it is re-pointed.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np

from spruce.filter import Filter, MetadataColumns, TextMatch
from spruce.index import exact_scores, top_candidates
from spruce.index.clusters import PROBE_FRACTION, Clusters
from spruce.index.hnsw import DEFAULT_EF, HnswIndex, filtered_ef
from spruce.index.sparse import Postings, SparseQuery, dot_all, dot_rows
from spruce.storage.packedmeta import PackedMetadata
from spruce.storage.segment import SegmentContents
from spruce.text.analysis import Analyzer
from spruce.text.index import Analyzed, TextPostings, TextRows
from spruce.text.search import BlockText, match_rows
from spruce.types import Metadata, SparseRows, Vector32

__all__ = ["Block", "Snapshot", "pick_rows"]

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]

# Below this many multiply-adds (allowed rows x dimension) an exact scan beats the graph: about 5,000
# rows at 384 dimensions, which is also where HNSW needs a very large ef to keep recall.
EXACT_MAX_WORK = 2_000_000
# Clusters are probed only when at least this fraction of the block's rows is allowed; a more selective
# filter scans exactly its allowed rows (read in place, so that costs no more than the probe would).
PROBE_MIN_ALLOWED = 0.5
GROW_STRAIGHT_ROWS = 4096  # see ``Block.reserve``
GROW_STRAIGHT_BYTES = 256 << 20
COLUMN_STEP = 16_384  # rows of metadata decoded at a time while building columns
# A memtable's sparse rows get postings (``Block.sparse_index``) once this many, or an eighth of those
# already indexed, are past the last build: below that the exact scan of the rest costs about as much as
# a query of the postings (``dot_all``: some 17 ns per sparse entry read).
SPARSE_TAIL_ROWS = 2048
# At most this many allowed rows are scored straight from their rows, not through the postings.
SPARSE_EXACT_ROWS = 1024
# A memtable's full-text rows get postings over a prefix once this many rows, or an eighth of those
# indexed, arrived since the last build; the rows past it get postings of their own per snapshot size
# (``Block.text_view``), cached, so repeated queries between writes build nothing.
TEXT_TAIL_ROWS = 2048
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def pick_rows(items: Sequence[str], rows: IntArray) -> list[str]:
    """``[items[r] for r in rows]``, with the loop in C (background steps run it for every row they move,
    and a Python loop holds the GIL that queries need)."""
    if not len(rows):
        return []
    got = itemgetter(*rows.tolist())(items)
    return list(got) if len(rows) > 1 else [got]


class Snapshot(NamedTuple):
    """A block's rows as of one moment (``Block.snapshot``)."""

    n: int
    alive: BoolArray  # alive[:n], never written to afterwards
    n_alive: int


class Block:
    """Rows ``0..n`` of ids, float32 vectors, squared norms, metadata, sparse values, and a liveness mask.

    A sparse index's blocks have dimension 0 (no dense vectors); a dense index's rows have empty sparse
    rows unless the records were upserted with sparse values (hybrid, dot product only).
    """

    def __init__(
        self,
        dim: int,
        *,
        ids: list[str] | tuple[str, ...] | None = None,
        vectors: Vector32 | None = None,
        metadata: list[Metadata] | PackedMetadata | None = None,
        segment_key: str | None = None,
        alive: BoolArray | None = None,
        ann: HnswIndex | None = None,
        columns: MetadataColumns | None = None,
        clusters: Clusters | None = None,
        sparse: SparseRows | None = None,
        postings: Postings | None = None,
        text_fields: Mapping[str, Analyzer] | None = None,
        text: Mapping[str, TextPostings] | None = None,
    ) -> None:
        self.dim = dim
        self.segment_key = segment_key
        self.ann = ann
        self.clusters = clusters  # rows stored in cluster order (a large block without a graph)
        self.ann_key: str | None = None
        self.ann_crc: int | None = None  # CRC-32 of the graph object, kept in the manifest
        self.moved = (
            0  # dead rows that a graph step moved to another block, not deleted (``Namespace.install``)
        )
        if ann is not None and (view := ann.vectors()) is not None:
            vectors = view  # one copy in memory: the graph's storage is the block's vectors
        self.deleted_key: str | None = None
        # ``kill`` calls so far, and how many of them the bitmap at ``deleted_key`` includes: a manifest
        # commit writes the bitmap without holding off writes, so a kill may land while it does
        self.kills = 0
        self.kills_saved = 0
        self.freeze_lsn = 0
        self.forward: tuple[Block, np.ndarray[Any, np.dtype[np.int64]]] | None = None
        self.slot = -1  # the namespace's name for this block in its id map (see ``Namespace``)
        # a memtable's list (appended to), or a segment's tuple: a tuple of strings is untracked by the
        # garbage collector, so a full collection (which holds the GIL) does not walk every id of every
        # segment; at 200,000 ids that walk was a few ms of each such pause
        self.ids: list[str] | tuple[str, ...] = ids if ids is not None else []
        # a memtable's dicts, or a segment's packed rows (decoded one at a time, when asked for)
        self.metadata: list[Metadata] | PackedMetadata = metadata if metadata is not None else []
        self.n = len(self.ids)
        if vectors is None:
            vectors = np.empty((16, dim), dtype=np.float32)
        self._vectors = vectors
        self._mapped: SegmentContents | None = None  # set by ``map_vectors``
        self._sq = np.einsum("ij,ij->i", vectors[: self.n], vectors[: self.n], dtype=np.float64)
        self._sq.resize(max(self.n, 16), refcheck=False)
        self._alive = np.ones(max(self.n, 16), dtype=bool) if alive is None else alive.copy()
        self.n_alive = int(self._alive[: self.n].sum())
        self._columns = MetadataColumns(skip=frozenset(text_fields or ())) if columns is None else columns
        self._columns_rows = len(self._columns)  # rows of ``metadata`` already in the columns
        self._columns_mu = threading.Lock()
        # Sparse rows in compressed-row form (``types.SparseRows``), growable like the vectors: indptr has
        # room for the row capacity + 1, indices/values for ``len(self._sp_indices)`` entries.
        if sparse is None:
            sparse = SparseRows.empty(self.n)
        assert len(sparse) == self.n
        self._sp_indptr = np.zeros(max(self.n, 16) + 1, dtype=np.int64)
        self._sp_indptr[: self.n + 1] = sparse.indptr
        self._sp_indices = sparse.indices
        self._sp_values = sparse.values
        self._postings = postings  # over the first ``postings.n`` rows (a segment's: all of them)
        self._sparse_mu = threading.Lock()
        # Full-text fields (a document index): a segment's postings per field, or a memtable's growing
        # rows with the postings of their indexed prefix and of the last tail asked for
        self.text_fields: Mapping[str, Analyzer] = text_fields or {}
        self._text: dict[str, TextPostings] = dict(text or {})
        self._text_rows: dict[str, TextRows] = {}
        self._text_tail: dict[str, tuple[int, TextPostings]] = {}
        if text is None and self.text_fields:
            self._text_rows = {name: TextRows() for name in self.text_fields}
            if self.n:  # rows given without their postings: analyze them now
                for name, rows in self._text_rows.items():
                    rows.append(self._analyze(name, self.metadata[:]))
                self._text = {name: rows.postings(0, self.n) for name, rows in self._text_rows.items()}
                if segment_key is not None:
                    self._text_rows = {}

    # ------------------------------------------------------------ views

    @property
    def vectors(self) -> Vector32:
        return self._vectors[: self.n]

    @property
    def sq_norms(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        sq: np.ndarray[Any, np.dtype[np.float64]] = self._sq[: self.n]
        return sq

    @property
    def alive(self) -> BoolArray:
        return self._alive[: self.n]

    def sparse_rows(self, n: int | None = None) -> SparseRows:
        """The sparse values of rows ``0..n`` (default: all), as views: rows below ``n`` never change,
        and growing copies them into new arrays before it swaps them in."""
        n = self.n if n is None else n
        indptr = self._sp_indptr[: n + 1]
        nnz = int(indptr[-1])
        return SparseRows(indptr, self._sp_indices[:nnz], self._sp_values[:nnz])

    @property
    def has_sparse(self) -> bool:
        return bool(self._sp_indptr[self.n])

    @property
    def postings(self) -> Postings | None:
        return self._postings

    def build_postings(self) -> None:
        """Index the sparse rows now (a segment's, which never grow); nothing without sparse values."""
        if self.has_sparse:
            self._postings = Postings.build(self.sparse_rows())

    def sparse_index(self, n: int) -> Postings | None:
        """Postings over a prefix of rows ``0..n``: a segment's own, or a memtable's, rebuilt once enough
        rows arrived since the last build (``SPARSE_TAIL_ROWS``); the caller scans the rows past it."""
        have = self._postings
        if self.segment_key is not None or not self._sp_indptr[n]:
            return have
        covered = 0 if have is None else have.n
        if n - covered <= max(SPARSE_TAIL_ROWS, covered // 8):
            return have
        with self._sparse_mu:
            have = self._postings
            if have is None or n - have.n > max(SPARSE_TAIL_ROWS, have.n // 8):
                have = self._postings = Postings.build(self.sparse_rows(n))
        return have

    def _analyze(self, name: str, metadata: Sequence[Metadata]) -> list[Analyzed | None]:
        analyzer = self.text_fields[name]
        return [
            analyzer.analyze(value) if isinstance(value := meta.get(name), str) else None for meta in metadata
        ]

    def text_view(self, name: str, n: int) -> BlockText:
        """The full-text index of field ``name`` over rows ``0..n`` (a snapshot's): a segment's postings,
        or a memtable's prefix postings (rebuilt once enough rows arrived, ``TEXT_TAIL_ROWS``) and the
        postings of the rows past them (cached for this ``n``)."""
        rows = self._text_rows.get(name)
        have = self._text.get(name)
        if rows is None:
            assert have is not None and have.n == n
            return BlockText(((have, 0),), n)
        covered = 0 if have is None else have.n
        if n - covered > max(TEXT_TAIL_ROWS, covered // 8):
            with self._sparse_mu:
                have = self._text.get(name)
                if have is None or n - have.n > max(TEXT_TAIL_ROWS, have.n // 8):
                    have = self._text[name] = rows.postings(0, n)
            covered = have.n
        parts: list[tuple[TextPostings, int]] = [] if have is None else [(have, 0)]
        if covered < n:
            tail = self._text_tail.get(name)
            if tail is None or tail[0] != covered or tail[1].n != n - covered:
                tail = (covered, rows.postings(covered, n))
                self._text_tail[name] = tail
            parts.append((tail[1], covered))
        return BlockText(tuple(parts), n)

    def text_postings(self, name: str) -> TextPostings:
        """Field ``name``'s postings over every row (a flush or merge source; a segment's own)."""
        rows = self._text_rows.get(name)
        if rows is None:
            return self._text[name]
        have = self._text.get(name)
        return have if have is not None and have.n == self.n else rows.postings(0, self.n)

    def text_parts(self) -> dict[str, list[bytes | memoryview]]:
        """The persisted form of every full-text field's postings (written into the block's segment)."""
        return {name: self.text_postings(name).to_parts() for name in self.text_fields}

    def _text_match(self, node: TextMatch, n: int) -> IntArray:
        return match_rows(self.text_view(node.field, n), self.text_fields[node.field], node.mode, node.text)

    def map_vectors(self, contents: SegmentContents) -> None:
        """Read this segment's rows from its memory-mapped object from now on (the same values) instead
        of the in-memory copy: file pages can be dropped from the process (``release_vector_pages``) and
        come back from the page cache when touched."""
        assert contents.vectors.shape == (self.n, self.dim)
        self._vectors = contents.vectors
        self._mapped = contents
        contents.drop_vector_pages()  # reading the object (its checksum) touched every page

    def release_vector_pages(self, first_row: int = 0, rows: int | None = None) -> None:
        """Unmap the pages of these rows (default: all) if they are memory-mapped (after a merge copied
        them elsewhere)."""
        if self._mapped is not None:
            self._mapped.drop_vector_pages(first_row, rows)

    def build_columns(self) -> None:
        """Build the metadata columns and their inverted index now (for a segment, which never grows),
        so that the first filtered query or delete does not pay for it."""
        with self._columns_mu:
            self._sync_columns()
            self._columns.build_index()

    def complete_columns(self) -> MetadataColumns | None:
        """A fork of this block's columns if they hold every row already (a segment's always do once
        built; a memtable's only if filters made them catch up), else None: completing them here would
        hold the block's lock, and so its filtered queries, for the whole per-row build."""
        with self._columns_mu:
            return self._columns.fork() if self._columns_rows == self.n else None

    def columns_parts(self) -> list[bytes | memoryview]:
        """The persisted form of this block's metadata columns (written into its segment)."""
        with self._columns_mu:
            self._sync_columns()
            return self._columns.to_parts()

    def _sync_columns(self) -> None:
        # in steps: a segment's packed metadata is decoded a slice at a time, not a dict per row at once
        n = self.n
        while self._columns_rows < n:
            stop = min(n, self._columns_rows + COLUMN_STEP)
            self._columns.extend(self.metadata[self._columns_rows : stop])
            self._columns_rows = stop

    def snapshot(self) -> Snapshot:
        """The rows as they are now, for a query that searches after releasing the index lock (caller
        holds ``rw``): rows only ever get appended past ``n``, and ``kill`` replaces ``alive`` instead of
        writing into it, so what this names never changes under the query."""
        return Snapshot(self.n, self._alive[: self.n], self.n_alive)

    def matching(self, flt: Filter | None, at: Snapshot | None = None) -> BoolArray:
        """Live rows (as of ``at``, default now) that pass ``flt`` (all live rows without a filter).

        Queries get here concurrently (and, with a snapshot, beside writers): the columns are extended and
        evaluated under the block's own lock, as ``MetadataColumns`` is not safe for concurrent use.
        """
        n, alive = (self.n, self.alive) if at is None else (at.n, at.alive)
        if flt is None or flt.is_empty:
            return alive
        text = (lambda node: self._text_match(node, n)) if flt.has_text else None
        with self._columns_mu:
            self._sync_columns()
            mask = self._columns.evaluate(flt, text)
        return alive & mask[:n]

    def search(
        self,
        q: Vector32 | None,
        k: int,
        metric: str,
        flt: Filter | None,
        ef: int = DEFAULT_EF,
        at: Snapshot | None = None,
        sparse: SparseQuery | None = None,
    ) -> tuple[IntArray, FloatArray]:
        """Best candidate rows among live rows passing ``flt``, with their exact scores: by the dense
        vector ``q``, by the sparse vector ``sparse`` (a sparse index: ``q`` is ``None``), or by both
        (hybrid: the sum of the dense and the sparse dot product)."""
        at = self.snapshot() if at is None else at
        mask = self.matching(flt, at)
        allowed = int(np.count_nonzero(mask))
        if allowed == 0:
            return np.empty(0, dtype=np.int64), np.empty(0)
        if q is None:
            assert sparse is not None
            return self._sparse_search(sparse, k, mask, allowed, at.n)
        if sparse is None or not len(sparse) or not self._sp_indptr[at.n]:
            return self._dense_search(q, k, metric, mask, allowed, ef, at.n)
        return self._hybrid_search(q, sparse, k, mask, allowed, ef, at.n)

    def _sparse_search(
        self, q: SparseQuery, k: int, mask: BoolArray, allowed: int, n: int
    ) -> tuple[IntArray, FloatArray]:
        """The rows of the best ``k`` non-zero sparse scores among the allowed ones (ties at the k-th
        kept): through the postings over most rows, the rest scanned exactly; survivors of MaxScore rescored
        in float64 from the rows (the gathering path's sums are exact already; ``index.sparse``)."""
        rows_all = self.sparse_rows(n)
        if allowed <= SPARSE_EXACT_ROWS:
            picked = np.flatnonzero(mask).astype(np.int64)
            scores = dot_rows(rows_all, picked, q)
        else:
            index = self.sparse_index(n)
            covered = 0 if index is None else index.n
            parts: list[IntArray] = []
            exact: list[FloatArray] = []  # scores of parts[i], where they are complete already
            if index is not None:
                found = index.search(q, k, None if allowed == n else mask[:covered])
                parts.append(found.rows)
                if found.exact:
                    exact.append(found.scores)
            if covered < n:
                lo = int(rows_all.indptr[covered])
                tail = SparseRows(rows_all.indptr[covered:] - lo, rows_all.indices[lo:], rows_all.values[lo:])
                tail_scores = dot_all(tail, q)
                tail_rows = np.flatnonzero((tail_scores != 0) & mask[covered:n])
                parts.append(covered + tail_rows)
                exact.append(tail_scores[tail_rows])
            picked = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
            if len(exact) == len(parts):
                scores = np.concatenate(exact) if exact else np.zeros(0)
            else:  # MaxScore's float32 partial sums: rescored in float64 from the rows
                scores = dot_rows(rows_all, picked, q)
        nonzero = np.flatnonzero(scores != 0)  # Pinecone drops sparse matches that score 0
        picked, scores = picked[nonzero], scores[nonzero]
        pos = top_candidates(scores, k, "dotproduct")
        return picked[pos], scores[pos]

    def _hybrid_search(
        self, q: Vector32, sparse: SparseQuery, k: int, mask: BoolArray, allowed: int, ef: int, n: int
    ) -> tuple[IntArray, FloatArray]:
        """Dense dot + sparse dot, exactly: over every allowed row when the dense side would scan them
        anyway, else over the union of the dense side's best ``max(k, ef)`` candidates and the sparse
        side's, rescored exactly."""
        vectors, sq_norms = self._vectors[:n], self._sq[:n]
        rows_all = self.sparse_rows(n)
        if (self.ann is None and self.clusters is None) or allowed * self.dim <= EXACT_MAX_WORK:
            picked = np.arange(n, dtype=np.int64) if allowed == n else np.flatnonzero(mask).astype(np.int64)
            dense = exact_scores(vectors, sq_norms, q, "dotproduct", None if allowed == n else picked)
            sp = dot_all(rows_all, sparse) if allowed == n else dot_rows(rows_all, picked, sparse)
        else:
            wide = max(k, ef)
            from_dense = self._dense_search(q, wide, "dotproduct", mask, allowed, ef, n)[0]
            from_sparse = self._sparse_search(sparse, wide, mask, allowed, n)[0]
            picked = np.union1d(from_dense, from_sparse).astype(np.int64)
            dense = exact_scores(vectors, sq_norms, q, "dotproduct", picked)
            sp = dot_rows(rows_all, picked, sparse)
        total: FloatArray = dense + sp
        pos = top_candidates(total, k, "dotproduct")
        return picked[pos], total[pos]

    def _dense_search(
        self, q: Vector32, k: int, metric: str, mask: BoolArray, allowed: int, ef: int, n: int
    ) -> tuple[IntArray, FloatArray]:
        """Best candidate rows by the dense vector among the ``allowed`` rows of ``mask``.

        The plan: when few rows are allowed (``EXACT_MAX_WORK`` multiply-adds), or the block has neither
        a graph nor clusters, an exact scan of exactly the allowed rows, keeping ties at the k-th score.
        With a graph: the HNSW search with the allowed rows pushed inside it as a bitmap and ``ef`` raised
        for selective filters. With clusters (and most rows allowed): the allowed rows of the nearest
        clusters, a fraction that grows with ``ef`` and with the filter's selectivity, scored exactly.
        Never a fixed top-k filtered afterwards, so recall holds at any selectivity. ``n``: the rows of
        the snapshot searched (``search``'s ``at``, default: now, with the index lock held).
        """
        if metric != "euclidean" and not q.any():
            return self._zero_query(k, mask, allowed, n)
        vectors, sq_norms = self._vectors[:n], self._sq[:n]  # rows below n are the same in any later array
        rows: IntArray | None = None
        if self.ann is not None and allowed * self.dim > EXACT_MAX_WORK:
            allow = None if allowed == n else mask
            rows = self.ann.search(q, k, filtered_ef(ef, allowed / n), allow)
            exact: FloatArray = exact_scores(vectors, sq_norms, q, metric, rows).astype(np.float64)
            return rows, exact
        if (
            self.clusters is not None
            and allowed * self.dim > EXACT_MAX_WORK
            and allowed >= PROBE_MIN_ALLOWED * n
        ):
            share = allowed / n
            probed = self.clusters.probe(q, PROBE_FRACTION * ef / DEFAULT_EF / share)
            if allowed < n:
                probed = probed[mask[probed]]
            if len(probed) >= k:
                scores = exact_scores(vectors, sq_norms, q, metric, probed)
                pos = top_candidates(scores, k, metric)
                found: FloatArray = scores[pos].astype(np.float64)
                return probed[pos], found
            # (fewer than k allowed rows in the nearest clusters: fall through to the exact scan)
        if allowed < n:
            rows = np.flatnonzero(mask).astype(np.int64)
        scores = exact_scores(vectors, sq_norms, q, metric, rows)
        pos = top_candidates(scores, k, metric)
        best: FloatArray = scores[pos].astype(np.float64)
        return (pos if rows is None else rows[pos]), best

    def _zero_query(self, k: int, mask: BoolArray, allowed: int, n: int) -> tuple[IntArray, FloatArray]:
        """A query vector of zeros under cosine or dotproduct: every allowed row scores 0 (``exact_scores``
        divides by a zero norm as by 1), so every one ties and the tie-break decides: the ``k`` allowed
        rows of smallest id, at score 0. Found here rather than through the graph or the clusters, which
        would rank arbitrary rows among equals (and differently after each compaction). Pinecone answers
        such a query with the filter's matches at score 0, which llama-index's ``get_nodes(filters=...)``
        relies on (``types.validate_query_vector``)."""
        rows = np.arange(n, dtype=np.int64) if allowed == n else np.flatnonzero(mask[:n]).astype(np.int64)
        if len(rows) > k:
            ids = self.ids
            rows = np.array(heapq.nsmallest(k, rows.tolist(), key=ids.__getitem__), dtype=np.int64)
        return rows, np.zeros(len(rows))

    # ------------------------------------------------------------ mutation

    def attach_graph(self, ann: HnswIndex) -> None:
        """Give a segment loaded without its graph the graph read meanwhile (``IndexState._recover``, before
        the open returns, so no query has seen the block). As at construction, a graph that stores its
        rows becomes the block's vectors: one copy in memory."""
        self.ann = ann
        if (view := ann.vectors()) is not None:
            self._vectors = view

    def set_alive(self, alive: BoolArray) -> None:
        """Replace the liveness of all rows (used when a block takes over rows from retired ones), in place:
        only on a block that no query can have a snapshot of yet (``Namespace.install``, before it is
        listed)."""
        self._alive[: self.n] = alive
        self.n_alive = int(alive.sum())
        self.kills = self.kills_saved + (self.n_alive < self.n)

    def reserve(self, need: int, expect: int = 0, entries: int = 0) -> None:
        """Make room for ``need`` rows in all. Growing copies every row, so writers call this before they
        take ``rw`` exclusively: holding only ``write_mu``, nothing else changes this block meanwhile, and
        readers go on with the old arrays, whose rows are the same.

        ``expect``: the rows the block is expected to reach (a memtable: the flush threshold). Past
        ``GROW_STRAIGHT_ROWS`` rows it grows straight to that instead of doubling: a doubling copy of a
        large memtable (50 MB at 32,768 x 384) held ``write_mu`` for 130-270 ms, so every write queued
        behind it. The arrays are allocated, not touched: the memory becomes resident as rows fill it (up to
        ``GROW_STRAIGHT_BYTES`` of vectors, so a huge flush threshold does not reserve absurd amounts).
        ``entries``: sparse entries to make room for beyond those stored."""
        if need > GROW_STRAIGHT_ROWS:
            need = max(need, min(expect, GROW_STRAIGHT_BYTES // (4 * max(self.dim, 1))))
        self._grow(need)
        if entries:
            self._grow_sparse(int(self._sp_indptr[self.n]) + entries)

    def _grow(self, need: int) -> None:
        cap = len(self._alive)
        if need <= cap:
            return
        new_cap = max(need, cap * 2)
        vec = np.empty((new_cap, self.dim), dtype=np.float32)
        vec[: self.n] = self._vectors[: self.n]
        self._vectors = vec
        sq = np.empty(new_cap, dtype=np.float64)
        sq[: self.n] = self._sq[: self.n]
        self._sq = sq
        alive = np.zeros(new_cap, dtype=bool)
        alive[: self.n] = self._alive[: self.n]
        self._alive = alive
        indptr = np.zeros(new_cap + 1, dtype=np.int64)
        indptr[: self.n + 1] = self._sp_indptr[: self.n + 1]
        self._sp_indptr = indptr

    def _grow_sparse(self, need: int) -> None:
        """Room for ``need`` sparse entries in all (doubling: entries are small)."""
        cap = len(self._sp_indices)
        if need <= cap:
            return
        new_cap = max(need, cap * 2, 1024)
        nnz = int(self._sp_indptr[self.n])
        indices = np.empty(new_cap, dtype=np.uint32)
        indices[:nnz] = self._sp_indices[:nnz]
        values = np.empty(new_cap, dtype=np.float32)
        values[:nnz] = self._sp_values[:nnz]
        self._sp_indices, self._sp_values = indices, values

    def append(
        self,
        ids: list[str],
        vectors: Vector32,
        metadata: list[Metadata],
        sparse: SparseRows | None = None,
        analyzed: Mapping[str, list[Analyzed | None]] | None = None,
    ) -> int:
        """Append live rows; returns the first new row number. ``analyzed``: the full-text fields' text
        already analyzed (by the writer, before it took the index lock); analyzed here otherwise."""
        for name, rows in self._text_rows.items():
            given = None if analyzed is None else analyzed.get(name)
            rows.append(given if given is not None else self._analyze(name, metadata))
        start, m = self.n, len(ids)
        self._grow(start + m)
        base = int(self._sp_indptr[start])
        if sparse is not None and sparse.nnz:
            self._grow_sparse(base + sparse.nnz)
            self._sp_indices[base : base + sparse.nnz] = sparse.indices
            self._sp_values[base : base + sparse.nnz] = sparse.values
            self._sp_indptr[start + 1 : start + m + 1] = base + sparse.indptr[1:]
        else:
            self._sp_indptr[start + 1 : start + m + 1] = base
        self._vectors[start : start + m] = vectors
        v64 = vectors.astype(np.float64)
        self._sq[start : start + m] = np.einsum("ij,ij->i", v64, v64)
        self._alive[start : start + m] = True
        assert isinstance(self.metadata, list), "only a memtable grows"
        assert isinstance(self.ids, list), "only a memtable is appended to"
        self.ids.extend(ids)
        self.metadata.extend(metadata)
        self.n += m
        self.n_alive += m
        return start

    def kill(self, rows: Iterable[int]) -> None:
        """Mark rows dead. Copy-on-write: queries search a ``snapshot`` outside the index lock, and the
        ``alive`` array it names must not change under them (a copy per write batch and block, not per row;
        ``Namespace`` batches them)."""
        picked = np.unique(np.fromiter(rows, dtype=np.int64))
        picked = picked[self._alive[picked]]
        if not len(picked):
            return
        alive = self._alive.copy()
        alive[picked] = False
        self._alive = alive
        self.n_alive -= len(picked)
        self.kills += 1

    @property
    def deleted_dirty(self) -> bool:
        """Whether rows died that the persisted deletion bitmap does not include."""
        return self.kills != self.kills_saved

    def live_rows(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        return np.flatnonzero(self.alive).astype(np.int64)
