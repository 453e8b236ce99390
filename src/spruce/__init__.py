"""spruce: a durable vector database that speaks Pinecone's API, as a server or embedded in-process."""

from spruce.client import Client, Index
from spruce.errors import (
    AlreadyExistsError,
    ForbiddenError,
    InvalidArgumentError,
    NotFoundError,
    SpruceError,
)

__all__ = [
    "AlreadyExistsError",
    "Client",
    "ForbiddenError",
    "Index",
    "InvalidArgumentError",
    "NotFoundError",
    "SpruceError",
]
__version__ = "0.1.0"
