"""The control plane through the official SDK 10.2.0 (API 2026-07): create, describe, list, configure."""

from __future__ import annotations

import pytest
from pinecone import Pinecone, PodSpec, ServerlessSpec
from pinecone.errors import ApiError, ConflictError, ForbiddenError, NotFoundError

SPEC = ServerlessSpec(cloud="aws", region="us-east-1")


def test_create_describe_list(pc: Pinecone, server) -> None:  # type: ignore[no-untyped-def]
    created = pc.create_index(name="ctl-a", dimension=8, metric="dotproduct", spec=SPEC, tags={"env": "test"})
    assert created.name == "ctl-a"
    assert created.host == f"{server.url}/index/ctl-a"
    desc = pc.describe_index("ctl-a")
    assert (desc.dimension, desc.metric, desc.vector_type) == (8, "dotproduct", "dense")
    assert desc.status.ready is True
    assert desc.deletion_protection == "disabled"
    assert desc.deployment.cloud == "aws" and desc.deployment.region == "us-east-1"
    assert dict(desc.tags) == {"env": "test"}
    assert "ctl-a" in pc.list_indexes().names()
    assert pc.has_index("ctl-a") and not pc.has_index("ctl-missing")


def test_create_pod_spec_and_euclidean(pc: Pinecone) -> None:
    spec = PodSpec(environment="us-east-1-aws", pod_type="p1.x1", replicas=1, shards=1)
    pc.create_index(name="ctl-pod", dimension=3, metric="euclidean", spec=spec)
    desc = pc.describe_index("ctl-pod")
    assert desc.metric == "euclidean"
    assert type(desc.deployment).__name__ == "PodDeployment"
    assert desc.deployment.environment == "us-east-1-aws"


def test_create_conflict_and_invalid(pc: Pinecone) -> None:
    pc.create_index(name="ctl-dup", dimension=4, spec=SPEC)
    with pytest.raises(ConflictError):
        pc.create_index(name="ctl-dup", dimension=4, spec=SPEC)
    with pytest.raises(ApiError) as info:
        pc.create_index(name="ctl-big", dimension=20_001, spec=SPEC)
    assert info.value.status_code == 400 and "dimension" in str(info.value)


def test_configure_tags_and_protection(pc: Pinecone) -> None:
    pc.create_index(name="ctl-cfg", dimension=4, spec=SPEC, tags={"a": "1", "b": "2"})
    pc.configure_index("ctl-cfg", deletion_protection="enabled", tags={"b": "", "c": "3"})
    desc = pc.describe_index("ctl-cfg")
    assert desc.deletion_protection == "enabled"
    assert dict(desc.tags) == {"a": "1", "c": "3"}
    with pytest.raises(ForbiddenError):
        pc.delete_index("ctl-cfg")
    assert pc.has_index("ctl-cfg")
    pc.configure_index("ctl-cfg", deletion_protection="disabled")
    pc.delete_index("ctl-cfg")
    assert not pc.has_index("ctl-cfg")


def test_unknown_index(pc: Pinecone) -> None:
    with pytest.raises(NotFoundError):
        pc.describe_index("ctl-nope")
    with pytest.raises(NotFoundError):
        pc.delete_index("ctl-nope")
    with pytest.raises(NotFoundError):
        pc.configure_index("ctl-nope", deletion_protection="enabled")
    with pytest.raises(NotFoundError):
        pc.Index(name="ctl-nope")


def test_delete_and_recreate_starts_empty(pc: Pinecone) -> None:
    pc.create_index(name="ctl-re", dimension=2, spec=SPEC)
    idx = pc.Index(name="ctl-re")
    idx.upsert(vectors=[("a", [1.0, 0.0]), ("b", [0.0, 1.0])])
    assert idx.describe_index_stats().total_vector_count == 2
    pc.delete_index("ctl-re")
    pc.create_index(name="ctl-re", dimension=3, spec=SPEC)
    again = Pinecone(api_key="x", host=pc.config.host).Index(name="ctl-re")
    stats = again.describe_index_stats()
    assert stats.total_vector_count == 0 and stats.dimension == 3
    assert again.fetch(ids=["a", "b"]).vectors == {}


def test_new_surface_indexes_api(pc: Pinecone) -> None:
    """10.x's ``pc.indexes.*`` surface reads the same 2026-07 model."""
    pc.create_index(name="ctl-new", dimension=5, spec=SPEC)
    model = pc.indexes.describe("ctl-new")
    assert model.schema.fields["_values"].dimension == 5
    assert type(model.read_capacity).__name__ == "ReadCapacityOnDemandResponse"
    assert "ctl-new" in [m.name for m in pc.indexes.list()]
