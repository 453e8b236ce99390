"""Every slot of a JSON-like value, for fuzz tests that put junk into one of them."""

from __future__ import annotations

from typing import Any


def slots(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) slot inside ``value``, to put junk into."""
    out: list[tuple[Any, Any]] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            out += [(node, key) for key in node]
            stack += list(node.values())
        elif isinstance(node, list):
            out += [(node, index) for index in range(len(node))]
            stack += node
    return out
