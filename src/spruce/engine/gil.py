"""A shorter GIL switch interval while background work runs, so that it does not starve queries.

Flush and compaction do part of their work in Python (metadata columns, id lists, the id map). A thread
waiting for the GIL gets it only when the holder is asked to drop it, after the interpreter's switch
interval (5 ms by default), and a query needs the GIL back after every faiss or numpy call that released
it: beside a background thread running Python, a query that takes 0.6 ms alone took 6 ms at the median
and 18 ms at p99 (one thread building metadata columns for 150,000 rows in a loop, 60,000 x 384 indexed;
with a 0.5 ms interval: 1.3 ms and 4.5 ms; ``benchmarks/bench_micro.py gil``). So while any index's
background step runs, the interval is at most ``INTERVAL``; afterwards the previous value is put back,
unless someone else changed it meanwhile.

The switch interval belongs to the whole process, not to spruce: an application that embeds spruce and
tunes it itself (or whose own threads suffer from more frequent switches, each costing a little
throughput) can turn this off with ``set_enabled(False)``; ``responsive()`` then changes nothing. It is on
by default. Turning it off while a background step runs puts the saved interval back at once; turning it
on again shortens it at once if a step is running.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["INTERVAL", "enabled", "responsive", "set_enabled"]

INTERVAL = 0.0005
_mu = threading.Lock()
_active = 0  # background steps inside ``responsive()``, counted whether tuning is enabled or not
_saved = 0.0  # the interval to put back, valid while _active and tuning is enabled
_enabled = True


def enabled() -> bool:
    """Whether background steps shorten the switch interval (``set_enabled``)."""
    return _enabled


def set_enabled(enabled: bool) -> None:
    """Let background steps shorten the process's switch interval (True, the default) or not (False)."""
    global _enabled
    with _mu:
        if enabled == _enabled:
            return
        _enabled = enabled
        if _active:
            if enabled:
                _shorten()
            else:
                _restore()


def _shorten() -> None:
    global _saved
    _saved = sys.getswitchinterval()
    if _saved > INTERVAL:
        sys.setswitchinterval(INTERVAL)


def _restore() -> None:
    if _saved > INTERVAL and sys.getswitchinterval() == INTERVAL:
        sys.setswitchinterval(_saved)


@contextmanager
def responsive() -> Iterator[None]:
    """Run the body with a switch interval of at most ``INTERVAL`` (nested and concurrent uses share it);
    with tuning disabled (``set_enabled(False)``) the interval is left as it is."""
    global _active
    with _mu:
        if _active == 0 and _enabled:
            _shorten()
        _active += 1
    try:
        yield
    finally:
        with _mu:
            _active -= 1
            if _active == 0 and _enabled:
                _restore()
