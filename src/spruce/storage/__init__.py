"""Durability: the object store, the log, segments and manifests. Knows bytes, nothing of search."""
