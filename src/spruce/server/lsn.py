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

__all__ = ["committed", "reading", "reconciled"]


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
        response.headers.append((STALE_HEADER, behind.encode("utf-8", "replace")[:512]))
    return response


def reading(index: DataPlane, req: Request) -> AbstractContextManager[int]:
    """A read of ``index`` at the LSN the context yields (``DataPlane.reading``), with the client's
    ``x-spruce-min-lsn`` read barrier if it sent one."""
    raw = req.min_lsn.strip()
    if raw and not raw.isdigit():
        raise InvalidArgumentError(
            f"x-spruce-min-lsn must be a non-negative integer (an LSN a write returned), got {raw!r}",
            field="x-spruce-min-lsn",
        )
    return index.reading(int(raw) if raw else None)
