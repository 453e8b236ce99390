"""A per-request time budget, checked at the points where a request's cost can grow without bound.

The server gives each request a deadline (``spruce serve --request-timeout``, default
``DEFAULT_SECONDS``); the engine calls :func:`check` between units of work whose count the request decides
(each node of a filter, each block a query searches, each page a listing reads), so a pathological request
(a 5,000-clause ``$or``, a filter over millions of rows) fails with ``DeadlineExceededError``
instead of holding a worker and the cores for minutes. A unit of work is never interrupted inside, so a
deadline is overrun by at most one unit (a few milliseconds). Embedded callers have no deadline unless they
use :func:`within` themselves.

The deadline lives in a ``ContextVar``, so each thread (and each asyncio task) has its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from spruce.errors import DeadlineExceededError

__all__ = ["DEFAULT_SECONDS", "check", "within"]

DEFAULT_SECONDS = 30.0
_deadline: ContextVar[tuple[float, float] | None] = ContextVar("spruce_deadline", default=None)


@contextmanager
def within(seconds: float | None) -> Iterator[None]:
    """Run the block under a budget of ``seconds`` (None or <= 0: no budget)."""
    token = _deadline.set((time.monotonic() + seconds, seconds) if seconds and seconds > 0 else None)
    try:
        yield
    finally:
        _deadline.reset(token)


def check() -> None:
    """Raise ``DeadlineExceededError`` if the current budget is spent."""
    current = _deadline.get()
    if current is not None and time.monotonic() > current[0]:
        raise DeadlineExceededError(
            f"the request ran past its deadline of {current[1]:g} s and was stopped; narrow the filter or "
            "lower topK (the server's --request-timeout sets the deadline)"
        )
