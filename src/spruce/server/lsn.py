"""The LSN headers of the data plane, for the vectors and the Documents API alike: a write's response says
the LSN it was logged at (``x-pinecone-lsn-committed``), a read's the LSN it reflects
(``x-pinecone-lsn-reconciled``, plus ``x-spruce-stale`` when a shared store could not be reached to sync
first), and a read may carry the client's read barrier (``x-spruce-min-lsn``, ``IndexState.barrier``). The
official SDK copies the first two into ``response_info``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from spruce.api import DataPlane
from spruce.errors import InvalidArgumentError
from spruce.server.http import STALE_HEADER, Request, Response

__all__ = ["committed", "grpc_metadata", "min_lsn", "reading", "reconciled"]


def committed(response: Response, lsn: int) -> Response:
    """A write's response, with the LSN it was logged at (the SDK's ``response_info.lsn_committed``)."""
    response.headers.append((b"x-pinecone-lsn-committed", str(lsn).encode()))
    return response


def reconciled(response: Response, lsn: int, index: DataPlane) -> Response:
    """A read's response, with the LSN the index had applied when the read began, so every write at or
    below it is reflected (the SDK's ``response_info.lsn_reconciled`` and ``is_reconciled``), and, when a
    shared store could not be reached to sync first, ``x-spruce-stale`` saying why."""
    response.headers.append((b"x-pinecone-lsn-reconciled", str(lsn).encode()))
    if (behind := index.behind) is not None:
        response.headers.append((STALE_HEADER, _header_value(behind)))
    return response


def _header_value(text: str) -> bytes:
    """``text`` as a header value: one line of printable ASCII, at most 512 bytes."""
    return " ".join(text.split()).encode("ascii", "replace")[:512]


def reading(index: DataPlane, req: Request) -> AbstractContextManager[int]:
    """A read of ``index`` at the LSN the context yields (``DataPlane.reading``), with the client's
    ``x-spruce-min-lsn`` read barrier if it sent one."""
    return index.reading(min_lsn(req.min_lsn))


def min_lsn(raw: str) -> int | None:
    """The ``x-spruce-min-lsn`` header (REST) or metadata (gRPC): None if absent."""
    raw = raw.strip()
    if raw and not raw.isdigit():
        raise InvalidArgumentError(
            f"x-spruce-min-lsn must be a non-negative integer (an LSN a write returned), got {raw!r}",
            field="x-spruce-min-lsn",
        )
    return int(raw) if raw else None


def grpc_metadata(
    *, committed: int | None = None, reconciled: int | None = None, behind: str | None = None
) -> tuple[tuple[bytes, bytes], ...]:
    """The same headers as gRPC response metadata (the SDK's gRPC client reads none of them; raw gRPC
    clients may)."""
    out = []
    if committed is not None:
        out.append((b"x-pinecone-lsn-committed", str(committed).encode()))
    if reconciled is not None:
        out.append((b"x-pinecone-lsn-reconciled", str(reconciled).encode()))
    if behind is not None:
        out.append((STALE_HEADER, _header_value(behind)))
    return tuple(out)
