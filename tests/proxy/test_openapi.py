"""The OpenAPI document: served publicly, valid OpenAPI 3.1, and naming exactly the routes
the app registers (configured generic routes included)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

import redact_gw
from redact_gw import errors
from redact_gw.proxy.app import create_app
from redact_gw.proxy.spec import (
    ERROR_CODES,
    ID_PATTERN,
    REQUEST_ID_PATTERN,
    TOKEN_PATTERN,
    build_spec,
)
from redact_gw.settings import Settings
from redact_gw.testing import FakeDetector
from tests.conftest import Env, MakeClient

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ROUTES = [{"path": "/v1/qa/score", "upstream_url": "http://127.0.0.1:9/score",
           "methods": ["POST", "GET"]},
          {"path": "/summarize", "upstream_url": "http://127.0.0.1:9/sum"}]


def configured(env: Env) -> Settings:
    """The test settings plus two generic routes."""
    return env.settings().model_copy(update={
        "routes": [Settings.model_validate({"routes": [r]}).routes[0] for r in ROUTES]})


def router_operations(settings: Settings) -> set[tuple[str, str]]:
    app = create_app(settings, detector_factory=FakeDetector)
    return {(route.method.lower(), route.resource.canonical)
            for route in app.router.routes()
            if route.method != "HEAD" and route.resource is not None
            and not route.resource.canonical.startswith("/console")}  # HTML, not API


def spec_operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, item in doc["paths"].items()
            for method in item if method in METHODS}


@pytest.mark.parametrize("with_routes", [False, True])
def test_every_registered_route_is_documented_and_nothing_else(env: Env,
                                                                with_routes: bool) -> None:
    settings = configured(env) if with_routes else env.settings()
    registered = router_operations(settings)
    documented = spec_operations(build_spec(settings))
    assert registered - documented == set(), "routes missing from /openapi.json"
    assert documented - registered == set(), "documented operations the app lacks"
    if with_routes:
        assert {("post", "/v1/qa/score"), ("get", "/v1/qa/score"),
                ("post", "/summarize")} <= documented


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _schemas(node: Any) -> list[Any]:
    """Every Schema Object of the document (parameters, media types, components)."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "schema" or (key == "schemas" and isinstance(value, dict)
                                   and "$ref" not in value):
                found += list(value.values()) if key == "schemas" else [value]
            else:
                found += _schemas(value)
    elif isinstance(node, list):
        for value in node:
            found += _schemas(value)
    return found


def test_document_is_valid_openapi_3_1(env: Env) -> None:
    doc = build_spec(configured(env))
    assert doc["openapi"].startswith("3.1.")
    # The OpenAPI 3.1 meta-schema (the one schemathesis ships and validates with).
    from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR
    problems = [str(e) for e in OPENAPI_31_VALIDATOR.iter_errors(doc)]
    assert problems == []
    # Every embedded schema is a valid JSON Schema 2020-12 schema.
    for schema in _schemas(doc):
        assert jsonschema_rs.meta.is_valid(schema), schema
    # Every $ref resolves inside the document.
    for ref in _refs(doc):
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
    ids: list[str] = []
    for path, item in doc["paths"].items():
        templated = set(re.findall(r"{(\w+)}", path))
        for method in (m for m in item if m in METHODS):
            op = item[method]
            ids.append(op["operationId"])
            params = {p["name"] for p in op.get("parameters", []) if p.get("in") == "path"}
            assert params == templated, (method, path)
            assert op["responses"], (method, path)
            for status in op["responses"]:
                assert status == "default" or re.fullmatch(r"[1-5]\d\d", status)
            if op.get("security") != []:
                assert "401" in op["responses"], (method, path)
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def _raised_codes() -> set[tuple[int, str]]:
    """(status, code) of every error class, and of every ``SomeError(..., code="x")``
    in the package's sources (the class gives the status)."""
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, errors.RedactGwError)]
    status = {c.__name__: c.status for c in classes}
    call = re.compile(r"\b(" + "|".join(status) + r")\((?:[^()]|\([^()]*\))*?code=\"(\w+)\"")
    raised = {(c.status, c.code) for c in classes}
    for path in Path(redact_gw.__file__).parent.rglob("*.py"):
        raised |= {(status[name], code) for name, code in call.findall(path.read_text())}
    return raised


def test_every_error_code_is_documented_under_its_status() -> None:
    documented = {(status, code) for status, codes in ERROR_CODES.items() for code in codes}
    # 500s are never documented (the fuzzer asserts there are none); stream_too_long and
    # the upstream event/stream caps only end a stream that already answered 200; the
    # classes' generic codes are always raised with a specific one.
    never_answered = {"stream_too_long", "upstream_event_too_large",
                      "upstream_stream_too_large", "bad_request", "unavailable", "not_found",
                      # live sessions: in WebSocket error messages and close reasons
                      "segment_too_long", "segment_final", "too_many_segments",
                      "tenant_rate_limited"}
    raised = {(s, c) for s, c in _raised_codes() if s != 500 and c not in never_answered}
    assert raised - documented == set(), "undocumented error codes"
    assert documented - raised == set(), "documented error codes nothing raises"


async def test_openapi_json_is_public_and_matches_the_settings(make_client: MakeClient,
                                                               env: Env) -> None:
    settings = configured(env)
    client = await make_client(settings=settings)
    resp = await client.get("/openapi.json")  # no Authorization header
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert await resp.json() == build_spec(settings)
    assert "/v1/qa/score" in (await resp.json())["paths"]


def test_limits_and_purposes_come_from_settings(env: Env) -> None:
    settings = env.settings().model_copy(update={
        "proxy": env.settings().proxy.model_copy(update={"max_messages": 7})})
    doc = build_spec(settings)
    chat = doc["paths"]["/v1/chat/completions"]["post"]
    body = chat["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["messages"]["maxItems"] == 7
    detok = doc["paths"]["/v1/detokenize"]["post"]["requestBody"]["content"]
    assert detok["application/json"]["schema"]["properties"]["purpose"]["enum"] == list(
        settings.access.purposes)
    subject = next(p for p in chat["parameters"] if p.get("name") == "X-Subject-Id")
    assert subject["required"] is settings.optout.require_subject_id


def test_patterns_are_the_ones_the_gateway_checks() -> None:
    from redact_gw.logs import REQUEST_ID_RE
    from redact_gw.tokens import TOKEN_RE, format_token
    from redact_gw.transcripts.shapes import _ID_RE
    assert f"^{_ID_RE.pattern}$" == ID_PATTERN
    assert f"^{REQUEST_ID_RE.pattern}$" == REQUEST_ID_PATTERN
    token = format_token("PHONE_NUMBER")
    assert re.fullmatch(TOKEN_PATTERN, token) and TOKEN_RE.fullmatch(token)
    for bad in ("[[phone:abcdefghij]]", "[[PHONE:abcdefghi1]]", "[[PHONE:abc]]"):
        assert not re.fullmatch(TOKEN_PATTERN, bad) and not TOKEN_RE.fullmatch(bad)
