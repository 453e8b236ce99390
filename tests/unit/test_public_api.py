"""The embedded API's public surface is pinned: adding or removing a name is a deliberate change."""

from __future__ import annotations

from pathlib import Path

import spruce


def test_all_is_pinned() -> None:
    assert sorted(spruce.__all__) == [
        "AlreadyExistsError",
        "Client",
        "ForbiddenError",
        "Index",
        "InvalidArgumentError",
        "NotFoundError",
        "SpruceError",
    ]
    for name in spruce.__all__:
        assert hasattr(spruce, name)


def test_readme_quickstart_runs(tmp_path: Path) -> None:
    """The embedded quickstart of the README, as written there."""
    db = spruce.Client(path=tmp_path / "data")
    db.create_index("docs", dimension=4, metric="cosine")
    idx = db.Index("docs")
    idx.upsert([("a", [0.1, 0.2, 0.3, 0.4], {"genre": "documentary", "year": 2019})], namespace="films")
    res = idx.query(
        vector=[0.1, 0.2, 0.3, 0.4],
        top_k=10,
        namespace="films",
        filter={"genre": "documentary"},
        include_metadata=True,
    )
    assert res.matches[0].id == "a" and abs(res.matches[0].score - 1.0) < 1e-6
    idx.delete(filter={"genre": {"$eq": "documentary"}, "year": 2019}, namespace="films")
    assert idx.fetch(["a"], namespace="films").vectors == {}
    db.close()
