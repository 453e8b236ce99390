"""The embedded API: ``spruce.Client(path=...)``, the engine itself, opened on a local directory.

There is no facade to keep in step: ``Client`` is the :class:`~spruce.engine.Database` (the control plane
of :class:`spruce.api.ControlPlane`) and ``Client.Index(name)`` returns the engine's index object (the
data plane of :class:`spruce.api.DataPlane`). Both follow the official SDK 10.x's names, keyword arguments
and result shapes (results read as ``r.matches`` or ``r["matches"]``), so code reads the same against
either; ``tests/unit/test_api_matches_sdk.py`` holds them to the SDK.
"""

from __future__ import annotations

import os
from typing import Unpack

from spruce.engine import Database, IndexEngine, gil
from spruce.engine.tuning import TuningArgs

__all__ = ["Client", "Index"]

Index = IndexEngine


class Client(Database):
    """An embedded spruce database in a local directory (created if missing, locked while open), or, with
    ``store="s3://bucket/prefix"``, in a bucket of an S3-compatible object store (``storage.s3store``).

    ``flush_rows``, ``ann_min_rows`` and the other keywords of :class:`~spruce.engine.Database` are tuning
    knobs (``spruce.engine.tuning``).

    While an index's background work (flush, compaction) runs, spruce lowers the interpreter's GIL switch
    interval (``sys.setswitchinterval``) to 0.5 ms and restores it afterwards, so that queries in other
    threads are not starved by the background thread's Python work (``spruce.engine.gil``). That setting
    is process-wide: an embedder whose own threads are tuned around it can keep it untouched with
    ``tune_gil=False`` (for the whole process, as the setting itself is).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = "./spruce-data",
        *,
        store: str | None = None,
        tune_gil: bool = True,
        **tuning: Unpack[TuningArgs],
    ) -> None:
        gil.set_enabled(tune_gil)
        super().__init__(store if store is not None else path, **tuning)

    @property
    def database(self) -> Database:
        """The engine's database (the client itself; kept for code written against older releases)."""
        return self

    def __enter__(self) -> Client:
        return self
