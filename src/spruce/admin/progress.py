"""Progress bars for long operator commands (``spruce verify``, ``spruce compact``), drawn on stderr and
only when stderr is a terminal (tqdm's ``disable=None``): a log file, a pipe or a test's captured output
gets the command's report and nothing else."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from tqdm import tqdm  # type: ignore[import-untyped]  # (tqdm ships no type information)

__all__ = ["Progress"]

DELAY_S = 0.5  # a bar shows only for work that takes longer (a quick command prints its report alone)


class Progress:
    """One bar: ``advance`` by a step, or ``reach`` an absolute position (a count read back from the
    engine, which only grows here). ``total`` None draws a counter with a rate instead of a bar."""

    def __init__(self, desc: str, unit: str, total: int | None = None, stream: TextIO | None = None) -> None:
        self._bar: Any = tqdm(
            total=total,
            desc=desc,
            unit=unit,
            file=stream or sys.stderr,
            disable=None,
            dynamic_ncols=True,
            leave=False,
            delay=DELAY_S,
        )

    def advance(self, n: int = 1) -> None:
        self._bar.update(n)

    def reach(self, n: int) -> None:
        if n > self._bar.n:
            self._bar.update(n - self._bar.n)

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
