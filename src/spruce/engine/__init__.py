"""The database engine: indexes, namespaces, the write path and the read path. No HTTP, no JSON wire."""

from spruce.engine.database import Database
from spruce.engine.index import IndexEngine

__all__ = ["Database", "IndexEngine"]
