"""One exception tree for every layer of spruce.

Each class carries the Pinecone error code (the control-plane ``error.code`` string), the gRPC status
number used in data-plane bodies (and by a gRPC face), and the HTTP status the server answers with. This
is the only such table: every layer raises these, the HTTP layer included (an unknown route is a
:class:`NotFoundError`, a wrong method a :class:`MethodNotAllowedError`), and the server only turns them
into response bodies. A bare ``ValueError``/``TypeError`` escaping the engine is
a bug and must surface as a 500, never be disguised as a client error.

Client mistakes map to 4xx statuses that the official SDK does *not* retry (never 408/429/5xx), and to gRPC
codes it does not retry either (never UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED, nor INTERNAL or UNKNOWN);
only faults of the store itself (a failed fsync, a locked or closed store, corruption) use 5xx.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AlreadyExistsError",
    "DataCorruptionError",
    "DeadlineExceededError",
    "DiskFullError",
    "ForbiddenError",
    "InternalError",
    "InvalidArgumentError",
    "MethodNotAllowedError",
    "NewerFormatError",
    "NotFoundError",
    "NotSupportedError",
    "PayloadTooLargeError",
    "SpruceError",
    "StoreClosedError",
    "StoreLockedError",
    "StoreReadOnlyError",
    "StoreUnavailableError",
    "UnauthenticatedError",
    "UnprocessableEntityError",
]


class SpruceError(Exception):
    """Base of every error spruce raises on purpose.

    ``field`` names the request field at fault where there is one, so that a wire layer can point at it.
    """

    code: ClassVar[str] = "UNKNOWN"
    grpc_code: ClassVar[int] = 2
    http_status: ClassVar[int] = 500
    retry_after: ClassVar[int | None] = None  # seconds, for a ``Retry-After`` header (a passing outage)

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class InvalidArgumentError(SpruceError):
    """The request is well-formed but a value breaks a rule or a limit (HTTP 400)."""

    code = "INVALID_ARGUMENT"
    grpc_code = 3
    http_status = 400


class UnprocessableEntityError(SpruceError):
    """The body cannot be decoded at all, or a required field is missing (HTTP 422)."""

    code = "UNPROCESSABLE_ENTITY"
    grpc_code = 3
    http_status = 422


class PayloadTooLargeError(SpruceError):
    """The request body is larger than the configured cap (HTTP 413).

    Its gRPC code is INVALID_ARGUMENT, not RESOURCE_EXHAUSTED: SDK 9.x/10.x gRPC clients retry
    RESOURCE_EXHAUSTED (10.2.0: five times, about 40 s in all), and resending the same oversized batch
    cannot succeed. The REST data-plane body carries the same code, so both faces say one thing."""

    code = "PAYLOAD_TOO_LARGE"
    grpc_code = 3
    http_status = 413


class NotFoundError(SpruceError):
    """An index or namespace that does not exist (HTTP 404)."""

    code = "NOT_FOUND"
    grpc_code = 5
    http_status = 404


class AlreadyExistsError(SpruceError):
    """An index or namespace name that is already taken (HTTP 409)."""

    code = "ALREADY_EXISTS"
    grpc_code = 6
    http_status = 409


class ForbiddenError(SpruceError):
    """The operation is refused by a setting, e.g. deletion protection (HTTP 403)."""

    code = "FORBIDDEN"
    grpc_code = 7
    http_status = 403


class MethodNotAllowedError(SpruceError):
    """A known path asked with a method it does not serve (HTTP 405); ``allowed`` lists the methods it
    does, for the ``Allow`` header."""

    code = "UNIMPLEMENTED"
    grpc_code = 12
    http_status = 405

    def __init__(self, message: str, *, allowed: tuple[str, ...], field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.allowed = allowed


class NotSupportedError(SpruceError):
    """A Pinecone feature spruce does not have yet (HTTP 501), named in the message.

    501 rather than 404 or 400: the route exists in Pinecone's API and the request may be valid; the SDK
    does not retry 501 (only 408, 429, 500, 502, 503 and 504), so the caller sees the message at once."""

    code = "UNIMPLEMENTED"
    grpc_code = 12
    http_status = 501


class InternalError(SpruceError):
    """A bug or an unexpected fault, reported without its details (HTTP 500); the log has them."""

    code = "INTERNAL"
    grpc_code = 13
    http_status = 500


class UnauthenticatedError(SpruceError):
    """Missing or wrong API key (HTTP 401)."""

    code = "UNAUTHENTICATED"
    grpc_code = 16
    http_status = 401


class StoreReadOnlyError(SpruceError):
    """A write failed to become durable (fsync error); the store refuses writes until it is reopened.

    Retrying an fsync after a failure is unsafe (the kernel may have dropped the dirty pages), so the store
    never retries: it stops accepting writes and an operator restarts it, which replays the log from disk.
    """

    code = "UNAVAILABLE"
    grpc_code = 14
    http_status = 503


class StoreClosedError(SpruceError):
    """The store (or index handle) was closed."""

    code = "UNAVAILABLE"
    grpc_code = 14
    http_status = 503


class StoreUnavailableError(SpruceError):
    """The object store (an S3-compatible bucket) could not be reached or refused the request, after the
    client's own retries: nothing of the request was acknowledged. 503, which the SDK retries: the store
    coming back is all it takes."""

    code = "UNAVAILABLE"
    grpc_code = 14
    http_status = 503
    retry_after = 1


class StoreLockedError(SpruceError):
    """Another process holds the data directory open for writing."""

    code = "FAILED_PRECONDITION"
    grpc_code = 9
    http_status = 503


class NewerFormatError(SpruceError):
    """The store holds an object written by a newer spruce, in a format version this one cannot read:
    nothing is read past it and nothing is changed (upgrading spruce is the fix, not a repair)."""

    code = "FAILED_PRECONDITION"
    grpc_code = 9
    http_status = 503


class DataCorruptionError(SpruceError):
    """Stored data that must be whole (a manifest's segment, a catalog) failed its checksum."""

    code = "DATA_LOSS"
    grpc_code = 15
    http_status = 500


class DiskFullError(SpruceError):
    """A write found the disk full (ENOSPC) or the quota used up (EDQUOT): nothing of it was stored.

    HTTP 507 Insufficient Storage, which the SDK does not retry (it retries 408, 429, 500, 502, 503 and
    504): resending cannot help until an operator frees space, and a retry storm would only hide the
    message. For the same reason the gRPC code is FAILED_PRECONDITION, not RESOURCE_EXHAUSTED, which the
    SDK's gRPC clients retry. The store is not poisoned: the next write that fits succeeds."""

    code = "FAILED_PRECONDITION"
    grpc_code = 9
    http_status = 507


class DeadlineExceededError(SpruceError):
    """A request ran past its time budget (``spruce.deadline``) and was stopped, changing nothing.

    HTTP 400, not 504 or 408: the SDK retries those, and the same request would only run out of time
    again, three times over. gRPC DEADLINE_EXCEEDED, which the SDK's gRPC clients do not retry."""

    code = "DEADLINE_EXCEEDED"
    grpc_code = 4
    http_status = 400
