from __future__ import annotations

from pathlib import Path

import pytest

import spruce


def test_create_list_describe_configure(client: spruce.Client) -> None:
    cfg = client.create_index(
        "docs",
        dimension=4,
        metric="dotproduct",
        tags={"env": "dev"},
        spec={"pod": {"environment": "us-east1-gcp", "pod_type": "p1.x1"}},
    )
    assert (cfg.name, cfg.dimension, cfg.metric, cfg.deletion_protection) == (
        "docs",
        4,
        "dotproduct",
        "disabled",
    )
    assert cfg.spec == {"pod": {"environment": "us-east1-gcp", "pod_type": "p1.x1"}}
    assert [c.name for c in client.list_indexes()] == ["docs"]
    assert client.describe_index("docs") == cfg
    assert client.has_index("docs") and not client.has_index("nope")
    cfg2 = client.configure_index("docs", deletion_protection="enabled", tags={"env": "", "team": "x"})
    assert cfg2.deletion_protection == "enabled"
    assert cfg2.tags == {"team": "x"}


def test_a_handle_on_a_deleted_index_is_dead(client: spruce.Client) -> None:
    client.create_index("docs", dimension=2)
    old = client.Index("docs")
    old.upsert([("a", [1, 0])])
    client.delete_index("docs")
    with pytest.raises(spruce.SpruceError):
        old.fetch(["a"])
    client.create_index("docs", dimension=2)
    with pytest.raises(spruce.SpruceError):
        old.fetch(["a"])  # not even once the name is taken again
    assert client.Index("docs").fetch(["a"]).vectors == {}


def test_catalog_survives_reopen_and_deleted_index_data_is_gone(tmp_path: Path) -> None:
    c = spruce.Client(path=tmp_path, flush_rows=2)
    c.create_index("keep", dimension=2, tags={"a": "b"})
    c.create_index("drop", dimension=2)
    c.Index("drop").upsert([("x", [1, 1]), ("y", [1, 2]), ("z", [2, 1])])
    drop_uid = c.describe_index("drop").uid
    c.delete_index("drop")
    c.close()
    assert not (tmp_path / "indexes" / drop_uid).exists() or not any(
        (tmp_path / "indexes" / drop_uid).rglob("*.*")
    )
    c = spruce.Client(path=tmp_path)
    assert [i.name for i in c.list_indexes()] == ["keep"]
    assert c.describe_index("keep").tags == {"a": "b"}
    c.close()


def test_the_sdks_spec_objects_are_read_by_their_attributes(client: spruce.Client) -> None:
    from pinecone import PodSpec, ServerlessSpec

    serverless = client.create_index("s", spec=ServerlessSpec(cloud="gcp", region="us-central1"), dimension=2)
    assert serverless.spec == {"serverless": {"cloud": "gcp", "region": "us-central1"}}
    pod = client.create_index("p", spec=PodSpec(environment="us-east-1-aws", pod_type="p1.x2"), dimension=2)
    assert pod.spec["pod"]["environment"] == "us-east-1-aws" and pod.spec["pod"]["pod_type"] == "p1.x2"
    assert client.list_indexes().names() == ["s", "p"]
