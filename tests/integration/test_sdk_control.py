"""The control plane through the official SDK 10.2.0 (API 2026-07): the 2026-07 index model's own fields
(host, deployment, schema, read capacity). The operations themselves run on both faces in
``tests/behaviour/test_indexes.py``."""

from __future__ import annotations

from pinecone import Pinecone, PodSpec, ServerlessSpec

SPEC = ServerlessSpec(cloud="aws", region="us-east-1")


def test_create_describe_list(pc: Pinecone, server) -> None:  # type: ignore[no-untyped-def]
    created = pc.create_index(name="ctl-a", dimension=8, metric="dotproduct", spec=SPEC, tags={"env": "test"})
    assert created.name == "ctl-a"
    assert created.host.startswith("http://127.0.0.1:") and created.host != server.url  # its own port
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


def test_new_surface_indexes_api(pc: Pinecone) -> None:
    """10.x's ``pc.indexes.*`` surface reads the same 2026-07 model."""
    pc.create_index(name="ctl-new", dimension=5, spec=SPEC)
    model = pc.indexes.describe("ctl-new")
    assert model.schema.fields["_values"].dimension == 5
    assert type(model.read_capacity).__name__ == "ReadCapacityOnDemandResponse"
    assert "ctl-new" in [m.name for m in pc.indexes.list()]


def test_configure_refuses_what_it_cannot_honour(pc: Pinecone, server) -> None:  # type: ignore[no-untyped-def]
    """A dimension, pod settings on a serverless index, embed, or an unknown key: a 400 naming the field,
    and nothing changes (never a silent 202)."""
    import httpx

    pc.create_index(name="ctl-cfg", dimension=4, spec=SPEC)
    headers = {"Api-Key": "k", "X-Pinecone-Api-Version": "2025-04"}
    cases = [
        ({"dimension": 8}, "dimension"),
        ({"spec": {"pod": {"replicas": 2}}}, "replicas"),
        ({"spec": {"pod": {"pod_type": "p1.x2"}}}, "pod_type"),
        ({"embed": {"model": "m"}}, "embed"),
        ({"colour": "red"}, "colour"),
    ]
    for body, field in cases:
        r = httpx.patch(f"{server.url}/indexes/ctl-cfg", json=body, headers=headers)
        assert r.status_code == 400, (body, r.text)
        assert field in r.json()["error"]["message"], (body, r.text)
    desc = pc.describe_index("ctl-cfg")
    assert desc.dimension == 4 and desc.deletion_protection == "disabled"
