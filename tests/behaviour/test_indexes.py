"""Index operations on every face (``conftest.Face``): create, describe, list, has, configure (tags and
deletion protection), delete, and their errors. Wire shapes of the index model per API version stay in
``tests/integration/`` (test_sdk_control.py, test_http_wire.py)."""

from __future__ import annotations

import itertools

from faces import SPEC, Face

_names = itertools.count()


def _name() -> str:
    return f"ix-{next(_names)}"


def test_create_describe_list_has(face: Face) -> None:
    name = _name()
    face.client.create_index(name=name, dimension=8, metric="dotproduct", spec=SPEC, tags={"env": "test"})
    desc = face.client.describe_index(name)
    assert (desc.name, desc.dimension, desc.metric) == (name, 8, "dotproduct")
    assert desc.deletion_protection == "disabled" and dict(desc.tags or {}) == {"env": "test"}
    assert name in face.client.list_indexes().names()
    assert face.client.has_index(name) and not face.client.has_index("ix-missing")


def test_create_conflicts_and_invalid_arguments(face: Face) -> None:
    name = _name()
    face.client.create_index(name=name, dimension=4, spec=SPEC)
    with face.rejects(409):
        face.client.create_index(name=name, dimension=4, spec=SPEC)
    with face.rejects(400, "dimension"):
        face.client.create_index(name=_name(), dimension=20_001, spec=SPEC)
    with face.rejects(400, "metric"):
        face.client.create_index(name=_name(), dimension=2, metric="manhattan", spec=SPEC)
    with face.rejects(400, "name|lower-case"):
        face.client.create_index(name="Bad_Name", dimension=2, spec=SPEC)
    assert "Bad_Name" not in face.client.list_indexes().names()


def test_configure_tags_and_deletion_protection(face: Face) -> None:
    name = _name()
    face.client.create_index(name=name, dimension=4, spec=SPEC, tags={"a": "1", "b": "2"})
    face.client.Index(name=name).upsert(vectors=[("r", [1.0, 0.0, 0.0, 0.0])])
    face.client.configure_index(name, deletion_protection="enabled", tags={"b": "", "c": "3"})
    desc = face.client.describe_index(name)
    assert desc.deletion_protection == "enabled" and dict(desc.tags or {}) == {"a": "1", "c": "3"}
    with face.rejects(403, "Deletion protection"):
        face.client.delete_index(name)
    assert face.client.Index(name=name).describe_index_stats().total_vector_count == 1
    face.client.configure_index(name, deletion_protection="disabled")
    face.client.delete_index(name)
    assert not face.client.has_index(name)


def test_configure_refuses_what_it_cannot_honour(face: Face) -> None:
    """Pod settings on a serverless index are a 400 naming the field, not a 202 that changes nothing; the
    index is as it was."""
    name = _name()
    face.client.create_index(name=name, dimension=4, spec=SPEC, tags={"a": "1"})
    with face.rejects(400, "pod_type"):
        face.client.configure_index(name, pod_type="p1.x2")
    with face.rejects(400, "replicas"):
        face.client.configure_index(name, replicas=2)
    desc = face.client.describe_index(name)
    assert desc.deletion_protection == "disabled" and dict(desc.tags or {}) == {"a": "1"}
    face.client.delete_index(name)


def test_unknown_index(face: Face) -> None:
    with face.rejects(404, "not found"):
        face.client.describe_index("ix-nope")
    with face.rejects(404):
        face.client.delete_index("ix-nope")
    with face.rejects(404):
        face.client.configure_index("ix-nope", deletion_protection="enabled")
    with face.rejects(404):
        face.client.Index(name="ix-nope")


def test_delete_and_recreate_starts_empty(face: Face) -> None:
    name = _name()
    face.client.create_index(name=name, dimension=2, spec=SPEC)
    idx = face.client.Index(name=name)
    idx.upsert(vectors=[("a", [1.0, 0.0]), ("b", [0.0, 1.0])])
    assert idx.describe_index_stats().total_vector_count == 2
    face.client.delete_index(name)
    face.client.create_index(name=name, dimension=3, spec=SPEC)
    again = face.client.Index(name=name)
    stats = again.describe_index_stats()
    assert stats.total_vector_count == 0 and stats.dimension == 3
    assert again.fetch(ids=["a", "b"]).vectors == {}
