"""Open an existing store for an operator's command, or say in one line why not.

A command that reads or rewrites a store must never create one: a typo in ``--data`` would otherwise leave
an empty store (a ``LOCK`` and a ``.tmp/``) wherever it pointed and report "0 indexes". So the directory
must exist and hold a store already.

A local directory is open in one process at a time (``storage.objectstore``: its ``LOCK`` is an
``flock``). There is no read-only open beside a running server: opening replays the log into memory,
and the engine keeps no second reader's view of a directory another process is changing. So a command
on a directory a server holds is refused, naming the cause and what to do instead (stop the server; the
live numbers of ``spruce stats`` are ``GET /index/<name>/spruce/storage`` on the server). A bucket has no
store-wide lock: any number of processes open it, and ``spruce compact`` checks each index's lease
instead (``admin.compact``).
"""

from __future__ import annotations

from pathlib import Path

from spruce.engine import Database
from spruce.errors import SpruceError, StoreLockedError
from spruce.storage.objectstore import ObjectStore
from spruce.storage.stores import is_remote, open_store

__all__ = ["AdminError", "open_database", "open_existing_store", "store_bytes"]

# what any store holds once opened (``LOCK``), or once it has data (the catalog, the indexes' objects)
_STORE_MARKS = ("LOCK", "catalog", "indexes")


class AdminError(Exception):
    """A failure the operator can act on: the command prints it as one line and exits with status 2."""


def open_existing_store(
    data: str, store: str | None = None, cache: str | None = None, *, busy: str = ""
) -> ObjectStore:
    """The store at ``--store`` (a bucket) if given, else the ``--data`` directory, which must exist and
    hold a store. ``busy``: what to add to the refusal when another process holds the directory."""
    if store is not None:
        if not is_remote(store):
            raise AdminError(
                f"--store {store!r}: expected s3://bucket[/prefix] (a local directory is --data)"
            )
        where = store
    else:
        where = data
        path = Path(data)
        if not path.exists():
            raise AdminError(f"{data}: no such directory (--data names an existing store)")
        if not path.is_dir():
            raise AdminError(f"{data} is not a directory")
        if not any((path / mark).exists() for mark in _STORE_MARKS):
            raise AdminError(f"{data} holds no spruce store (no catalog/, indexes/ or LOCK)")
        if cache is not None:
            raise AdminError("--cache applies to --store (a bucket) only")
    try:
        return open_store(where, cache_dir=cache)
    except StoreLockedError:
        raise AdminError(
            f"{where} is in use by another process (a running `spruce serve`, or a program with "
            f"spruce.Client open on it, holds its LOCK): stop it first{busy}"
        ) from None
    except SpruceError as exc:
        raise AdminError(f"cannot open {where}: {exc}") from None
    except OSError as exc:
        raise AdminError(f"cannot open {where}: {exc.strerror or exc}") from None


def open_database(store: ObjectStore) -> Database:
    """The engine on ``store`` with no background threads (``Database(background=False)``): nothing is
    flushed or compacted behind the command's back, so what it reports is what it found, and what it
    does is what it says. The store is closed if the open fails."""
    try:
        return Database(store, background=False)
    except SpruceError as exc:
        store.close()
        raise AdminError(f"cannot open the store: {exc}") from None
    except BaseException:
        store.close()
        raise


def store_bytes(store: ObjectStore) -> int | None:
    """Bytes the store takes on this machine's disk: every file under a local directory (catalog, logs,
    segments, graphs); None for a bucket (its cache is counted per index, ``IndexStorage.local_bytes``)."""
    root = getattr(store, "root", None)
    if store.shared or not isinstance(root, Path):
        return None
    total = 0
    for path in root.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:  # (removed meanwhile)
            continue
    return total
