from __future__ import annotations

import numpy as np
import pytest

from spruce import limits
from spruce.errors import InvalidArgumentError
from spruce.types import (
    validate_batch,
    validate_id,
    validate_ids,
    validate_index_name,
    validate_metadata,
    validate_namespace,
    validate_tags,
    validate_top_k,
    validate_values,
)


def test_id_rules() -> None:
    assert validate_id("a" * limits.ID_MAX_LEN) == "a" * limits.ID_MAX_LEN
    with pytest.raises(InvalidArgumentError, match="1 to 512"):
        validate_id("a" * (limits.ID_MAX_LEN + 1))
    with pytest.raises(InvalidArgumentError, match="1 to 512"):
        validate_id("")
    with pytest.raises(InvalidArgumentError, match="ASCII"):
        validate_id("é")
    with pytest.raises(InvalidArgumentError, match="string"):
        validate_id(5)


def test_ids_limit_names_the_limit() -> None:
    with pytest.raises(InvalidArgumentError, match="at most 1000 ids"):
        validate_ids([str(i) for i in range(1001)])
    with pytest.raises(InvalidArgumentError, match="list"):
        validate_ids("abc")


def test_namespace_default_alias() -> None:
    assert validate_namespace("__default__") == ""
    assert validate_namespace(None) == ""
    with pytest.raises(InvalidArgumentError, match="512"):
        validate_namespace("n" * 513)


def test_values() -> None:
    out = validate_values([1, 2.5, 3], 3, "cosine")
    assert out.dtype == np.float32
    with pytest.raises(InvalidArgumentError, match="dimension 2, but the index has dimension 3"):
        validate_values([1, 2], 3, "cosine")
    with pytest.raises(InvalidArgumentError, match="finite"):
        validate_values([1, float("nan"), 3], 3, "cosine")
    with pytest.raises(InvalidArgumentError, match="finite"):
        validate_values([1e39, 0, 0], 3, "dotproduct")  # overflows float32
    with pytest.raises(InvalidArgumentError, match="non-zero"):
        validate_values([0, 0, 0], 3, "cosine")
    assert validate_values([0, 0, 0], 3, "euclidean").tolist() == [0, 0, 0]
    with pytest.raises(InvalidArgumentError, match="only numbers"):
        validate_values([1, "2", 3], 3, "cosine")
    with pytest.raises(InvalidArgumentError, match="only numbers"):
        validate_values([True, 0, 1], 3, "cosine")


def test_metadata_rules() -> None:
    assert validate_metadata({"a": 1, "b": None, "c": ["x"], "d": True, "e": "s"}) == {
        "a": 1.0,
        "c": ["x"],
        "d": True,
        "e": "s",
    }
    with pytest.raises(InvalidArgumentError, match="only contain strings"):
        validate_metadata({"a": [1, 2]})
    with pytest.raises(InvalidArgumentError, match=r"metadata\.a has type dict"):
        validate_metadata({"a": {"nested": 1}})
    with pytest.raises(InvalidArgumentError, match="40960 bytes"):
        validate_metadata({"big": "x" * limits.METADATA_MAX_BYTES})
    with pytest.raises(InvalidArgumentError, match="object"):
        validate_metadata([1])


def test_batch_is_all_or_nothing_and_names_the_record() -> None:
    good = ("a", [1.0, 0.0])
    with pytest.raises(InvalidArgumentError, match=r"vectors\[1\].values has dimension 3"):
        validate_batch([good, ("b", [1.0, 0.0, 0.0])], 2, "cosine")
    with pytest.raises(InvalidArgumentError, match="at most 1000 records"):
        validate_batch([good] * 1001, 2, "cosine")
    with pytest.raises(InvalidArgumentError, match="at least one"):
        validate_batch([], 2, "cosine")
    with pytest.raises(InvalidArgumentError, match="sparse"):
        validate_batch(
            [{"id": "a", "values": [1, 0], "sparse_values": {"indices": [1], "values": [1]}}], 2, "cosine"
        )


def test_batch_forms_and_duplicate_ids_last_wins() -> None:
    class Obj:
        id = "o"
        values = (0.0, 1.0)
        metadata = {"k": "v"}

    batch = validate_batch(
        [("a", [1, 0]), ("b", [1, 1], {"x": 1}), {"id": "a", "values": [2, 2]}, Obj()], 2, "cosine"
    )
    assert batch.ids == ["a", "b", "o"]
    assert batch.vectors.tolist() == [[2, 2], [1, 1], [0, 1]]
    assert batch.metadata == [{}, {"x": 1.0}, {"k": "v"}]


def test_control_plane_rules() -> None:
    assert validate_index_name("a-1") == "a-1"
    for bad in ["", "-a", "a-", "A", "a_b", "a" * 46]:
        with pytest.raises(InvalidArgumentError, match="lower-case"):
            validate_index_name(bad)
    with pytest.raises(InvalidArgumentError, match="from 1 to 10000"):
        validate_top_k(10001)
    with pytest.raises(InvalidArgumentError, match="at most 20 keys"):
        validate_tags({f"k{i}": "v" for i in range(21)})
    assert validate_tags({"a": ""}, allow_empty_values=True) == {"a": ""}
    assert validate_tags({"a": ""}) == {}


def test_a_bad_record_overwritten_by_a_duplicate_still_rejects_the_batch() -> None:
    with pytest.raises(InvalidArgumentError, match=r"vectors\[0\].values must contain only finite"):
        validate_batch([("a", [float("nan"), 1.0]), ("a", [1.0, 1.0])], 2, "cosine")
    with pytest.raises(InvalidArgumentError, match=r"vectors\[1\].values must contain at least one non-zero"):
        validate_batch([("a", [1.0, 1.0]), ("b", [0, 0])], 2, "cosine")
