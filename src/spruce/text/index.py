"""A block's full-text index of one field: growing rows (the memtable) and immutable postings.

Two forms, as for sparse vectors:

* ``TextRows`` is row-major and grows: for each row its distinct terms (ids into the block's own
  vocabulary, in order of first appearance), each term's frequency and positions, and the row's length.
  The memtable appends analyzed documents to it under the index lock; readers see rows ``0..n`` of a
  snapshot, which never change afterwards (growing copies arrays into new ones).
* ``TextPostings`` is column-major and immutable: the vocabulary sorted, and for each term the rows that
  hold it (ascending) with the term's frequency and positions there. A segment has one per full-text
  field, written with it; a memtable builds them over a prefix of its rows and over the rest, cached
  (``Block.text_parts``).

A row's length ``dl`` is its number of terms (stop words and dropped long tokens do not count), which
is what BM25's length normalization reads (``spruce.text.search``).

Persisted form (a ``text:<field>`` section of a segment, see ``storage.segment``), little-endian::

    8 bytes   t = terms (uint64)       8 bytes  e = postings (uint64)
    8 bytes   p = positions (uint64)   8 bytes  n = rows (uint64)
    8 bytes   w = bytes of the vocabulary (uint64)
    w         the terms, UTF-8, each followed by a NUL byte, ascending (by code point)
    (t+1)*8   ptr, int64: term i's postings are entries ptr[i] .. ptr[i+1]-1
    e*4       rows, int32, ascending within a term
    e*4       tf, uint32
    (e+1)*8   pos_ptr, int64: entry j's positions are positions[pos_ptr[j] .. pos_ptr[j+1]-1]
    p*4       positions, uint32, ascending within an entry
    n*4       dl, uint32: each row's number of terms (0: the row lacks the field)
"""

from __future__ import annotations

import bisect
import re
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

from spruce.errors import DataCorruptionError
from spruce.types import le_bytes

__all__ = ["Analyzed", "TextPostings", "TextRows", "analyzed_of", "runs"]

IntArray = np.ndarray[Any, np.dtype[np.int64]]
I32Array = np.ndarray[Any, np.dtype[np.int32]]
U32Array = np.ndarray[Any, np.dtype[np.uint32]]

Analyzed = tuple[list[str], list[int]]
"""A field's text analyzed: its terms and their positions (``Analyzer.analyze``)."""

_HEAD = struct.Struct("<QQQQQ")
_SLICE_TERMS = 64
_K1, _B = 1.2, 0.75  # BM25's (``spruce.text.search`` defines them; this module is below it)


def runs(starts: IntArray, lengths: IntArray) -> IntArray:
    """The flat indices of the runs ``starts[i] .. starts[i] + lengths[i] - 1``, concatenated."""
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    out: IntArray = np.arange(total, dtype=np.int64) + np.repeat(starts - (ends - lengths), lengths)
    return out


def analyzed_of(terms: list[str], positions: list[int]) -> tuple[list[str], list[int], list[list[int]]]:
    """A row's distinct terms (first appearance order), each term's frequency and its positions."""
    where: dict[str, list[int]] = {}
    for term, pos in zip(terms, positions, strict=True):
        got = where.get(term)
        if got is None:
            where[term] = [pos]
        else:
            got.append(pos)
    distinct = list(where)
    return distinct, [len(where[t]) for t in distinct], [where[t] for t in distinct]


class _Grow:
    """An append-only numpy array whose prefix never changes: growing copies into a new array, so a
    reader's view of the old one stays valid."""

    def __init__(self, dtype: Any, first: Sequence[int] = ()) -> None:
        self.data = np.zeros(max(16, len(first)), dtype=dtype)
        self.size = len(first)
        self.data[: self.size] = first

    def extend(self, values: Any) -> None:
        values = np.asarray(values, dtype=self.data.dtype)
        need = self.size + len(values)
        if need > len(self.data):
            grown = np.zeros(max(need, 2 * len(self.data)), dtype=self.data.dtype)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : need] = values
        self.size = need


class TextRows:
    """The row-major, growing form (a memtable's), over the block's own vocabulary (insertion order)."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.words: list[str] = []
        self.n = 0
        self._indptr = _Grow(np.int64, [0])
        self._term = _Grow(np.int32)
        self._tf = _Grow(np.uint32)
        self._pos_ptr = _Grow(np.int64, [0])
        self._positions = _Grow(np.uint32)
        self._dl = _Grow(np.uint32)

    def append(self, docs: Sequence[Analyzed | None]) -> None:
        """Add one row per entry (``None``: the row lacks the field). Caller holds the index lock."""
        vocab, words = self.vocab, self.words
        terms: list[int] = []
        tfs: list[int] = []
        positions: list[int] = []
        ends: list[int] = []
        pos_ends: list[int] = []
        dls: list[int] = []
        entries, pos_total = self._term.size, self._positions.size
        for doc in docs:
            if doc is not None and doc[0]:
                distinct, freq, where = analyzed_of(*doc)
                for term, group in zip(distinct, where, strict=True):
                    tid = vocab.get(term)
                    if tid is None:
                        tid = vocab[term] = len(words)
                        words.append(term)
                    terms.append(tid)
                    positions.extend(group)
                    pos_total += len(group)
                    pos_ends.append(pos_total)
                tfs.extend(freq)
                entries += len(distinct)
                dls.append(len(doc[0]))
            else:
                dls.append(0)
            ends.append(entries)
        self._term.extend(terms)
        self._tf.extend(tfs)
        self._positions.extend(positions)
        self._pos_ptr.extend(pos_ends)
        self._dl.extend(dls)
        self._indptr.extend(ends)  # last: a reader that sees the row sees its entries
        self.n += len(docs)

    def postings(self, lo: int, hi: int) -> TextPostings:
        """The postings of rows ``lo .. hi - 1``, numbered from 0 (a reader's prefix or tail)."""
        indptr = self._indptr.data
        e0, e1 = int(indptr[lo]), int(indptr[hi])
        owner = np.repeat(np.arange(hi - lo, dtype=np.int64), np.diff(indptr[lo : hi + 1]))
        return TextPostings.assemble(
            list(self.words[: int(self._term.data[e0:e1].max(initial=-1)) + 1]),
            self._term.data[e0:e1].astype(np.int64),
            owner,
            self._tf.data[e0:e1],
            self._pos_ptr.data[e0 : e1 + 1],
            self._positions.data,
            self._dl.data[lo:hi].copy(),
        )


class TextPostings:
    """The immutable, column-major form over rows ``0 .. n - 1`` (see the module docstring)."""

    def __init__(
        self,
        words: Sequence[str],
        ptr: IntArray,
        rows: I32Array,
        tf: U32Array,
        pos_ptr: IntArray,
        positions: U32Array,
        dl: U32Array,
    ) -> None:
        self.words = words
        self.ptr = ptr
        self.rows = rows
        self.tf = tf
        self.pos_ptr = pos_ptr
        self.positions = positions
        self.dl = dl
        self.n = len(dl)
        self._lookup: dict[str, int] | None = None
        self._totals: tuple[int, int] | None = None
        self._max_sat: tuple[float, dict[int, float]] | None = None

    def totals(self) -> tuple[int, int]:
        """How many rows hold the field (at least one term) and their terms in all: BM25's N and
        avgdl over these rows when all of them are live (computed once: the postings never change)."""
        if self._totals is None:
            self._totals = (int(np.count_nonzero(self.dl)), int(self.dl.sum(dtype=np.int64)))
        return self._totals

    def max_saturation(self, tid: int, avgdl: float) -> float:
        """The largest BM25 term-frequency factor ``tf / (tf + k1 * (1 - b + b * dl / avgdl))`` among
        term ``tid``'s rows, exactly, at this ``avgdl``: kept per term until ``avgdl`` changes (a write
        to the namespace), so a common word's bound is read from its postings once, not per query."""
        cache = self._max_sat
        if cache is None or cache[0] != avgdl:
            cache = self._max_sat = (avgdl, {})
        got = cache[1].get(tid)
        if got is None:
            lo, hi = int(self.ptr[tid]), int(self.ptr[tid + 1])
            tf = self.tf[lo:hi].astype(np.float64)
            dl = self.dl[self.rows[lo:hi]].astype(np.float64)
            got = cache[1][tid] = float((tf / (tf + _K1 * (1.0 - _B + _B * dl / avgdl))).max())
        return got

    def df(self, tid: int) -> int:
        """How many rows hold term ``tid`` (dead ones included)."""
        return int(self.ptr[tid + 1] - self.ptr[tid])

    # ------------------------------------------------------------ building

    @classmethod
    def assemble(
        cls,
        words: list[str],
        term: IntArray,
        owner: IntArray,
        tf: U32Array,
        pos_ptr: IntArray,
        positions: U32Array,
        dl: U32Array,
    ) -> TextPostings:
        """From entries in any term order but rows ascending for each term (row-major input is): ``term``
        indexes ``words`` (any order), ``owner`` is each entry's row, ``pos_ptr`` (entries + 1) locates
        each entry's positions in ``positions``."""
        order_words = sorted(range(len(words)), key=words.__getitem__)
        rank = np.empty(len(words), dtype=np.int64)
        rank[order_words] = np.arange(len(words), dtype=np.int64)
        new_term = rank[term] if len(term) else term
        order = np.argsort(new_term, kind="stable")
        counts = np.bincount(new_term, minlength=len(words)) if len(words) else np.zeros(0, np.int64)
        present = np.flatnonzero(counts)  # terms with postings (a prefix's vocabulary may hold others)
        keep_rank = np.full(len(words), -1, dtype=np.int64)
        keep_rank[present] = np.arange(len(present))
        ptr = np.zeros(len(present) + 1, dtype=np.int64)
        np.cumsum(counts[present], out=ptr[1:])
        starts = pos_ptr[:-1][order]
        lengths = (pos_ptr[1:] - pos_ptr[:-1])[order]
        new_pos_ptr = np.zeros(len(order) + 1, dtype=np.int64)
        np.cumsum(lengths, out=new_pos_ptr[1:])
        sorted_words = [words[order_words[i]] for i in present.tolist()]
        return cls(
            sorted_words,
            ptr,
            owner[order].astype(np.int32),
            np.ascontiguousarray(tf[order], dtype=np.uint32),
            new_pos_ptr,
            np.ascontiguousarray(positions[runs(starts, lengths)], dtype=np.uint32),
            np.ascontiguousarray(dl, dtype=np.uint32),
        )

    @classmethod
    def gather(cls, sources: Sequence[tuple[TextPostings, IntArray]], rows: int) -> TextPostings:
        """The postings of a new block made of other blocks' rows: ``sources`` gives each old index with
        the new row of each of its rows (-1: not taken). Used by flush and compaction; no text is
        analyzed again."""
        words: list[str] = sorted({w for src, _ in sources for w in src.words})
        index = {w: i for i, w in enumerate(words)}
        terms, owners, tfs, ptrs, poss = [], [], [], [], []
        dl = np.zeros(rows, dtype=np.uint32)
        pos_base = 0
        for src, new_row in sources:
            if not len(src.rows):
                continue
            taken = new_row >= 0
            dl[new_row[taken]] = src.dl[taken]
            remap = np.fromiter((index[w] for w in src.words), dtype=np.int64, count=len(src.words))
            entry_term = np.repeat(remap, np.diff(src.ptr))
            owner = new_row[src.rows]
            keep = np.flatnonzero(owner >= 0)
            starts, lengths = src.pos_ptr[keep], src.pos_ptr[keep + 1] - src.pos_ptr[keep]
            terms.append(entry_term[keep])
            owners.append(owner[keep])
            tfs.append(src.tf[keep])
            local = np.zeros(len(keep) + 1, dtype=np.int64)
            np.cumsum(lengths, out=local[1:])
            ptrs.append(local[:-1] + pos_base)
            poss.append(src.positions[runs(starts, lengths)])
            pos_base += int(local[-1])
        if not terms:
            empty = np.zeros(0, dtype=np.int64)
            return cls([], np.zeros(1, np.int64), empty.astype(np.int32), empty.astype(np.uint32),
                       np.zeros(1, np.int64), empty.astype(np.uint32), dl)  # fmt: skip
        term = np.concatenate(terms)
        owner = np.concatenate(owners)
        order = np.lexsort((owner, term))  # by term, then row
        positions = np.concatenate(poss)
        pos_ptr = np.append(np.concatenate(ptrs), pos_base)
        tf = np.concatenate(tfs)
        # assemble expects rows ascending within a term after a stable sort by term: sort first
        starts_all = pos_ptr[:-1][order]
        lengths_all = (pos_ptr[1:] - pos_ptr[:-1])[order]
        local = np.zeros(len(order) + 1, dtype=np.int64)
        np.cumsum(lengths_all, out=local[1:])
        return cls.assemble(
            words,
            term[order],
            owner[order],
            tf[order],
            local,
            positions[runs(starts_all, lengths_all)],
            dl,
        )

    # ------------------------------------------------------------ lookups

    def term_id(self, word: str) -> int:
        """The term's number here, or -1."""
        lookup = self._lookup
        if lookup is None:
            lookup = self._lookup = {w: i for i, w in enumerate(self.words)}
        return lookup.get(word, -1)

    def prefixed(self, prefix: str) -> range:
        """The numbers of the terms starting with ``prefix`` (the vocabulary is sorted)."""
        lo = bisect.bisect_left(self.words, prefix)
        hi = bisect.bisect_left(self.words, prefix + "\U0010ffff", lo)
        return range(lo, hi)

    def matching(self, pattern: re.Pattern[str]) -> list[int]:
        """The numbers of the terms ``pattern`` matches in full."""
        match = pattern.fullmatch
        return [i for i, w in enumerate(self.words) if match(w)]

    def near(self, word: str, distance: int) -> list[int]:
        """The numbers of the terms within ``distance`` edits of ``word`` (transpositions count one)."""
        if distance == 0:
            tid = self.term_id(word)
            return [] if tid < 0 else [tid]
        got = extract(word, self.words, scorer=OSA.distance, score_cutoff=distance, limit=None)
        return sorted(index for _, _, index in got)

    def hits(self, tids: Sequence[int]) -> tuple[IntArray, IntArray, IntArray]:
        """For the terms ``tids``: every posting's row, term frequency and which of ``tids`` it is."""
        if not tids:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        t = np.asarray(tids, dtype=np.int64)
        starts, lengths = self.ptr[t], self.ptr[t + 1] - self.ptr[t]
        which = np.repeat(np.arange(len(t), dtype=np.int64), lengths)
        if len(t) <= _SLICE_TERMS:  # a few terms: their postings are runs, cheaper sliced than gathered
            bounds = list(zip(starts.tolist(), (starts + lengths).tolist(), strict=True))
            rows = np.concatenate([self.rows[a:b] for a, b in bounds]).astype(np.int64)
            return rows, np.concatenate([self.tf[a:b] for a, b in bounds]).astype(np.int64), which
        entries = runs(starts, lengths)
        return self.rows[entries].astype(np.int64), self.tf[entries].astype(np.int64), which

    def term_rows(self, tid: int) -> IntArray:
        """The rows holding term ``tid`` (ascending)."""
        out: IntArray = self.rows[self.ptr[tid] : self.ptr[tid + 1]].astype(np.int64)
        return out

    def phrase(self, tids: Sequence[int], offsets: Sequence[int]) -> tuple[IntArray, IntArray]:
        """Rows where the terms occur at positions ``p + offsets[i]`` for some ``p``, and how often."""
        candidates = self.term_rows(tids[0])
        for tid in tids[1:]:
            candidates = np.intersect1d(candidates, self.term_rows(tid), assume_unique=True)
            if not len(candidates):
                return candidates, candidates
        keys: IntArray | None = None
        for tid, off in zip(tids, offsets, strict=True):
            lo = int(self.ptr[tid])
            at = lo + np.searchsorted(self.rows[lo : int(self.ptr[tid + 1])], candidates)
            starts = self.pos_ptr[at]
            lengths = self.pos_ptr[at + 1] - starts
            pos = self.positions[runs(starts, lengths)].astype(np.int64) - off
            owner = np.repeat(np.arange(len(candidates), dtype=np.int64), lengths)
            mine = (owner << 32) | (pos & 0xFFFFFFFF)
            if len(mine) > 1 and not bool(np.all(mine[1:] > mine[:-1])):  # n-grams repeat a position
                mine = np.unique(mine)
            keys = mine if keys is None else np.intersect1d(keys, mine, assume_unique=True)
            if not len(keys):
                return keys, keys
        assert keys is not None
        owner_of = keys >> 32
        freq = np.bincount(owner_of, minlength=len(candidates))
        found = np.flatnonzero(freq)
        return candidates[found], freq[found].astype(np.int64)

    # ------------------------------------------------------------ persistence

    def to_parts(self) -> list[bytes | memoryview]:
        vocab = b"".join(w.encode() + b"\x00" for w in self.words)
        head = _HEAD.pack(len(self.words), len(self.rows), len(self.positions), self.n, len(vocab))
        return [
            head,
            vocab,
            le_bytes(self.ptr, "<i8"),
            le_bytes(self.rows, "<i4"),
            le_bytes(self.tf, "<u4"),
            le_bytes(self.pos_ptr, "<i8"),
            le_bytes(self.positions, "<u4"),
            le_bytes(self.dl, "<u4"),
        ]

    @classmethod
    def from_buffer(cls, data: memoryview | bytes, rows: int) -> TextPostings:
        buf = memoryview(data)
        t, e, p, n, w = _HEAD.unpack_from(buf, 0)
        if n != rows:
            raise DataCorruptionError(f"full-text index holds {n} rows, its segment {rows}")
        at = _HEAD.size
        words = bytes(buf[at : at + w]).decode().split("\x00")[:-1] if w else []
        at += w

        def take(count: int, dtype: str) -> np.ndarray[Any, Any]:
            nonlocal at
            arr = np.frombuffer(buf, dtype=dtype, count=count, offset=at)
            at += arr.nbytes
            return arr

        ptr = take(t + 1, "<i8")
        out = cls(
            words, ptr, take(e, "<i4"), take(e, "<u4"), take(e + 1, "<i8"), take(p, "<u4"), take(n, "<u4")
        )
        if len(words) != t or at != len(buf) or int(ptr[-1]) != e:
            raise DataCorruptionError("full-text index section is malformed")
        return out
