"""Server benchmark: upsert throughput and query latency through the official ``pinecone`` SDK.

Starts ``spruce serve`` on a temporary data directory and a free loopback port, generates a *clustered*
data set (a Gaussian mixture of 64 centres, unit-normalised, with metadata), and prints:

* upsert records/s for batches of 100 and 1000 at dimension 384 and 1536 (one client, sequential calls:
  the SDK's own request building is part of what is measured, as a user would see it);
* query latency p50/p99 for top_k 10 without and with a metadata filter (~10 % selective);
* an empty-namespace query p50: the per-request overhead of HTTP + decoding + encoding, through the SDK
  and through a bare keep-alive HTTP client;
* the same SDK query against a do-nothing server (``--null-server``: uvicorn + httptools, the stack spruce
  serves on; see :class:`NullApp`): the floor that the HTTP/JSON round trip alone sets. ``bench_suite.py``
  runs it too, next to ``spruce-server``, for queries, upsert batches and fetches.

``--reads`` runs only a read benchmark on a ``--records`` x 384 store built embedded: one-client p50/p99
and the throughput of ``--clients`` concurrent client processes, for query, filtered query and fetch of
100 ids (the figures behind the server's choice to run short reads on its event loop, see
``spruce.server.app``).

Upserts of 1000 x 1536 floats are far above Pinecone's 2 MB request cap, so the server under test is
started with ``--max-body-bytes 64 MiB``. Usage::

    .venv/bin/python benchmarks/bench_server.py [--records N] [--queries N]
    .venv/bin/python benchmarks/bench_server.py --null-server    # only the do-nothing server, until killed
    .venv-bench/bin/python benchmarks/bench_server.py --reads --records 100000
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

import httpx
import numpy as np
import orjson

warnings.simplefilter("ignore")

from pinecone import Pinecone, ServerlessSpec  # noqa: E402

GENRES = ["drama", "comedy", "documentary", "thriller", "animation"]
READY = "spruce listening on "
NULL_READY = "null server listening on "
JSON_HEADERS = {"Content-Type": "application/json", "Api-Key": "bench"}


@contextmanager
def spruce_server(data_dir: str) -> Iterator[str]:
    cmd = [sys.executable, "-m", "spruce.cli", "serve", "--data", data_dir, "--port", "0"]
    cmd += ["--max-body-bytes", str(64 * 1024 * 1024), "--log-level", "warning"]
    with _serve(cmd, READY) as url:
        yield url


@contextmanager
def _serve(cmd: list[str], ready: str) -> Iterator[str]:
    """Run a server command until the block ends, yielding the URL it prints after ``ready``."""
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        if not line.startswith(ready):
            raise RuntimeError(f"server did not start: {line}{proc.stderr.read()}")
        yield line[len(ready) :].strip()
    finally:
        proc.terminate()
        proc.wait(60)


# A valid top-10 answer (ids and scores only, as a query without includeValues/includeMetadata returns):
# the SDK decodes as much as from a real answer, so the baseline is the whole HTTP/JSON round trip.
NULL_QUERY_BODY = orjson.dumps(
    {
        "matches": [{"id": str(i), "score": 1.0 - i / 64} for i in range(10)],
        "namespace": "",
        "usage": {"readUnits": 1},
    }
)
# How the SDK opens each record of an upsert body, and a metadata object whose first key is "id".
RECORD_START = b'{"id":'
METADATA_ID_FIRST = b'"metadata":{"id":'

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class NullApp:
    """The do-nothing server: reads each request body (as any server must) and answers at once.

    * ``POST .../vectors/upsert``: ``{"upsertedCount": N}``. N is counted on the raw bytes, *not* by
      parsing the JSON: parsing is work spruce must do and a baseline must not, so that "server - bare"
      shows it. SDK 10.2.0 writes compact JSON and opens every record with ``{"id":``; in JSON that byte
      run cannot occur inside a string (quotes are escaped) and Pinecone metadata holds no nested objects,
      so the only other objects starting that way are metadata whose first key is ``id``, which follow
      ``"metadata":``. N = count of the first minus count of the second: two ``bytes.count`` passes over
      the body (~6 ms for an 8 MB batch here, against ~30 ms for ``orjson.loads``). The suite checks the SDK's
      ``upserted_count`` against the batch size, so a miscount fails the run instead of passing silently.
    * ``GET .../vectors/fetch``: a record for every requested id, each with the same ``dim`` float32
      values (a random unit vector, printed as float32 the way spruce prints them) and ``metadata``, so the
      SDK decodes a payload the size of spruce's. The per-record bytes are encoded once; per request only
      the ids are spliced in.
    * anything else (queries): a fixed top-10 query response.
    """

    def __init__(self, dim: int = 384, metadata: dict[str, Any] | None = None) -> None:
        vec = np.random.default_rng(0).normal(size=dim).astype(np.float32)
        vec /= np.linalg.norm(vec)
        tail = b'"values":' + orjson.dumps(vec, option=orjson.OPT_SERIALIZE_NUMPY)
        if metadata:
            tail += b',"metadata":' + orjson.dumps(metadata)
        self._record_tail = tail + b"}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body", False))
        path: str = scope["path"]
        if path.endswith("/vectors/upsert"):
            raw = b"".join(chunks)
            count = raw.count(RECORD_START) - raw.count(METADATA_ID_FIRST)
            body = b'{"upsertedCount":%d}' % count
        elif path.endswith("/vectors/fetch"):
            body = self._fetch(parse_qs(scope.get("query_string", b"").decode("latin-1")))
        else:
            body = NULL_QUERY_BODY
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _fetch(self, query: dict[str, list[str]]) -> bytes:
        ns = orjson.dumps(query.get("namespace", [""])[0])
        records = []
        for rid in query.get("ids", []):
            key = orjson.dumps(rid)
            records.append(key + b':{"id":' + key + b"," + self._record_tail)
        return b'{"vectors":{' + b",".join(records) + b'},"namespace":' + ns + b',"usage":{"readUnits":1}}'


def run_null_server(dim: int, metadata: dict[str, Any] | None) -> None:
    """Serve :class:`NullApp` the way ``spruce serve`` serves (same socket options, uvicorn settings)."""
    import uvicorn

    from spruce.server.run import bind_socket

    sock = bind_socket("127.0.0.1", 0)
    print(f"{NULL_READY}http://127.0.0.1:{sock.getsockname()[1]}", file=sys.stderr, flush=True)
    config = uvicorn.Config(
        NullApp(dim, metadata),
        loop="auto",
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level="warning",
    )
    uvicorn.Server(config).run(sockets=[sock])


@contextmanager
def null_server(dim: int = 384, metadata: dict[str, Any] | None = None) -> Iterator[str]:
    """The do-nothing server in its own process (like spruce's), yielding its URL. ``dim`` and
    ``metadata`` shape its fetch answers."""
    cmd = [sys.executable, os.path.abspath(__file__), "--null-server", "--dim", str(dim)]
    if metadata:
        cmd += ["--metadata", orjson.dumps(metadata).decode()]
    with _serve(cmd, NULL_READY) as url:
        yield url


def clustered(n: int, dim: int, seed: int, centres: int = 64) -> tuple[np.ndarray, list[dict[str, object]]]:
    """A Gaussian mixture: ``centres`` random unit centres, points = centre + noise, re-normalised."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, dim)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    assign = rng.integers(0, centres, size=n)
    x = c[assign] + rng.normal(scale=0.35 / np.sqrt(dim) * 4, size=(n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    meta = [
        {"cluster": int(a), "genre": GENRES[int(rng.integers(0, 5))], "year": int(rng.integers(1990, 2025))}
        for a in assign
    ]
    return np.round(x, 6), meta


def bench_upsert(pc: Pinecone, url: str, dim: int, batch: int, records: int) -> tuple[float, float]:
    """records/s through the SDK, and with pre-encoded bodies over one raw keep-alive connection."""
    name = f"up-{dim}-{batch}"
    pc.create_index(
        name=name, dimension=dim, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1")
    )
    idx = pc.Index(name=name)
    x, meta = clustered(records, dim, seed=dim + batch)
    rows = [{"id": f"r{i}", "values": x[i].tolist(), "metadata": meta[i]} for i in range(records)]
    idx.upsert(vectors=rows[:batch], namespace="warmup")
    t0 = time.perf_counter()
    for start in range(0, records, batch):
        idx.upsert(vectors=rows[start : start + batch])
    sdk = records / (time.perf_counter() - t0)
    assert idx.describe_index_stats().namespaces[""].vector_count == records
    bodies = [
        orjson.dumps({"vectors": rows[start : start + batch], "namespace": "raw"})
        for start in range(0, records, batch)
    ]
    with httpx.Client(base_url=f"{url}/index/{name}", headers=JSON_HEADERS, timeout=120) as raw:
        t0 = time.perf_counter()
        for body in bodies:
            raw.post("/vectors/upsert", content=body).raise_for_status()
        wire = records / (time.perf_counter() - t0)
    pc.delete_index(name)
    return sdk, wire


def latencies(fn: Callable[[], object], n: int) -> tuple[float, float]:
    for _ in range(min(20, n)):
        fn()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def build_store(path: str, n: int, dim: int) -> None:
    """A fully indexed store of ``n`` clustered records (index ``reads``), built embedded: much faster
    than through the server, and the server's ingest is not what the read benchmark measures."""
    import spruce

    x, meta = clustered(n, dim, seed=11)
    with spruce.Client(path) as client:
        client.create_index("reads", dimension=dim, metric="cosine")
        idx = client.Index("reads")
        for s in range(0, n, 1000):
            idx.upsert([(f"r{i}", x[i], meta[i]) for i in range(s, min(s + 1000, n))])
        idx.flush()
        idx.compact()
        while idx.describe_index_stats().unindexed_records:
            time.sleep(0.05)


def _read_client(url: str, kind: str, seconds: float, seed: int, records: int) -> float:
    """One client (its own process and SDK ``Index``): requests of ``kind`` back to back for ``seconds``
    after its setup; returns requests per second."""
    warnings.simplefilter("ignore")
    idx = Pinecone(api_key="bench", host=url).Index(name="reads")
    qs = [q.tolist() for q in clustered(200, 384, seed=seed)[0]]
    rng = np.random.default_rng(seed)
    flt = {"genre": {"$eq": "drama"}, "year": {"$gte": 2012}}
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        if kind == "fetch":
            idx.fetch(ids=[f"r{i}" for i in rng.integers(0, records, 100)])
        else:
            idx.query(vector=qs[n % len(qs)], top_k=10, filter=flt if kind == "filter" else None)
        n += 1
    return n / (time.perf_counter() - t0)


def bench_reads(records: int, queries: int, clients: int, seconds: float) -> None:
    """Read latency (one client) and throughput (``clients`` concurrent client processes) on a
    ``records`` x 384 store: the figures behind how the server dispatches reads (see spruce.server.app).

    Single-client p50 is what the suite measures; the concurrent figure checks that running short reads
    on the event loop does not cost throughput when several clients share the server (2 cores here)."""
    from concurrent.futures import ProcessPoolExecutor

    with tempfile.TemporaryDirectory() as tmp:
        build_store(tmp, records, 384)
        with spruce_server(tmp) as url:
            idx = Pinecone(api_key="bench", host=url).Index(name="reads")
            qs = [q.tolist() for q in clustered(queries, 384, seed=8)[0]]
            it = iter(range(10**9))
            flt = {"genre": {"$eq": "drama"}, "year": {"$gte": 2012}}
            ids = [f"r{i}" for i in range(0, records, records // 100)][:100]
            cases: dict[str, Callable[[], object]] = {
                "query": lambda: idx.query(vector=qs[next(it) % len(qs)], top_k=10),
                "filter": lambda: idx.query(vector=qs[next(it) % len(qs)], top_k=10, filter=flt),
                "fetch": lambda: idx.fetch(ids=ids),
            }
            print(
                f"\nreads ({records} x 384; one client: {queries} requests; {clients} clients: {seconds:g} s)"
            )
            for kind, fn in cases.items():
                p50, p99 = latencies(fn, queries)
                with ProcessPoolExecutor(clients) as ex:
                    jobs = [
                        ex.submit(_read_client, url, kind, seconds, 100 + c, records) for c in range(clients)
                    ]
                    rate = sum(j.result() for j in jobs)
                print(
                    f"  {kind:7s} one client p50 {p50:6.3f} ms  p99 {p99:6.3f} ms   "
                    f"{clients} clients {rate:7,.0f} req/s   (load {os.getloadavg()[0]:.1f})"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=20_000, help="records per upsert run and query index")
    parser.add_argument("--queries", type=int, default=1_000, help="queries per latency figure")
    parser.add_argument("--null-server", action="store_true", help="only run the do-nothing server")
    parser.add_argument(
        "--reads",
        action="store_true",
        help="only the read benchmark: one-client p50/p99 and --clients-client throughput",
    )
    parser.add_argument("--clients", type=int, default=4, help="concurrent client processes for --reads")
    parser.add_argument("--seconds", type=float, default=10, help="seconds per throughput figure (--reads)")
    parser.add_argument("--dim", type=int, default=384, help="--null-server: dimension of fetched vectors")
    parser.add_argument("--metadata", default="", help="--null-server: JSON metadata of fetched records")
    args = parser.parse_args()
    if args.null_server:
        run_null_server(args.dim, orjson.loads(args.metadata) if args.metadata else None)
        return
    print("command:", shlex.join([os.path.relpath(sys.executable), *sys.argv]))
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    if args.reads:
        bench_reads(args.records, args.queries, args.clients, args.seconds)
        return
    with tempfile.TemporaryDirectory() as tmp, spruce_server(tmp) as url:
        pc = Pinecone(api_key="bench", host=url)
        print("\nupsert (one client, sequential, clustered data with 3 metadata fields)")
        for dim in (384, 1536):
            for batch in (100, 1000):
                records = args.records if dim == 384 else args.records // 2
                sdk, wire = bench_upsert(pc, url, dim, batch, records)
                print(
                    f"  dim {dim:5d}  batch {batch:5d}  {records:6d} records  {sdk:8,.0f} records/s via SDK"
                    f"  ({wire:8,.0f} records/s with pre-encoded bodies)"
                )

        dim = 384
        pc.create_index(
            name="q", dimension=dim, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1")
        )
        idx = pc.Index(name="q")
        x, meta = clustered(args.records, dim, seed=7)
        rows = [{"id": f"r{i}", "values": x[i].tolist(), "metadata": meta[i]} for i in range(args.records)]
        for start in range(0, len(rows), 500):
            idx.upsert(vectors=rows[start : start + 500])
        time.sleep(2)  # let the background flush of the fresh segment finish before timing reads
        queries, _ = clustered(args.queries, dim, seed=8)
        qs = [q.tolist() for q in queries]
        it = iter(range(10**9))
        flt = {"genre": {"$eq": "drama"}, "year": {"$gte": 2012}}

        def q_plain() -> object:
            return idx.query(vector=qs[next(it) % len(qs)], top_k=10)

        def q_filtered() -> object:
            return idx.query(vector=qs[next(it) % len(qs)], top_k=10, filter=flt)

        def q_empty() -> object:
            return idx.query(vector=qs[0], top_k=10, namespace="empty")

        print(f"\nquery (top_k 10, dim {dim}, {args.records} records, {args.queries} queries each)")
        for label, fn in (("no filter", q_plain), ("filter ~10%", q_filtered), ("empty namespace", q_empty)):
            p50, p99 = latencies(fn, args.queries)
            print(f"  {label:16s} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   (pinecone SDK 10.2.0)")
        with httpx.Client(base_url=f"{url}/index/q", headers=JSON_HEADERS) as raw:
            body = orjson.dumps({"vector": qs[0], "topK": 10, "namespace": "empty"})
            p50, p99 = latencies(lambda: raw.post("/query", content=body).raise_for_status(), args.queries)
            print(
                f"  {'empty namespace':16s} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   (bare httpx keep-alive)"
            )
    with null_server() as null_url:
        null_idx = Pinecone(api_key="bench", host=null_url).Index(host=null_url)
        p50, p99 = latencies(lambda: null_idx.query(vector=qs[0], top_k=10), args.queries)
        print(f"  {'do-nothing srv':16s} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   (pinecone SDK 10.2.0)")


if __name__ == "__main__":
    main()
