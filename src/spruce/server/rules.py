"""Request rules both transports apply the same way, decided on decoded values rather than on a wire.

Kept out of the REST handlers (``spruce.server.data``) and the gRPC service (``spruce.server.grpc``) so
that the two faces cannot drift: where a call runs (on the event loop or in the worker pool, see
:meth:`spruce.server.app.SpruceApp._dispatch` for the measurements behind it) and the refusals that belong
to the wire contract rather than to the engine (the deprecated batch query).
"""

from __future__ import annotations

from spruce.errors import InvalidArgumentError

__all__ = [
    "SHORT_FETCH_IDS",
    "SHORT_TOP_K",
    "refuse_batch_queries",
    "short_fetch",
    "short_query",
    "short_stats",
]

# Reads at most this big run on the event loop: a top-k 100 query or a fetch of 100 records is about a
# millisecond of engine time plus at most ~40 KB to encode.
SHORT_TOP_K = 100
SHORT_FETCH_IDS = 100


def short_query(top_k: object, filter: object) -> bool:
    """A query whose cost is bounded: a small ``top_k`` and no filter. A filter's cost has no such bound
    (a 5,000-clause ``$or`` took 3.4 s), and on the event loop it would stall every other connection."""
    return isinstance(top_k, int) and top_k <= SHORT_TOP_K and filter is None


def short_fetch(id_count: int) -> bool:
    return id_count <= SHORT_FETCH_IDS


def short_stats(filter: object) -> bool:
    """Stats are counters kept up to date, except with a filter: that one scans every record."""
    return filter is None


def refuse_batch_queries(queries: object) -> None:
    """Pinecone's deprecated ``queries`` (several queries in one request) is not served by either face."""
    if queries:
        raise InvalidArgumentError("queries (batch query) is deprecated and not supported.", field="queries")
