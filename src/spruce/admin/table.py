"""Plain-text tables and sizes for the operators' commands: aligned columns a person reads at a glance
(numbers right-aligned, with thousands separators), no colours and no box drawing, so that the output
pastes into a ticket or a terminal of any width unchanged."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["count", "size", "table"]

Cell = str | int | None


def count(n: int) -> str:
    return f"{n:,}"


def size(n: int) -> str:
    """Bytes in binary units, one decimal: ``512 B``, ``1.5 KiB``, ``3.2 GiB``."""
    if n < 1024:
        return f"{n} B"
    value = n / 1024
    for unit in ("KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], indent: str = "") -> str:
    """The rows under their headers, two spaces between columns; ints are formatted by ``count`` and
    right-aligned, None shows as ``-``, text is left-aligned."""
    cells = [[_text(c) for c in row] for row in rows]
    right = [any(isinstance(row[i], int) for row in rows) for i in range(len(headers))]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right, strict=True)]
        return (indent + "  ".join(parts)).rstrip()

    return "\n".join([line(headers), *(line(r) for r in cells)])


def _text(cell: Cell) -> str:
    if cell is None:
        return "-"
    return count(cell) if isinstance(cell, int) else cell
