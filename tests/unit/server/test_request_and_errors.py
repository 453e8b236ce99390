"""The HTTP layer's small pieces: the request body cache, and that every error body comes from the
exception's own class (``spruce.errors`` is the one table of statuses and codes)."""

from __future__ import annotations

import inspect

import orjson
import pytest

import spruce.errors as errors_module
from spruce.errors import MethodNotAllowedError, NotFoundError, SpruceError, UnprocessableEntityError
from spruce.server.errors import error_response, internal_error
from spruce.server.http import Request
from spruce.server.routing import match, split_path


def _request(body: bytes) -> Request:
    return Request(method="POST", params={}, query={}, body=body, api_version="")


def test_an_empty_body_is_judged_by_each_callers_empty_ok() -> None:
    req = _request(b"")
    assert req.json_object(empty_ok=True) == {}
    with pytest.raises(UnprocessableEntityError, match="empty"):
        req.json_object()  # an earlier lenient look must not make a required body optional


def test_a_body_is_decoded_once() -> None:
    req = _request(b'{"topK": 3}')
    first = req.json_object()
    assert req.json_object(empty_ok=True) is first


def _error_classes() -> list[type[SpruceError]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors_module, inspect.isclass)
        if issubclass(cls, SpruceError) and cls is not SpruceError
    ]


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_each_error_class_makes_its_own_bodies(cls: type[SpruceError]) -> None:
    exc = cls("boom", allowed=("GET",)) if cls is MethodNotAllowedError else cls("boom")
    control = error_response(exc, data_plane=False)
    data = error_response(exc, data_plane=True)
    assert control.status == data.status == cls.http_status
    assert orjson.loads(control.body) == {
        "error": {"code": cls.code, "message": "boom"},
        "status": cls.http_status,
    }
    assert orjson.loads(data.body) == {"code": cls.grpc_code, "message": "boom", "details": []}


def test_client_mistakes_are_never_statuses_the_sdk_retries() -> None:
    retried = {408, 429, 500, 502, 503, 504}
    for cls in (
        errors_module.InvalidArgumentError,
        errors_module.UnprocessableEntityError,
        errors_module.PayloadTooLargeError,
        NotFoundError,
        errors_module.AlreadyExistsError,
        errors_module.ForbiddenError,
        errors_module.UnauthenticatedError,
        MethodNotAllowedError,
    ):
        assert cls.http_status not in retried, cls
        # DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE, UNKNOWN: SDK 10.x's gRPC
        # client retries RESOURCE_EXHAUSTED, ABORTED and UNAVAILABLE (a 10.2.0 probe: five tries).
        assert cls.grpc_code not in (2, 4, 8, 10, 13, 14), cls


def test_a_full_disk_and_a_spent_deadline_are_not_retried_either() -> None:
    """Resending cannot help until an operator frees space, or while the request stays as costly."""
    assert errors_module.DiskFullError.http_status == 507
    assert errors_module.DeadlineExceededError.http_status == 400
    for cls in (errors_module.DiskFullError, errors_module.DeadlineExceededError):
        assert cls.http_status not in {408, 429, 500, 502, 503, 504}
        assert cls.grpc_code not in (8, 10, 14)  # the three codes SDK 10.x's gRPC client retries


def test_unknown_routes_raise_the_same_classes() -> None:
    with pytest.raises(NotFoundError, match="no route GET /nowhere"):
        match("GET", split_path(b"/nowhere"))
    with pytest.raises(MethodNotAllowedError) as info:
        match("PUT", split_path(b"/indexes"))
    assert set(info.value.allowed) == {"GET", "POST"}
    response = error_response(info.value, data_plane=False)
    assert response.status == 405 and (b"allow", b"GET, POST") in response.headers


def test_an_unexpected_exception_is_a_500_that_hides_its_details() -> None:
    response = internal_error(ValueError("secret detail"), data_plane=True, what="test")
    assert response.status == 500
    body = orjson.loads(response.body)
    assert body["code"] == 13 and "secret" not in body["message"]
