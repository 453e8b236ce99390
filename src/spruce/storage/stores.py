"""Open a store by where it lives: a local directory (the default) or ``s3://bucket/prefix``.

One function for every face (``spruce serve --data/--store``, ``spruce.Client(path=/store=)``, ``spruce
verify``/``repair``), so a URL means the same thing everywhere.
"""

from __future__ import annotations

import os

from spruce.errors import InvalidArgumentError
from spruce.storage.objectstore import LocalStore, ObjectStore

__all__ = ["is_remote", "open_store"]


def is_remote(where: str | os.PathLike[str]) -> bool:
    return isinstance(where, str) and where.startswith("s3://")


def open_store(
    where: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    cache_bytes: int | None = None,
    lease_seconds: float | None = None,
) -> ObjectStore:
    """The store at ``where``: an ``S3Store`` for an ``s3://`` URL (credentials and endpoint from the
    environment, ``storage.s3store``), else a ``LocalStore`` on the directory (created if missing)."""
    if is_remote(where):
        try:
            from spruce.storage.s3store import DEFAULT_CACHE_BYTES, DEFAULT_LEASE_S, S3Store
        except ImportError as exc:  # obstore is the ``s3`` extra
            raise InvalidArgumentError(
                f"store {where!r}: an s3:// store needs the s3 extra ({exc}): pip install 'spruce[s3]'"
            ) from None

        return S3Store(
            str(where),
            cache_dir=cache_dir,
            cache_bytes=DEFAULT_CACHE_BYTES if cache_bytes is None else cache_bytes,
            lease_seconds=DEFAULT_LEASE_S if lease_seconds is None else lease_seconds,
        )
    return LocalStore(where)
