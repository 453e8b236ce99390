"""A shorter GIL switch interval while background work runs, so that it does not starve queries.

Flush and compaction do part of their work in Python (metadata columns, id lists, the id map). A thread
waiting for the GIL gets it only when the holder is asked to drop it, after the interpreter's switch
interval (5 ms by default), and a query needs the GIL back after every faiss or numpy call that released
it: beside a background thread running Python, a query that takes 0.6 ms alone took 6 ms at the median
and 18 ms at p99 (one thread building metadata columns for 150,000 rows in a loop, 60,000 x 384 indexed;
with a 0.5 ms interval: 1.3 ms and 4.5 ms; ``benchmarks/bench_micro.py gil``). So while any index's
background step runs, the interval is at most ``INTERVAL``; afterwards the previous value is put back,
unless someone else changed it meanwhile.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["INTERVAL", "responsive"]

INTERVAL = 0.0005
_mu = threading.Lock()
_active = 0
_saved = 0.0


@contextmanager
def responsive() -> Iterator[None]:
    """Run the body with a switch interval of at most ``INTERVAL`` (nested and concurrent uses share it)."""
    global _active, _saved
    with _mu:
        if _active == 0:
            _saved = sys.getswitchinterval()
            if _saved > INTERVAL:
                sys.setswitchinterval(INTERVAL)
        _active += 1
    try:
        yield
    finally:
        with _mu:
            _active -= 1
            if _active == 0 and _saved > INTERVAL and sys.getswitchinterval() == INTERVAL:
                sys.setswitchinterval(_saved)
