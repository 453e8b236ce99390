"""The embedding of the framework suites: deterministic, local, and of no model at all.

The frameworks call an embedding model to turn text into vectors; a real one would be downloaded from a
model hub, which these tests must never do. This one hashes each lower-cased word into one of ``DIM``
slots (with a sign from the same hash) and normalises the sum, so texts sharing words point the same way
and the ranking of a query is known in advance. Pure Python, so each framework's venv can import it
(``langchain_suite.py``, ``llama_suite.py``) with nothing installed for it.
"""

from __future__ import annotations

import hashlib
import math
import re

DIM = 32
_WORD = re.compile(r"[a-z0-9]+")

# (id, text, metadata): what the suites store; every text has words, so no vector is all zeros.
CORPUS: list[tuple[str, str, dict[str, str | int]]] = [
    ("doc-01", "spruce trees grow tall in cold northern forests", {"topic": "trees", "year": 2019}),
    ("doc-02", "pine trees keep their needles through the cold winter", {"topic": "trees", "year": 2021}),
    ("doc-03", "oak trees drop their leaves every autumn", {"topic": "trees", "year": 2023}),
    ("doc-04", "vector databases search embeddings by similarity", {"topic": "databases", "year": 2022}),
    ("doc-05", "a vector database stores embeddings with metadata", {"topic": "databases", "year": 2024}),
    ("doc-06", "relational databases answer queries in sql", {"topic": "databases", "year": 2018}),
    ("doc-07", "cold brew coffee is steeped for many hours", {"topic": "coffee", "year": 2020}),
    ("doc-08", "espresso coffee is pressed through fine grounds", {"topic": "coffee", "year": 2022}),
    ("doc-09", "northern forests of spruce and pine cover the hills", {"topic": "trees", "year": 2024}),
    ("doc-10", "similarity search over embeddings finds related text", {"topic": "databases", "year": 2025}),
]


def embed(text: str, dim: int = DIM) -> list[float]:
    """The unit vector of ``text``: each word adds +-1 to the slot its hash picks."""
    vec = [0.0] * dim
    for word in _WORD.findall(text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        vec[int.from_bytes(digest[:4], "little") % dim] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vec))
    if norm == 0.0:
        raise ValueError(f"no words to embed in {text!r}")  # (a cosine index refuses a record of zeros)
    return [v / norm for v in vec]


def cosine(a: list[float], b: list[float]) -> float:
    """Cosine similarity, to rank independently of the database."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def mmr(query: list[float], candidates: list[list[float]], k: int, lambda_mult: float) -> list[int]:
    """Maximal marginal relevance, written from its definition (not the framework's code): start from the
    candidate nearest the query, then repeatedly take the one maximising
    ``lambda * sim(query, c) - (1 - lambda) * max(sim(c, chosen))``, the first on ties."""
    if not candidates:
        return []
    to_query = [cosine(query, c) for c in candidates]
    chosen = [max(range(len(candidates)), key=lambda i: (to_query[i], -i))]
    while len(chosen) < min(k, len(candidates)):
        best, best_score = -1, -math.inf
        for i, c in enumerate(candidates):
            if i in chosen:
                continue
            redundancy = max(cosine(c, candidates[j]) for j in chosen)
            score = lambda_mult * to_query[i] - (1 - lambda_mult) * redundancy
            if score > best_score:
                best, best_score = i, score
        chosen.append(best)
    return chosen
