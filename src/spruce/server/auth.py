"""The API-key check, one rule for REST (the ``Api-Key`` header) and gRPC (the ``api-key`` metadata)."""

from __future__ import annotations

import hmac

from spruce.errors import UnauthenticatedError

__all__ = ["check_api_key"]


def check_api_key(expected: bytes | None, given: bytes | None, *, where: str) -> None:
    """Accept anything when no key is configured; else compare in constant time.

    ``where`` names the header or metadata key in the message, so a user sees what to set.
    """
    if expected is None:
        return
    if not given or not hmac.compare_digest(given, expected):
        raise UnauthenticatedError("Invalid API key." if given else f"Missing API key (the {where}).")
