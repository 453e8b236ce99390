"""``/openapi.json`` is true: it lists exactly the served routes (``ROUTES``, the document itself and the
``/health`` and ``/ready`` probes), and schemathesis finds no 5xx and no response that violates it across
>= 1,000 generated requests, which reach every documented operation but the document's own (positive and
negative data, where an operation has anything to get wrong; the generated ``X-Pinecone-Api-Version``
values select both index-model shapes)."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from spruce_server_proc import ServerProcess

from spruce.server.openapi import openapi_document
from spruce.server.routing import ROUTES, UNSUPPORTED

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MIN_REQUESTS = 1000
# Served outside ROUTES: the document itself, and the probes (no API key; server.app answers them first).
OUTSIDE_ROUTES = {("GET", "/openapi.json"), ("GET", "/health"), ("GET", "/ready")}
PROBES = {"/health": {"status": "ok"}, "/ready": {"status": "ready"}}
EXAMPLES = 40
FUZZ_INDEX = "fuzz"
SPEC = {"serverless": {"cloud": "aws", "region": "us-east-1"}}

_alternate = itertools.cycle([True, False])


def test_document_lists_exactly_the_routes(server: ServerProcess) -> None:
    served = {(r.method, "/" + "/".join(r.pattern)) for r in ROUTES} | OUTSIDE_ROUTES
    doc = httpx.get(server.url + "/openapi.json").json()
    assert doc == openapi_document()
    assert _documented(doc) == served
    # The probes need no key, and their bodies are exactly what the document allows.
    for path, body in PROBES.items():
        op = doc["paths"][path]["get"]
        assert op["security"] == []
        answer = httpx.get(server.url + path)
        assert answer.status_code == 200 and answer.json() == body
        assert op["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["status"] == {
            "const": body["status"]
        }
    # Every route describes what it takes and gives: a body for each write, a success schema for each
    # route but the one that answers 202 with nothing.
    for r in ROUTES:
        op = doc["paths"][r.path][r.method.lower()]
        if r.method in ("POST", "PATCH") and r not in UNSUPPORTED:  # (those read no body: 501 or 404)
            assert "requestBody" in op, r.path
        ok = op["responses"][str(r.status)]
        assert ("content" in ok) == ((r.method, r.path) != ("DELETE", "/indexes/{name}")), (r.method, r.path)


def _documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}


def _modes(doc: dict[str, Any], method: str, path: str) -> tuple[GenerationMode, ...]:
    """Both modes, except for an operation with nothing to get wrong (no parameter, no body, no key: the
    probes), which has one request only and no negative one (schemathesis would report that as a
    failure to generate)."""
    op = doc["paths"][path][method.lower()]
    if op.get("parameters") or op.get("requestBody") or op.get("security", doc.get("security")):
        return (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    return (GenerationMode.POSITIVE,)


def _ensure_fuzz_index(url: str) -> None:
    """The index most generated requests are pointed at, with a little data and deletion protection."""
    if httpx.get(f"{url}/indexes/{FUZZ_INDEX}").status_code == 404:
        httpx.post(
            f"{url}/indexes", json={"name": FUZZ_INDEX, "dimension": 2, "spec": SPEC}
        ).raise_for_status()
        vectors = [
            {"id": f"id{i}", "values": [1.0, float(i)], "metadata": {"n": i, "g": "ab"[i % 2]}}
            for i in range(20)
        ]
        httpx.post(f"{url}/index/{FUZZ_INDEX}/vectors/upsert", json={"vectors": vectors}).raise_for_status()
    httpx.patch(f"{url}/indexes/{FUZZ_INDEX}", json={"deletion_protection": "enabled"}).raise_for_status()


def _run_operation(  # type: ignore[no-untyped-def]
    operation, mode: GenerationMode, url: str, failures: list[str], sent: list[int], reached: set[str]
) -> None:
    """Generate cases for one operation and mode with hypothesis; record (not raise) the first failure."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:  # type: ignore[no-untyped-def]
        # Half the requests name the real index, so they reach the engine rather than stopping at a 404.
        for key in ("index", "name"):
            if key in (case.path_parameters or {}) and next(_alternate):
                case.path_parameters[key] = FUZZ_INDEX
        response = case.call(base_url=url, timeout=30)
        sent.append(response.status_code)
        reached.add(f"{case.method.upper()} {case.path}")
        try:
            case.validate_response(response, checks=CHECKS)
        finally:
            if case.method.upper() in ("DELETE", "PATCH") and case.path.startswith("/indexes/"):
                _ensure_fuzz_index(url)

    try:
        run()
    except Exception as exc:  # every failure is reported together at the end
        failures.append(f"{operation.method.upper()} {operation.path} [{mode.value}]: {exc}")


def test_fuzz(server: ServerProcess) -> None:
    """schemathesis (4.x) cases driven by hypothesis directly: its pytest plugin does not run on pytest 9."""
    _ensure_fuzz_index(server.url)
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    failures: list[str] = []
    sent: list[int] = []
    reached: set[str] = set()
    # (the routes of features spruce has not yet answer 501 by design: test_unsupported.py checks each)
    unsupported = {(r.method, r.path) for r in UNSUPPORTED}
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # (an operation schemathesis cannot use is a failure)
        operation = result.ok()
        if (operation.method.upper(), operation.path) in unsupported:
            continue
        for mode in _modes(schema.raw_schema, operation.method, operation.path):
            _run_operation(operation, mode, server.url, failures, sent, reached)
    assert not failures, "\n\n".join(failures)
    # Every documented operation was called, the probes included; all but the one serving the document
    # schemathesis loaded, which it leaves out on purpose (test_document_lists_exactly_the_routes reads it).
    documented = _documented(schema.raw_schema) - {("GET", "/openapi.json")} - unsupported
    assert reached == {f"{method} {path}" for method, path in documented}
    # The run itself was real: enough requests, both outcomes, no 5xx, no traceback in the server's log.
    assert len(sent) >= MIN_REQUESTS, f"only {len(sent)} generated requests"
    assert not [s for s in sent if s >= 500]
    assert any(200 <= s < 300 for s in sent) and any(400 <= s < 500 for s in sent)
    assert "Traceback" not in "".join(server.log)
