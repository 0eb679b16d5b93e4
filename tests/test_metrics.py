"""Metrics: every collector is fed by its code path, and label values only come from
fixed sets (route templates, entity types, configured role names, outcome words)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.parser import text_string_to_metric_families

import redact_gw
from redact_gw import metrics as m
from redact_gw.audit import AuditLog
from redact_gw.demo import chunk, completion
from redact_gw.detection.entities import ENTITY_DESCRIPTIONS
from redact_gw.errors import RedactGwError, VaultUnavailable
from redact_gw.jobs.purge import run_purge
from redact_gw.metrics import Metrics
from redact_gw.policy.principals import create_api_key
from redact_gw.proxy import appkeys
from redact_gw.proxy.upstream import MeteredGuard
from redact_gw.streaming.guard import AnswerGuard
from redact_gw.testing import FakeClock, Scripted
from redact_gw.vault.sqlite import SqliteStore
from tests.conftest import Env, Gateway, MakeClient, MakeGateway

CHAT_ROUTE = "/v1/chat/completions"
TEXT = "I am John Smith, call 212-555-0123, card 4111 1111 1111 1111"
CHAT = {"model": "m", "messages": [{"role": "user", "content": TEXT}]}
DAY = 86400


def value(app: web.Application, name: str, **labels: str) -> float:
    """A sample of the app's registry (0 when absent)."""
    got = app[appkeys.METRICS].registry.get_sample_value(name, labels)
    return 0.0 if got is None else got


async def _chat(gw: Gateway, doc: dict[str, Any] = CHAT, key: str = "ai",
                **headers: str) -> tuple[int, str]:
    resp = await gw.client.post(CHAT_ROUTE, json=doc,
                                headers={**gw.env.auth(key), **headers})
    return resp.status, await resp.text()


# -- the collectors ----------------------------------------------------------------------------
def test_detection_pool_collectors_exist_for_the_pool_to_feed() -> None:
    metrics = Metrics()
    assert isinstance(metrics.detection_queue_depth, Gauge)
    assert isinstance(metrics.detection_workers_alive, Gauge)
    assert isinstance(metrics.worker_restarts, Counter)
    assert isinstance(metrics.detection_batch, Histogram)
    assert isinstance(metrics.detection_rejected, Counter)
    assert metrics.detection_queue_depth._labelnames == ()
    assert metrics.detection_workers_alive._labelnames == ()
    assert metrics.worker_restarts._labelnames == ("reason",)
    assert metrics.detection_rejected._labelnames == ("reason",)
    assert metrics.detection_batch._upper_bounds == [1, 2, 4, 8, 16, 32, 64, float("inf")]
    metrics.detection_queue_depth.set(3)
    metrics.detection_workers_alive.set(2)
    metrics.worker_restarts.labels("worker_lost").inc()
    metrics.detection_batch.observe(5)
    for reason in m.DETECTION_REJECT_REASONS:
        metrics.detection_rejected.labels(reason).inc()
    text = metrics.render().decode()
    for name in ("redact_gw_detection_queue_depth 3.0", "redact_gw_detection_workers_alive 2.0",
                 'redact_gw_detection_worker_restarts_total{reason="worker_lost"} 1.0',
                 'redact_gw_detection_batch_size_bucket{le="8.0"} 1.0',
                 'redact_gw_detection_rejected_total{reason="worker_lost"} 1.0'):
        assert name in text


def test_metered_guard_hooks_exist_on_the_answer_guard() -> None:
    """MeteredGuard overrides these steps of AnswerGuard: a rename must fail here."""
    for name in ("start", "_tokenize", "_reveal", "_restore"):
        assert name in vars(AnswerGuard), name
        assert name in vars(MeteredGuard), name


# -- upstream ----------------------------------------------------------------------------------
async def test_upstream_latency_restores_and_tokenized(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    app = gw.server.app
    status, body = await _chat(gw)
    assert status == 200 and "John Smith" in body
    assert value(app, "redact_gw_upstream_seconds_count", route=CHAT_ROUTE, outcome="ok") == 1
    for etype in ("PERSON", "PHONE_NUMBER", "CREDIT_CARD"):
        assert value(app, "redact_gw_tokenized_values_total", entity_type=etype) == 1
        assert value(app, "redact_gw_restored_values_total", entity_type=etype) == 1
    assert value(app, "redact_gw_risk_actions_total", route=CHAT_ROUTE, tier="high",
                 action="forward") == 1
    # streamed: the time to headers and the whole stream
    status, body = await _chat(gw, {**CHAT, "stream": True})
    assert status == 200 and "John" in body
    assert value(app, "redact_gw_upstream_seconds_count", route=CHAT_ROUTE, outcome="ok") == 2
    assert value(app, "redact_gw_upstream_stream_seconds_count", route=CHAT_ROUTE,
                 outcome="ok") == 1
    assert value(app, "redact_gw_restored_values_total", entity_type="PERSON") == 2
    # models and embeddings are timed under their own route templates
    await gw.openai().models.list()
    assert value(app, "redact_gw_upstream_seconds_count", route="/v1/models",
                 outcome="ok") == 1


async def test_answer_values_sealed_non_streamed_and_streamed(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    app = gw.server.app
    gw.fake.then(json_body=completion("mail bob@evil.com or 415-555-0199"))
    status, body = await _chat(gw, {"model": "m", "messages": [
        {"role": "user", "content": "hi"}]})
    assert status == 200 and "bob@evil.com" not in body
    assert value(app, "redact_gw_answer_values_sealed_total", entity_type="EMAIL_ADDRESS") == 1
    assert value(app, "redact_gw_answer_values_sealed_total", entity_type="PHONE_NUMBER") == 1
    gw.fake.then_stream([chunk({"content": "write to "}), chunk({"content": "eve@evil.com"}),
                         chunk({}, finish_reason="stop")])
    status, body = await _chat(gw, {"model": "m", "stream": True, "messages": [
        {"role": "user", "content": "hi"}]})
    assert status == 200 and "eve@evil.com" not in body
    assert value(app, "redact_gw_answer_values_sealed_total", entity_type="EMAIL_ADDRESS") == 2
    assert value(app, "redact_gw_restored_values_total", entity_type="EMAIL_ADDRESS") == 0


async def test_upstream_unreachable(make_gateway: MakeGateway) -> None:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gw = await make_gateway(upstream_url=f"http://127.0.0.1:{port}/v1")
    status, _ = await _chat(gw)
    assert status == 502
    app = gw.server.app
    assert value(app, "redact_gw_upstream_errors_total", route=CHAT_ROUTE,
                 kind="unreachable") == 1
    assert value(app, "redact_gw_upstream_seconds_count", route=CHAT_ROUTE,
                 outcome="error") == 1


async def test_upstream_timeout_and_status_errors(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"upstream": {"read_timeout_s": 0.2}})
    app = gw.server.app
    gw.fake.then(Scripted(hang=True))
    assert (await _chat(gw))[0] == 504
    assert value(app, "redact_gw_upstream_errors_total", route=CHAT_ROUTE, kind="timeout") == 1
    assert value(app, "redact_gw_upstream_seconds_count", route=CHAT_ROUTE,
                 outcome="timeout") == 1
    gw.fake.then(Scripted(status=503, json_body={"error": {"message": "busy"}}))
    gw.fake.then(Scripted(status=429, json_body={"error": {"message": "slow down"}}))
    assert (await _chat(gw))[0] == 503
    assert (await _chat(gw))[0] == 429
    assert value(app, "redact_gw_upstream_errors_total", route=CHAT_ROUTE, kind="http_5xx") == 1
    assert value(app, "redact_gw_upstream_errors_total", route=CHAT_ROUTE, kind="http_4xx") == 1
    assert value(app, "redact_gw_upstream_seconds_count", route=CHAT_ROUTE,
                 outcome="error") == 1
    assert value(app, "redact_gw_upstream_seconds_count", route=CHAT_ROUTE, outcome="ok") == 1


async def test_upstream_answer_too_large(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"proxy": {"max_response_bytes": 1024}})
    gw.fake.then(json_body=completion("x" * 4000))
    assert (await _chat(gw))[0] == 502
    assert value(gw.server.app, "redact_gw_upstream_errors_total", route=CHAT_ROUTE,
                 kind="too_large") == 1


async def test_stream_too_long(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"proxy": {"max_stream_seconds": 0.2}})
    app = gw.server.app
    gate = asyncio.Event()
    gw.fake.then_stream([chunk({"content": "hello "}), chunk({"content": "late"})],
                        gates={1: gate})
    _status, body = await _chat(gw, {**CHAT, "stream": True})
    gate.set()
    assert "stream_too_long" in body
    assert value(app, "redact_gw_upstream_errors_total", route=CHAT_ROUTE,
                 kind="stream_too_long") == 1
    assert value(app, "redact_gw_upstream_stream_seconds_count", route=CHAT_ROUTE,
                 outcome="timeout") == 1


async def test_stream_broken_off_by_the_upstream(make_gateway: MakeGateway,
                                                 aiohttp_server: Any) -> None:
    async def cut(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b'data: {"choices": [{"index": 0, "delta": {"content": "hi "}}]}\n\n')
        assert request.transport is not None
        request.transport.close()  # no final chunk: the payload is incomplete
        return resp
    upstream = web.Application()
    upstream.router.add_post("/v1/chat/completions", cut)
    server = await aiohttp_server(upstream)
    gw = await make_gateway(upstream_url=str(server.make_url("/v1")))
    status, body = await _chat(gw, {**CHAT, "stream": True})
    assert status == 200 and "upstream_error" in body
    app = gw.server.app
    assert value(app, "redact_gw_upstream_errors_total", route=CHAT_ROUTE,
                 kind="stream_broken") == 1
    assert value(app, "redact_gw_upstream_stream_seconds_count", route=CHAT_ROUTE,
                 outcome="error") == 1


async def test_client_disconnect_counts_a_cancelled_stream(make_gateway: MakeGateway) -> None:
    import aiohttp
    gw = await make_gateway()
    gate = asyncio.Event()
    gw.fake.then_stream([chunk({"content": "first words "}), chunk({"content": "more"})],
                        gates={1: gate})
    async with aiohttp.ClientSession() as session:
        resp = await session.post(gw.server.make_url(CHAT_ROUTE),
                                  json={**CHAT, "stream": True}, headers=gw.env.auth())
        await resp.content.readline()
        resp.close()
    await asyncio.wait_for(gw.fake.disconnected.wait(), 5)
    gate.set()
    for _ in range(50):
        if value(gw.server.app, "redact_gw_upstream_stream_seconds_count", route=CHAT_ROUTE,
                 outcome="cancelled"):
            break
        await asyncio.sleep(0.05)
    assert value(gw.server.app, "redact_gw_upstream_stream_seconds_count", route=CHAT_ROUTE,
                 outcome="cancelled") == 1


# -- policy: opt-outs, risk --------------------------------------------------------------------
async def test_optout_refusals_and_no_retention(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    app = gw.server.app
    admin = gw.env.auth("admin")
    await gw.client.put("/v1/subjects/cust-7/opt-out", json={"no_ai_processing": True},
                        headers=admin)
    await gw.client.put("/v1/subjects/cust-8/opt-out", json={"no_retention": True},
                        headers=admin)
    assert (await _chat(gw, **{"X-Subject-Id": "cust-7"}))[0] == 451
    assert value(app, "redact_gw_optout_refusals_total", route=CHAT_ROUTE) == 1
    assert gw.fake.received == []
    assert (await _chat(gw, **{"X-Subject-Id": "cust-8"}))[0] == 200
    assert value(app, "redact_gw_no_retention_redactions_total", route=CHAT_ROUTE) == 1
    assert value(app, "redact_gw_errors_total", code="subject_opted_out") == 1


async def test_risk_actions(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"risk": {"routes": {CHAT_ROUTE: {
        "high": "refuse", "medium": "flag"}}}})
    app = gw.server.app
    assert (await _chat(gw))[0] == 422
    assert (await _chat(gw, {"model": "m", "messages": [
        {"role": "user", "content": "I am John Smith"}]}))[0] == 200
    assert (await _chat(gw, {"model": "m", "messages": [
        {"role": "user", "content": "where is my parcel"}]}))[0] == 200
    for tier, action in (("high", "refuse"), ("medium", "flag"), ("low", "forward")):
        assert value(app, "redact_gw_risk_actions_total", route=CHAT_ROUTE, tier=tier,
                     action=action) == 1


# -- reveals -----------------------------------------------------------------------------------
async def _tokens(client: Any, env: Env, record: str = "call-1") -> list[str]:
    r = await client.post("/v1/redact", json={"text": TEXT, "record_id": record},
                          headers=env.auth("ai"))
    return [e["token"] for e in (await r.json())["entities"]]


async def _reveal(client: Any, env: Env, who: str, tokens: list[str], **extra: Any) -> int:
    doc = {"record_id": "call-1", "tokens": tokens, "purpose": "quality_review", **extra}
    r = await client.post("/v1/detokenize", json=doc, headers=env.auth(who))
    return r.status


async def test_reveals_by_role_and_outcome(make_client: MakeClient, env: Env) -> None:
    env.keys["duo"] = create_api_key(env.root / "principals.yaml", "duo", "acme",
                                     ["supervisor", "agent", "not-configured"])
    client = await make_client()
    app = client.server.app
    tokens = await _tokens(client, env)
    ssn = await client.post("/v1/redact", json={"text": "ssn 078-05-1120",
                                                "record_id": "call-1"}, headers=env.auth("ai"))
    ssn_token = (await ssn.json())["entities"][0]["token"]
    assert await _reveal(client, env, "admin", tokens) == 200
    assert await _reveal(client, env, "agent", tokens) == 200  # PERSON full, rest masked
    assert await _reveal(client, env, "supervisor", [ssn_token]) == 200  # SSN: none
    assert await _reveal(client, env, "duo", tokens) == 200
    assert await _reveal(client, env, "ai", tokens) == 403
    assert await _reveal(client, env, "norole", tokens) == 403
    assert await _reveal(client, env, "agent", tokens, purpose=None) == 422
    assert await _reveal(client, env, "agent", tokens, purpose="curiosity") == 422
    assert await _reveal(client, env, "agent", tokens, record_id="call-404") == 404

    def reveals(role: str, outcome: str) -> float:
        return value(app, "redact_gw_reveals_total", role=role, outcome=outcome)
    assert reveals("admin", "revealed") == 1
    assert reveals("agent", "revealed") == 1
    assert reveals("supervisor", "withheld") == 1
    assert reveals("agent+supervisor", "revealed") == 1
    assert reveals("ai-service", "forbidden") == 1  # the role, never the name "ai"
    assert reveals("none", "forbidden") == 1
    assert reveals("agent", "purpose_required") == 1
    assert reveals("agent", "unknown_purpose") == 1
    assert reveals("agent", "not_found") == 1
    assert value(app, "redact_gw_reveal_values_total", role="admin", outcome="revealed") == 3
    assert value(app, "redact_gw_reveal_values_total", role="agent", outcome="revealed") == 1
    assert value(app, "redact_gw_reveal_values_total", role="agent", outcome="masked") == 2
    assert value(app, "redact_gw_reveal_values_total", role="supervisor",
                 outcome="withheld") == 1


async def test_reveal_quota_refusal(make_client: MakeClient, env: Env) -> None:
    settings = env.settings()
    settings = settings.model_copy(update={"access": settings.access.model_copy(
        update={"reveal_quota_per_hour": 1})})
    client = await make_client(settings=settings)
    tokens = await _tokens(client, env)
    assert await _reveal(client, env, "compliance", tokens) == 429
    assert value(client.server.app, "redact_gw_reveals_total", role="compliance",
                 outcome="quota_exceeded") == 1


# -- vault -------------------------------------------------------------------------------------
async def test_vault_errors_by_operation(make_gateway: MakeGateway,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    gw = await make_gateway()
    app = gw.server.app
    store = app[appkeys.STORE]
    status, _ = await _chat(gw, **{"X-Record-Id": "call-v"})
    assert status == 200

    async def broken(*_a: Any, **_k: Any) -> Any:
        raise VaultUnavailable()
    monkeypatch.setattr(store, "commit_entries", broken)
    assert (await _chat(gw, {"model": "m", "messages": [
        {"role": "user", "content": "I am Maria Garcia"}]}))[0] == 503
    assert value(app, "redact_gw_vault_errors_total", operation="write") == 1
    monkeypatch.setattr(store, "get_entries", broken)
    r = await gw.client.post("/v1/detokenize", headers=gw.env.auth("admin"), json={
        "record_id": "call-v", "tokens": ["[[PERSON:aaaaaaaaaa]]"], "purpose": "legal_request"})
    assert r.status == 503
    assert value(app, "redact_gw_vault_errors_total", operation="read") == 1
    assert value(app, "redact_gw_reveals_total", role="admin", outcome="error") == 1
    monkeypatch.setattr(store, "audit_events", broken)
    r = await gw.client.get("/v1/audit", headers=gw.env.auth("admin"))
    assert r.status == 503
    assert value(app, "redact_gw_vault_errors_total", operation="read") == 2
    assert value(app, "redact_gw_errors_total", code="vault_unavailable") == 3


async def test_answer_vault_read_failure_is_counted(make_gateway: MakeGateway,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    gw = await make_gateway()
    app = gw.server.app
    # this request's own values restore from memory; a token the caller sent in an
    # earlier request is opened from the vault
    status, _text = await _chat(gw, **{"X-Record-Id": "call-m"})
    assert status == 200
    token = gw.fake.last.json()["messages"][-1]["content"]
    token = re.search(r"\[\[[A-Z_]+:[a-z0-9]+\]\]", token).group(0)  # type: ignore[union-attr]

    async def broken(*_a: Any, **_k: Any) -> Any:
        raise VaultUnavailable()
    monkeypatch.setattr(app[appkeys.STORE], "get_entries", broken)  # restore opens tokens
    doc = {"model": "m", "messages": [{"role": "user", "content": f"about {token}"}]}
    # the request went out: the answer could not be checked
    status, body = await _chat(gw, doc, **{"X-Record-Id": "call-m"})
    assert (status, json.loads(body)["error"]["code"]) == (502, "answer_scan_failed")
    assert value(app, "redact_gw_vault_errors_total", operation="read") == 1
    assert value(app, "redact_gw_vault_errors_total", operation="write") == 0


# -- purge -------------------------------------------------------------------------------------
async def test_purge_through_the_api(make_client: MakeClient, env: Env,
                                     clock: FakeClock) -> None:
    client = await make_client()
    app = client.server.app
    await _tokens(client, env)
    admin = env.auth("admin")
    r = await client.post("/v1/purge", json={"dry_run": True}, headers=admin)
    assert r.status == 200
    assert value(app, "redact_gw_purge_runs_total", outcome="dry_run") == 1
    clock.advance(31 * DAY)
    r = await client.post("/v1/purge", headers=admin)
    report = await r.json()
    assert r.status == 200 and report["values_removed"] == 3
    assert value(app, "redact_gw_purge_runs_total", outcome="ok") == 1
    assert value(app, "redact_gw_purge_values_removed_total", entity_type="PERSON") == 1
    assert value(app, "redact_gw_purge_values_removed_total", entity_type="CREDIT_CARD") == 1
    assert value(app, "redact_gw_purge_records_shredded_total") == report["records_shredded"]
    assert value(app, "redact_gw_purge_records_shredded_total") == 1
    assert value(app, "redact_gw_purge_seconds_count") == 2
    clock.advance(400 * DAY)
    await client.post("/v1/purge", headers=admin)
    assert value(app, "redact_gw_purge_tombstones_removed_total") == 3


async def test_purge_without_an_app_and_failing_purge(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SqliteStore(tmp_path / "v.db")
    await store.open()
    try:
        audit = AuditLog(store, clock)
        report = await run_purge(store, audit, clock)  # the CLI: no metrics
        assert report.values == {}
        metrics = Metrics()
        await run_purge(store, audit, clock, metrics=metrics)
        assert metrics.registry.get_sample_value("redact_gw_purge_runs_total",
                                                 {"outcome": "ok"}) == 1
        await store.try_lock("retention-purge", "someone", clock(), 60)
        skipped = await run_purge(store, audit, clock, metrics=metrics)
        assert skipped.skipped
        assert metrics.registry.get_sample_value("redact_gw_purge_runs_total",
                                                 {"outcome": "skipped"}) == 1

        async def broken(*_a: Any, **_k: Any) -> Any:
            raise VaultUnavailable()
        store.count_expired = broken  # type: ignore[method-assign]
        with pytest.raises(VaultUnavailable):
            await run_purge(store, audit, clock, use_lock=False, metrics=metrics)
        assert metrics.registry.get_sample_value("redact_gw_purge_runs_total",
                                                 {"outcome": "error"}) == 1
        assert metrics.registry.get_sample_value("redact_gw_purge_seconds_count") == 3
    finally:
        await store.close()


# -- no identifying label value, ever ----------------------------------------------------------
def _error_codes() -> set[str]:
    """Every machine error code the package can produce (class codes and literals)."""
    codes = {"internal_error", "http_error", "bad_request", "not_found",
             "method_not_allowed", "payload_too_large", "unsupported_media_type"}
    stack: list[type[RedactGwError]] = [RedactGwError]
    while stack:
        cls = stack.pop()
        codes.add(cls.code)
        stack.extend(cls.__subclasses__())
    root = Path(redact_gw.__file__).parent
    for path in root.rglob("*.py"):
        codes.update(re.findall(r"""code=["']([a-z0-9_]+)["']""", path.read_text()))
    return codes


def allowed_label_values(app: web.Application) -> dict[str, set[str]]:
    """Label name -> the fixed set its values must come from."""
    from redact_gw.review import metrics as review_metrics
    from redact_gw.review import sampling as review_sampling
    routes = {r.canonical for r in app.router.resources()} | {"unmatched"}
    roles = sorted(app[appkeys.SETTINGS].access.roles)
    role_labels = {"none"} | {"+".join(sorted(c)) for c in _combinations(roles)}
    return {
        "route": routes, "entity_type": set(ENTITY_DESCRIPTIONS),
        "method": {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"},
        "status": {str(s) for s in range(100, 600)}, "code": _error_codes(),
        "outcome": (set(m.UPSTREAM_OUTCOMES) | set(m.REVEAL_OUTCOMES)
                    | set(m.PURGE_OUTCOMES)),
        "kind": (set(m.UPSTREAM_ERROR_KINDS) | set(m.LIVE_KINDS)
                 | set(m.LIVE_ASSIST_ERRORS)), "role": role_labels,
        "tier": set(m.RISK_TIERS), "action": set(m.RISK_ACTIONS),
        "operation": set(m.VAULT_OPERATIONS),
        "reason": (set(m.DETECTION_REJECT_REASONS) | set(m.WORKER_RESTART_REASONS)
                   | set(review_sampling.REASONS) | set(m.LIVE_CLOSE_REASONS)
                   | set(m.LIVE_NOT_DETECTED)),
        "cause": set(review_metrics.SKIP_CAUSES), "verdict": set(review_metrics.VERDICTS),
        "gap": set(review_metrics.GAPS),
        "direction": set(m.LIVE_DIRECTIONS),
        "worker": {str(i) for i in range(64)},  # worker index, at most detection.workers
        "le": set(),  # histogram bounds: numbers, checked apart
    }


def _combinations(items: list[str]) -> list[tuple[str, ...]]:
    from itertools import combinations
    return [c for n in range(1, len(items) + 1) for c in combinations(items, n)]


def check_labels(exposition: str, allowed: dict[str, set[str]]) -> int:
    """Assert each label value is in its allowed set; returns how many were checked."""
    checked = 0
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            for label, val in sample.labels.items():
                assert label in allowed, f"{sample.name}: unknown label {label!r}"
                if label == "le":
                    float(val)
                else:
                    assert val in allowed[label], f"{sample.name}{{{label}={val!r}}}"
                checked += 1
    return checked


def test_every_labelled_collector_uses_a_known_label() -> None:
    metrics = Metrics()
    names = {"route", "entity_type", "method", "status", "code", "outcome", "kind", "role",
             "tier", "action", "operation", "reason", "worker", "direction"}
    for collector in vars(metrics).values():
        for label in getattr(collector, "_labelnames", ()):
            assert label in names, (collector, label)


async def test_exposition_label_values_come_from_fixed_sets(make_gateway: MakeGateway,
                                                            clock: FakeClock) -> None:
    gw = await make_gateway(config={"risk": {"routes": {CHAT_ROUTE: {"medium": "flag"}}}})
    admin = gw.env.auth("admin")
    planted = {"record": "call-secret-41", "subject": "cust-secret-9"}
    await _chat(gw, **{"X-Record-Id": planted["record"], "X-Subject-Id": planted["subject"]})
    await _chat(gw, {**CHAT, "stream": True}, **{"X-Record-Id": planted["record"]})
    gw.fake.then(json_body=completion("mail bob@evil.com"))
    await _chat(gw)
    r = await gw.client.post("/v1/redact", json={"text": TEXT, "record_id": "call-2"},
                             headers=gw.env.auth())
    tokens = [e["token"] for e in (await r.json())["entities"]]
    for who in ("admin", "agent", "ai", "norole"):
        await gw.client.post("/v1/detokenize", headers=gw.env.auth(who), json={
            "record_id": "call-2", "tokens": tokens, "purpose": "quality_review"})
    await gw.client.post("/v1/detokenize", headers=admin, json={
        "record_id": "call-2", "tokens": tokens})
    await gw.client.get(f"/v1/records/{planted['record']}", headers=admin)
    await gw.client.get("/v1/records/call-unknown-77", headers=admin)
    await gw.client.put(f"/v1/subjects/{planted['subject']}/opt-out",
                        json={"no_ai_processing": True}, headers=admin)
    await _chat(gw, **{"X-Subject-Id": planted["subject"]})
    await gw.client.delete(f"/v1/subjects/{planted['subject']}", headers=admin)
    clock.advance(40 * DAY)
    await gw.client.post("/v1/purge", headers=admin)
    await gw.client.get("/no/such/path/call-secret-41")
    await gw.client.post(CHAT_ROUTE, data=b"{not json", headers=gw.env.auth())
    await gw.client.get("/readyz")
    resp = await gw.client.get("/metrics")
    exposition = await resp.text()
    assert resp.status == 200
    checked = check_labels(exposition, allowed_label_values(gw.server.app))
    assert checked > 100
    for secret in (*planted.values(), "call-2", "call-unknown-77", "acme", "John Smith",
                   "bob@evil.com", *gw.env.keys.values(), "[[", "/v1/records/call"):
        assert secret not in exposition
    # principal names that are not also role names never show up
    assert 'role="ai"' not in exposition and 'role="norole"' not in exposition
    for name in ("redact_gw_reveals_total", "redact_gw_restored_values_total",
                 "redact_gw_upstream_seconds_bucket", "redact_gw_purge_runs_total",
                 "redact_gw_optout_refusals_total", "redact_gw_risk_actions_total",
                 "redact_gw_answer_values_sealed_total",
                 "redact_gw_upstream_stream_seconds_bucket"):
        assert name in exposition, name


def test_label_checker_catches_a_bad_value() -> None:
    metrics = Metrics()
    metrics.reveals.labels("ai", "revealed").inc()  # a principal name as a role: wrong
    allowed = {"role": {"none", "admin"}, "outcome": set(m.REVEAL_OUTCOMES), "le": set()}
    with pytest.raises(AssertionError):
        check_labels(metrics.render().decode(), allowed)


def test_vault_operation_counts_only_vault_errors_and_lets_them_through() -> None:
    from redact_gw.errors import VaultUnavailable
    gw = m.Metrics()
    failed = gw.vault_errors.labels("write")
    for exc in (VaultUnavailable(), ValueError("x"), VaultUnavailable()):
        with pytest.raises(type(exc)) as caught, gw.vault_operation("write"):
            raise exc
        assert caught.value is exc
    with gw.vault_operation("write"):
        pass
    assert failed._value.get() == 2
