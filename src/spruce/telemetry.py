"""Process-wide measurements for ``GET /metrics`` (Prometheus text format, ``prometheus-client``).

A leaf module: storage, engine and server import it, it imports none of them, so dependencies keep
pointing one way. What is measured where it happens lives here, as metric objects on one registry of
spruce's own (not prometheus-client's global one, so a process embedding spruce beside other
instrumented code gets no name clashes):

- ``REQUESTS`` and ``REQUEST_SECONDS``: every REST request, by route (the operation id of
  ``server.routing``, a bounded set: an unknown path counts as ``unmatched``) and status; gRPC calls by
  method. Observed by ``server.app`` / ``server.grpc``.
- ``FSYNC_SECONDS``: every fsync of a local store (``storage.objectstore``), the floor of a write's
  acknowledgement.
- ``STORE_SECONDS`` and ``STORE_ERRORS``: each request to an object store (``storage.s3store``), by
  operation; errors of any store by kind.
- ``CACHE_LOOKUPS``: the local cache of a bucket, hits and misses (a miss is a download).

What describes an index (records, namespaces, unindexed records, unflushed log, segments, flushes and
compactions) is read at scrape time from the engine (``server.metrics``), so a deleted index leaves no
stale series behind.

Each observation costs about a microsecond (a lock and an add); none is on a path where that shows.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = [
    "CACHE_LOOKUPS",
    "FSYNC_SECONDS",
    "REGISTRY",
    "REQUESTS",
    "REQUEST_SECONDS",
    "STORE_ERRORS",
    "STORE_SECONDS",
]

REGISTRY = CollectorRegistry(auto_describe=True)

# from 100 us (a loopback request served from memory) to 30 s (a request timeout)
_LATENCY = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
)

REQUESTS = Counter(
    "spruce_requests",
    "Requests answered, by route (REST operation id or gRPC method), method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "spruce_request_duration_seconds",
    "Time from a request's arrival to its answer, by route.",
    ["route"],
    buckets=_LATENCY,
    registry=REGISTRY,
)
FSYNC_SECONDS = Histogram(
    "spruce_fsync_duration_seconds",
    "Each fsync (or fdatasync) of a local store: files and directories.",
    buckets=_LATENCY,
    registry=REGISTRY,
)
STORE_SECONDS = Histogram(
    "spruce_object_store_request_duration_seconds",
    "Each request to the object store of a bucket, by operation (put, get, head, list, delete).",
    ["op"],
    buckets=_LATENCY,
    registry=REGISTRY,
)
STORE_ERRORS = Counter(
    "spruce_store_errors",
    "Store operations that failed (fsync, full disk, object store unreachable or refusing), by kind.",
    ["kind"],
    registry=REGISTRY,
)
CACHE_LOOKUPS = Counter(
    "spruce_cache_lookups",
    "Reads of a bucket's objects through the local cache: hit (already on disk) or miss (downloaded).",
    ["result"],
    registry=REGISTRY,
)
