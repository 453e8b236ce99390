"""The public surface of spruce.filter is pinned: other layers import these names."""

from __future__ import annotations

import spruce.filter


def test_public_names_are_pinned() -> None:
    assert sorted(spruce.filter.__all__) == sorted(
        [
            "MAX_CONDITIONS",
            "MAX_DEPTH",
            "MAX_IN_VALUES",
            "And",
            "Exists",
            "Filter",
            "In",
            "MetadataColumns",
            "Node",
            "Or",
            "Range",
            "TextMatch",
            "parse_filter",
            "reference_matches",
        ]
    )
    for name in spruce.filter.__all__:
        assert hasattr(spruce.filter, name)


def test_limits_have_the_documented_values() -> None:
    assert spruce.filter.MAX_IN_VALUES == 10_000
    assert spruce.filter.MAX_DEPTH == 16
    assert spruce.filter.MAX_CONDITIONS == 10_000
