"""The embedded client follows the official SDK 10.x: every keyword argument of ``pinecone.Index`` and
``pinecone.Pinecone`` methods is accepted by spruce's, with the same default, and every field of the SDK's
result models is on spruce's results. Drift in either direction fails here.

What spruce does differently on purpose is listed below with the reason, so a change there is deliberate.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

import pytest
from pinecone import Pinecone
from pinecone.index import Index as SdkIndex

import spruce
from spruce import api
from spruce.engine import Database, IndexEngine

DATA_PLANE = [
    "upsert",
    "query",
    "fetch",
    "fetch_by_metadata",
    "update",
    "delete",
    "list",
    "list_paginated",
    "describe_index_stats",
    "list_namespaces",
    "list_namespaces_paginated",
    "describe_namespace",
    "create_namespace",
    "delete_namespace",
]
CONTROL_PLANE = [
    "create_index",
    "list_indexes",
    "describe_index",
    "has_index",
    "configure_index",
    "delete_index",
]

# Parameters spruce adds, each with why.
EXTRA_PARAMETERS = {
    ("query", "ef"): "spruce's name for HNSW's search breadth, kept for code written against older releases",
    ("describe_namespace", "namespace"): "the SDK takes it through **kwargs as its legacy spelling",
    ("delete_namespace", "namespace"): "the SDK takes it through **kwargs as its legacy spelling",
}
# Parameters whose default differs, each with why.
OTHER_DEFAULTS: dict[tuple[str, str], str] = {}
# Result fields the SDK has and spruce does not, each with why.
MISSING_FIELDS = {"response_info": "HTTP response headers; an in-process call has none"}
# SDK results spruce returns differently, each with why.
OTHER_RESULTS = {
    "delete": "spruce returns the write's LSN (WriteResponse) where the SDK returns None",
    "delete_namespace": "spruce returns the write's LSN (WriteResponse) where the SDK returns None",
}


def _params(fn: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    return {
        name: p
        for name, p in inspect.signature(fn).parameters.items()
        if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }


def _check_signature(name: str, sdk_fn: Callable[..., Any], ours: Callable[..., Any]) -> None:
    sdk, mine = _params(sdk_fn), _params(ours)
    for pname, p in sdk.items():
        assert pname in mine, f"{name}() lacks the SDK's keyword {pname!r}"
        q = mine[pname]
        assert q.kind in (q.POSITIONAL_OR_KEYWORD, q.KEYWORD_ONLY), f"{name}({pname}) is not a keyword"
        if (name, pname) not in OTHER_DEFAULTS:
            assert q.default == p.default, (
                f"{name}({pname}) defaults to {q.default!r}, the SDK to {p.default!r}"
            )
    for pname, q in mine.items():
        if pname in sdk:
            continue
        assert (name, pname) in EXTRA_PARAMETERS, f"{name}({pname}) is not the SDK's; list it with a reason"
        assert q.default is not inspect.Parameter.empty, f"{name}({pname}) is extra and must be optional"


@pytest.mark.parametrize("name", DATA_PLANE)
def test_data_plane_signatures_match_the_sdk(name: str) -> None:
    sdk_fn = getattr(SdkIndex, name)
    _check_signature(name, sdk_fn, getattr(api.DataPlane, name))
    # The engine implements the declaration with the same parameters (mypy checks the types).
    assert list(_params(getattr(IndexEngine, name))) == list(_params(getattr(api.DataPlane, name)))
    assert getattr(spruce.Index, name) is getattr(IndexEngine, name)


@pytest.mark.parametrize("name", CONTROL_PLANE)
def test_control_plane_signatures_match_the_sdk(name: str) -> None:
    _check_signature(name, getattr(Pinecone, name), getattr(api.ControlPlane, name))
    assert list(_params(getattr(Database, name))) == list(_params(getattr(api.ControlPlane, name)))
    assert getattr(spruce.Client, name) is getattr(Database, name)


def test_index_handles_are_reached_as_in_the_sdk() -> None:
    for name in ("Index", "index"):
        sdk = _params(getattr(Pinecone, name))
        mine = _params(getattr(spruce.Client, name))
        assert {"name", "host"} <= set(sdk) and {"name", "host"} <= set(mine)


def _fields(tp: Any) -> set[str]:
    if hasattr(tp, "__struct_fields__"):
        return set(tp.__struct_fields__)
    return set(tp.__dataclass_fields__)


def _model(tp: Any) -> Any:
    """The result model of a return annotation (the item type of an iterator)."""
    args = typing.get_args(tp)
    return args[0] if args else tp


@pytest.mark.parametrize("name", DATA_PLANE)
def test_results_carry_every_field_of_the_sdks(name: str) -> None:
    sdk_tp = _model(typing.get_type_hints(getattr(SdkIndex, name))["return"])
    ours_tp = _model(typing.get_type_hints(getattr(api.DataPlane, name))["return"])
    if sdk_tp is type(None):
        assert name in OTHER_RESULTS
        return
    missing = _fields(sdk_tp) - _fields(ours_tp) - set(MISSING_FIELDS)
    assert not missing, f"{name}() results lack the SDK's fields {sorted(missing)}"
    # one level down: the items of matches / vectors / namespaces
    for field in ("matches", "vectors", "namespaces"):
        if field in _fields(sdk_tp):
            sdk_item = _item(typing.get_type_hints(sdk_tp)[field])
            ours_item = _item(typing.get_type_hints(ours_tp)[field])
            lost = _fields(sdk_item) - _fields(ours_item)
            assert not lost, f"{name}().{field} items lack the SDK's fields {sorted(lost)}"


def _item(tp: Any) -> Any:
    args = typing.get_args(tp)
    return args[-1] if args else tp


DOCUMENTS = ["upsert", "batch_upsert", "search", "fetch", "delete", "update", "list"]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_documents_signatures_match_the_sdk(name: str) -> None:
    """``index.documents`` embedded takes every keyword of SDK 10.x's ``Documents``, keyword-only with
    the same defaults (the Documents API has no positional arguments)."""
    from pinecone.client.documents import Documents as SdkDocuments

    from spruce.engine.documents import Documents

    sdk, mine = _params(getattr(SdkDocuments, name)), _params(getattr(Documents, name))
    for pname, p in sdk.items():
        assert pname in mine, f"documents.{name}() lacks the SDK's keyword {pname!r}"
        assert mine[pname].kind is p.KEYWORD_ONLY, f"documents.{name}({pname}) is not keyword-only"
        assert mine[pname].default == p.default, f"documents.{name}({pname}) default differs"
    assert set(mine) == set(sdk), f"documents.{name}() has extra keywords {set(mine) - set(sdk)}"
