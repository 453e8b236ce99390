"""Who may do an index's background work: a lease, so that among the processes around one store exactly
one flushes, compacts and builds graphs for an index at a time (any of them may write its log).

A local directory is open in one process only (its ``flock``), so that process always holds every lease
(``HeldLease``). A bucket shared by several processes has a lease object per index, renewed by
conditional PUT (``storage.s3store.S3Lease``). Holding a lease is a *right to try*: what a holder writes
becomes visible only through a manifest commit, a ``put_if_absent`` of the next version, which a new
holder takes first when it takes over (``IndexState.take_over``). A holder paused past its lease
therefore finds its next commit refused (it is *fenced*) whatever its clock says; ``held`` only makes it
stop early.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["HeldLease", "Lease"]


class Lease(Protocol):
    @property
    def holder(self) -> str:
        """Who this process is, as written in the lease (``host:pid:token``)."""
        ...

    def held(self) -> bool:
        """Whether this process holds the lease now, with a margin: renewed recently enough that no other
        process can have taken it over."""
        ...

    def try_acquire(self) -> bool:
        """Take the lease if it is free or its holder stopped renewing it; True if this process holds it."""
        ...

    def renew(self) -> bool:
        """Extend a held lease; False (and no longer held) if it was lost."""
        ...

    def release(self) -> None:
        """Give a held lease up, so that another process takes over at once (on close)."""
        ...

    def give_up(self) -> None:
        """Stop counting this process the holder, touching nothing (a commit was fenced: someone else
        holds the lease now)."""
        ...


class HeldLease:
    """The lease of a store that only this process opens: always held."""

    holder = "this process"

    def held(self) -> bool:
        return True

    def try_acquire(self) -> bool:
        return True

    def renew(self) -> bool:
        return True

    def release(self) -> None:
        return None

    def give_up(self) -> None:
        return None
