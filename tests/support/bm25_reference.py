"""A plain BM25, written from the definition, for tests to compare spruce's scores with.

Lucene's ``BM25Similarity`` (k1 = 1.2, b = 0.75): ``idf = ln(1 + (N - df + 0.5) / (df + 0.5))`` and
``score = sum over query terms of idf * tf / (tf + k1 * (1 - b + b * dl / avgdl))``, over the documents
that hold the field. Text is tokenized as lowercase ASCII words, which is what spruce's analyzer does to
the plain lowercase-word corpora the tests use (no stemming, no stop words).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping

K1 = 1.2
B = 0.75


def terms(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def bm25(texts: Mapping[str, str | None], query: str) -> dict[str, float]:
    """``id -> score`` of every document (``id -> its text in the field``, None: no such field) that
    holds a query term; a repeated query term counts again, as in spruce and Lucene."""
    holders = {rid: terms(t) for rid, t in texts.items() if t and terms(t)}
    n = len(holders)
    if not n:
        return {}
    avgdl = sum(len(t) for t in holders.values()) / n
    counts = {rid: Counter(t) for rid, t in holders.items()}
    out: dict[str, float] = {}
    for term in terms(query):
        df = sum(term in c for c in counts.values())
        if not df:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for rid, c in counts.items():
            tf = c[term]
            if tf:
                norm = K1 * (1 - B + B * len(holders[rid]) / avgdl)
                out[rid] = out.get(rid, 0.0) + idf * tf / (tf + norm)
    return out


def ranked(scores: Mapping[str, float], k: int) -> list[str]:
    """The best ``k`` ids, ties by ascending id."""
    return [rid for rid, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]


def assert_ranked(ids: list[str], scores: Mapping[str, float], k: int, rel: float = 1e-9) -> None:
    """``ids`` is the best ``k`` by ``scores``, in order, up to the order among scores equal within
    ``rel``: two documents tied by the definition (the same length, term counts swapped between terms of
    the same idf) may come out either way once sums are taken in another order, one ulp apart."""
    want = ranked(scores, k)
    assert len(ids) == len(want) and len(set(ids)) == len(ids), (ids, want)
    for got, best in zip(ids, want, strict=True):
        assert got in scores and math.isclose(scores[got], scores[best], rel_tol=rel), (ids, want)
