"""IdOrder (the lazily settled id order ``list`` reads) against a plain set, under every mix of bulk
loads, adds, removes and settles, including the two rebuild paths (bulk, many changes) and the
change-by-change one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from spruce.engine.idorder import IdOrder

IDS = st.text(alphabet="abc", min_size=1, max_size=3)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sets(IDS, max_size=6), max_size=2),
    st.lists(st.tuples(st.sampled_from(["toggle", "settle", "read"]), IDS), max_size=80),
)
def test_matches_a_set(bulks: list[set[str]], steps: list[tuple[str, str]]) -> None:
    order = IdOrder()
    live: set[str] = set()
    for bulk in bulks:
        fresh = sorted(bulk - live)  # add_bulk takes ids none of which is live
        order.add_bulk(fresh)
        live |= set(fresh)
    for what, rid in steps:
        if what == "toggle":
            if rid in live:
                order.remove(rid)
                live.discard(rid)
            else:
                order.add(rid)
                live.add(rid)
        elif what == "settle":
            order.settle()
        else:
            assert list(order.irange(minimum=rid, inclusive=(True, True))) == sorted(
                x for x in live if x >= rid
            )
    assert list(order.irange(minimum="", inclusive=(True, True))) == sorted(live)
    assert len(order) == len(live)


def test_few_changes_to_a_large_order_are_applied_one_by_one() -> None:
    order = IdOrder()
    order.add_bulk([f"{i:04d}" for i in range(1000)])
    order.settle()
    kept = order._sorted
    order.remove("0005")
    order.add("zz")
    order.add("0005")  # removed and back: nothing to do
    order.remove("zz")  # added and gone: nothing to do
    order.add("0500x")
    order.settle()
    assert order._sorted is kept  # not rebuilt
    assert list(order.irange(minimum="0499", inclusive=(True, True)))[:3] == ["0499", "0500", "0500x"]
    assert len(order) == 1001
