"""Opaque pagination tokens: base64url of ``v1:`` and the last key returned.

A token names a position ("after this id"), not an offset, so it stays correct while the caller deletes
what it has listed, which is exactly Pinecone's documented list-then-delete loop.
"""

from __future__ import annotations

import base64
import binascii

from spruce.errors import InvalidArgumentError

__all__ = ["decode_token", "encode_token"]

_PREFIX = b"v1:"


def encode_token(last: str) -> str:
    return base64.urlsafe_b64encode(_PREFIX + last.encode("ascii")).decode("ascii").rstrip("=")


def decode_token(token: object, *, field: str = "pagination_token") -> str | None:
    if token is None or token == "":
        return None
    if not isinstance(token, str):
        raise InvalidArgumentError(f"{field} must be a string", field=field)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidArgumentError(f"{field} is not a token spruce issued", field=field) from None
    if not raw.startswith(_PREFIX):
        raise InvalidArgumentError(f"{field} is not a token spruce issued", field=field)
    try:
        return raw[len(_PREFIX) :].decode("ascii")
    except UnicodeDecodeError:
        raise InvalidArgumentError(f"{field} is not a token spruce issued", field=field) from None
