"""The API-key check, one rule for REST (the ``Api-Key`` header) and gRPC (the ``api-key`` metadata).

Two keys may be configured: the full key (``--api-key``), which may do anything, and a read-only key
(``--read-only-api-key``), which may read (queries, fetches, lists, stats, describes) and gets 403 for any
write or control-plane change. Both are compared in constant time, both always (so the time taken does
not tell which one a guess came close to). No key configured: any key, or none, is accepted.
"""

from __future__ import annotations

import hmac

from spruce.errors import ForbiddenError, UnauthenticatedError

__all__ = ["Keys"]


class Keys:
    def __init__(self, full: str | None, read_only: str | None = None) -> None:
        self.full = full.encode() if full else None
        self.read_only = read_only.encode() if read_only else None

    def role(self, given: bytes | None, *, where: str) -> str:
        """``"full"`` or ``"read"`` for an accepted key; ``UnauthenticatedError`` otherwise."""
        if self.full is None and self.read_only is None:
            return "full"
        if not given:
            raise UnauthenticatedError(f"Missing API key (the {where}).")
        full = self.full is not None and hmac.compare_digest(given, self.full)
        read = self.read_only is not None and hmac.compare_digest(given, self.read_only)
        if full:
            return "full"
        if read:
            return "read"
        raise UnauthenticatedError("Invalid API key.")

    @staticmethod
    def allow(role: str, *, reads: bool, what: str) -> None:
        """Refuse a write (or control-plane change) made with the read-only key."""
        if role == "read" and not reads:
            raise ForbiddenError(
                f"{what} needs the full API key: the key given is read-only (it may query, fetch, list and "
                "describe)",
                field="api-key",
            )
