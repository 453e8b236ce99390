"""Decoding of the wire shape: JSON bodies, required fields, query parameters, JSON types.

Only the *shape* is checked here. A body that is not JSON, is not an object, or lacks a required field is
422 (Pinecone's ``UNPROCESSABLE_ENTITY``); a field of the wrong JSON type is 400 naming the field. Values
(ids, vectors, limits, filters) are passed through untouched: the engine validates them, so one rule lives
in one place.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from spruce.errors import InvalidArgumentError, UnprocessableEntityError

__all__ = [
    "MISSING",
    "json_object",
    "opt_bool",
    "opt_int_param",
    "opt_object",
    "opt_str",
    "opt_str_param",
    "require",
]


_INT_RE = re.compile(r"^-?[0-9]{1,18}$")


class _Missing:
    """Marks a field that is absent (as opposed to present and ``null``)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def json_object(body: bytes, *, empty_ok: bool = False) -> dict[str, Any]:
    """Decode a request body that must be a JSON object (an empty body is ``{}`` when ``empty_ok``)."""
    if not body.strip():
        if empty_ok:
            return {}
        raise UnprocessableEntityError("The request body is empty; expected a JSON object.", field="body")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise UnprocessableEntityError(f"The request body is not valid JSON: {exc}", field="body") from None
    if not isinstance(value, dict):
        raise UnprocessableEntityError(
            f"The request body must be a JSON object, got a JSON {_json_type(value)}.", field="body"
        )
    return value


def require(obj: dict[str, Any], key: str) -> Any:
    """The value of a required field; absent or ``null`` is 422 naming it."""
    value = obj.get(key)
    if value is None:
        raise UnprocessableEntityError(f"Missing required field '{key}' in the request body.", field=key)
    return value


def opt_bool(obj: dict[str, Any], key: str, default: bool = False) -> bool:
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{key} must be a boolean, got a JSON {_json_type(value)}.", field=key)
    return value


def opt_str(obj: dict[str, Any], key: str, default: str | None = None) -> str | None:
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{key} must be a string, got a JSON {_json_type(value)}.", field=key)
    return value


def opt_object(obj: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidArgumentError(f"{key} must be an object, got a JSON {_json_type(value)}.", field=key)
    return value


def opt_str_param(query: dict[str, list[str]], key: str) -> str | None:
    """The last value of a query parameter, or ``None``."""
    values = query.get(key)
    return values[-1] if values else None


def opt_int_param(query: dict[str, list[str]], key: str) -> int | None:
    """A query parameter that must be a decimal integer."""
    raw = opt_str_param(query, key)
    if raw is None or raw == "":
        return None
    if not _INT_RE.match(raw):
        raise InvalidArgumentError(f"{key} must be an integer, got {raw[:64]!r}.", field=key)
    return int(raw)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
