"""Keeping damaged objects aside instead of deleting them.

Recovery may cut exactly one kind of object, the bad last log entry (``storage.log``), and a repair may
replace a damaged catalog (``engine.repair``). Neither deletes: the bytes are first copied to
``quarantine/<original key>.<n>`` (``n`` = 1, 2, ... so that a key cut twice keeps both), a prefix that no
garbage collection ever lists, and only then is the original removed. An operator can inspect them and
delete the directory when satisfied.
"""

from __future__ import annotations

from spruce.storage.objectstore import ObjectStore

__all__ = ["PREFIX", "VERIFY_HINT", "keep_aside"]

PREFIX = "quarantine/"
VERIFY_HINT = "Run `spruce verify --data DIR` to list every damaged object."


def keep_aside(store: ObjectStore, key: str, data: bytes) -> str:
    """Copy ``data`` (the bytes of ``key``) under ``quarantine/``, then remove ``key``; the new key."""
    n = 1
    while not store.put_if_absent(f"{PREFIX}{key}.{n}", data):
        n += 1
    store.delete(key)
    return f"{PREFIX}{key}.{n}"
