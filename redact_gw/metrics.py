"""Prometheus metrics, one registry per app (no process-global collectors).

Label values come only from fixed sets: route templates, status codes, HTTP methods,
entity-type names, role names from the config, machine error codes and the outcome
words listed below. Never a path with ids, a value, a token, a record, subject or
tenant id, a principal name or a key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from redact_gw.errors import VaultUnavailable

#: ``redact_gw_upstream_seconds`` / ``redact_gw_upstream_stream_seconds`` outcomes.
UPSTREAM_OUTCOMES = ("ok", "error", "timeout", "cancelled")
#: ``redact_gw_upstream_errors_total`` kinds.
UPSTREAM_ERROR_KINDS = ("unreachable", "timeout", "transport", "too_large", "stream_broken",
                        "stream_too_long", "http_4xx", "http_5xx", "not_json")
#: ``redact_gw_reveals_total`` outcomes: the most revealing result of a granted request,
#: or why it was refused.
REVEAL_OUTCOMES = ("revealed", "masked", "withheld", "forbidden", "purpose_required",
                   "unknown_purpose", "quota_exceeded", "not_found", "purged", "invalid",
                   "denied", "error")
#: ``redact_gw_reveal_values_total`` outcomes (per value).
REVEAL_VALUE_OUTCOMES = ("revealed", "masked", "withheld")
RISK_TIERS = ("low", "medium", "high")
RISK_ACTIONS = ("forward", "flag", "refuse")
PURGE_OUTCOMES = ("ok", "dry_run", "skipped", "error")
VAULT_OPERATIONS = ("read", "write")
#: ``redact_gw_detection_rejected_total`` reasons (``warming``: no worker warm yet).
DETECTION_REJECT_REASONS = ("queue_full", "timeout", "worker_lost", "warming")
#: ``redact_gw_detection_worker_restarts_total`` reasons.
WORKER_RESTART_REASONS = ("timeout", "start_failed", "worker_lost")
#: ``redact_gw_principals_reloads_total`` outcomes: a changed principals file loaded, or
#: why it was refused (the gateway then keeps the last good set).
PRINCIPALS_RELOAD_OUTCOMES = ("loaded", "invalid", "insecure_mode", "unreadable")

#: ``redact_gw_live_sessions_closed_total`` reasons (one per close code).
LIVE_CLOSE_REASONS = ("normal", "opted_out", "subject_required", "rate_limited",
                      "segment_too_long", "idle_timeout", "session_expired", "going_away",
                      "error")
#: ``redact_gw_live_messages_total`` directions and kinds.
LIVE_DIRECTIONS = ("in", "out")
LIVE_KINDS = ("partial", "final", "error", "suggestion", "other")
#: ``redact_gw_live_partials_not_detected_total`` reasons.
LIVE_NOT_DETECTED = ("superseded", "held_tail")
#: ``redact_gw_live_assist_errors_total`` kinds (the error code is ``assist_<kind>``).
LIVE_ASSIST_ERRORS = ("unavailable", "timeout", "refused", "bad_answer", "backlog",
                      "scan_failed")

_HOLD_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0)
_UPSTREAM_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_STREAM_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
_PURGE_BUCKETS = (0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
#: Detection queue wait and worker time: fine below 100 ms, where a short utterance lives.
_DETECTION_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15,
                      0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The gateway's collectors, registered in a private registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._children: dict[int, dict[tuple[str, ...], Any]] = {}
        r = self.registry
        # -- HTTP -------------------------------------------------------------------------
        self.requests = Counter("redact_gw_requests_total", "HTTP requests handled",
                                ["route", "method", "status"], registry=r)
        self.request_seconds = Histogram("redact_gw_request_seconds", "Request latency",
                                         ["route"], registry=r)
        self.errors = Counter("redact_gw_errors_total", "Errors returned, by machine code",
                              ["code"], registry=r)
        self.ready = Gauge("redact_gw_ready", "1 when the gateway can serve safely", registry=r)
        # -- redaction --------------------------------------------------------------------
        self.tokenized = Counter("redact_gw_tokenized_values_total",
                                 "Values replaced by tokens", ["entity_type"], registry=r)
        self.detection_seconds = Histogram("redact_gw_detection_seconds",
                                           "Time spent in detection per request", registry=r)
        self.no_retention = Counter(
            "redact_gw_no_retention_redactions_total",
            "Redactions of subjects who opted out of retention (nothing reversible kept)",
            ["route"], registry=r)
        self.optout_refusals = Counter(
            "redact_gw_optout_refusals_total",
            "Requests refused (451) because the subject opted out of AI processing",
            ["route"], registry=r)
        self.risk_actions = Counter(
            "redact_gw_risk_actions_total", "Proxied transcripts by risk tier and action",
            ["route", "tier", "action"], registry=r)
        # -- upstream and answers ---------------------------------------------------------
        self.upstream_seconds = Histogram(
            "redact_gw_upstream_seconds",
            "Time from sending a request upstream to its response headers",
            ["route", "outcome"], buckets=_UPSTREAM_BUCKETS, registry=r)
        self.upstream_stream_seconds = Histogram(
            "redact_gw_upstream_stream_seconds",
            "Total duration of a streamed upstream answer, request to last event",
            ["route", "outcome"], buckets=_STREAM_BUCKETS, registry=r)
        self.upstream_errors = Counter("redact_gw_upstream_errors_total",
                                       "Upstream failures, by kind", ["route", "kind"],
                                       registry=r)
        self.restored = Counter("redact_gw_restored_values_total",
                                "Caller values restored into answers", ["entity_type"],
                                registry=r)
        self.answer_sealed = Counter(
            "redact_gw_answer_values_sealed_total",
            "Values found in answers that the caller did not send, tokenized instead",
            ["entity_type"], registry=r)
        # -- reveals ----------------------------------------------------------------------
        self.reveals = Counter("redact_gw_reveals_total",
                               "Reveal requests by role and outcome", ["role", "outcome"],
                               registry=r)
        self.reveal_values = Counter("redact_gw_reveal_values_total",
                                     "Values in granted reveals, by role and outcome",
                                     ["role", "outcome"], registry=r)
        # -- vault ------------------------------------------------------------------------
        self.vault_errors = Counter("redact_gw_vault_errors_total",
                                    "Vault unavailable, by operation", ["operation"],
                                    registry=r)
        # -- auth -------------------------------------------------------------------------
        self.principals_reloads = Counter(
            "redact_gw_principals_reloads_total",
            "Re-reads of a changed principals file, by outcome (refused: last good set kept)",
            ["outcome"], registry=r)
        # -- retention purge --------------------------------------------------------------
        self.purge_runs = Counter("redact_gw_purge_runs_total", "Purge runs by outcome",
                                  ["outcome"], registry=r)
        self.purge_values = Counter("redact_gw_purge_values_removed_total",
                                    "Expired values deleted by purges", ["entity_type"],
                                    registry=r)
        self.purge_records = Counter("redact_gw_purge_records_shredded_total",
                                     "Records whose data key purges shredded", registry=r)
        self.purge_tombstones = Counter("redact_gw_purge_tombstones_removed_total",
                                        "Tombstones forgotten by purges", registry=r)
        self.purge_seconds = Histogram("redact_gw_purge_seconds", "Duration of purge runs",
                                       buckets=_PURGE_BUCKETS, registry=r)
        # -- detection worker pool (wired by the pool) ------------------------------------
        self.detection_queue_depth = Gauge("redact_gw_detection_queue_depth",
                                           "Detection jobs waiting for a worker", registry=r)
        self.detection_workers_alive = Gauge("redact_gw_detection_workers_alive",
                                             "Detection workers running", registry=r)
        self.worker_restarts = Counter("redact_gw_detection_worker_restarts_total",
                                       "Detection workers restarted, by reason", ["reason"],
                                       registry=r)
        self.detection_batch = Histogram("redact_gw_detection_batch_size",
                                         "Transcripts per detection batch",
                                         buckets=(1, 2, 4, 8, 16, 32, 64), registry=r)
        self.detection_queue_wait = Histogram(
            "redact_gw_detection_queue_wait_seconds",
            "Time a detection job waited in the queue for a worker",
            buckets=_DETECTION_BUCKETS, registry=r)
        self.detection_job_seconds = Histogram(
            "redact_gw_detection_job_seconds",
            "Time from a detection job's dispatch to a worker to its answer",
            buckets=_DETECTION_BUCKETS, registry=r)
        self.detection_rejected = Counter("redact_gw_detection_rejected_total",
                                          "Detection jobs refused, by reason", ["reason"],
                                          registry=r)
        self.detection_worker_rss = Gauge(
            "redact_gw_detection_worker_rss_bytes",
            "Resident memory of each detection worker process, by worker index",
            ["worker"], registry=r)

        # -- live calls (``/v1/live``) ------------------------------------------------------
        self.live_sessions = Gauge("redact_gw_live_sessions", "Live call sessions open",
                                   registry=r)
        self.live_closed = Counter("redact_gw_live_sessions_closed_total",
                                   "Live call sessions closed, by reason", ["reason"],
                                   registry=r)
        self.live_messages = Counter("redact_gw_live_messages_total",
                                     "Live call messages by direction and kind",
                                     ["direction", "kind"], registry=r)
        self.live_holdback = Histogram(
            "redact_gw_live_holdback_seconds",
            "How long partial text was held back before it was shown",
            buckets=_HOLD_BUCKETS, registry=r)
        self.live_revisions = Counter(
            "redact_gw_live_revisions_total",
            "Live messages replacing text the client already had, by kind",
            ["kind"], registry=r)
        self.live_not_detected = Counter(
            "redact_gw_live_partials_not_detected_total",
            "Live partials answered without detection: superseded by a newer result of"
            " their segment while they waited, or only the held-back tail grew",
            ["reason"], registry=r)
        self.live_assist_forwarded = Counter(
            "redact_gw_live_assist_forwarded_total",
            "Redacted live messages forwarded to an assist service, by kind",
            ["kind"], registry=r)
        self.live_assist_suggestions = Counter(
            "redact_gw_live_assist_suggestions_total",
            "Assist suggestions sent to live callers (scanned and restored)", registry=r)
        self.live_assist_errors = Counter(
            "redact_gw_live_assist_errors_total",
            "Assist forwarding failures reported to live callers, by kind", ["kind"],
            registry=r)
        self.live_assist_seconds = Histogram(
            "redact_gw_live_assist_seconds",
            "Assist forwarding time: an HTTP POST until its answer (retries included), or"
            " a WebSocket send", buckets=_UPSTREAM_BUCKETS, registry=r)

    #: Label children kept per metric at most (the label sets are bounded anyway; this
    #: bounds the cache should a client invent HTTP methods).
    MAX_CACHED_CHILDREN = 256

    def child(self, metric: Counter | Histogram, *labels: str) -> Any:
        """``metric.labels(*labels)``, kept for the next request (``labels()`` takes a
        lock and builds the key every call: a few microseconds per request each)."""
        cache = self._children.setdefault(id(metric), {})
        found = cache.get(labels)
        if found is None:
            found = metric.labels(*labels)
            if len(cache) < self.MAX_CACHED_CHILDREN:
                cache[labels] = found
        return found

    def request_done(self, route: str, method: str, status: int, seconds: float) -> None:
        """One answered HTTP request: its count by route, method and status, its latency."""
        self.child(self.requests, route, method, str(status)).inc()
        self.child(self.request_seconds, route).observe(seconds)

    def render(self) -> bytes:
        """Text exposition format."""
        return generate_latest(self.registry)

    # -- helpers for call sites ---------------------------------------------------------------
    def redacted(self, route: str, counts: Mapping[str, int], *,
                 no_retention: bool = False) -> None:
        """One successful redaction on ``route``: values by type, and ``no_retention``."""
        for entity_type, n in counts.items():
            self.child(self.tokenized, entity_type).inc(n)
        if no_retention:
            self.no_retention.labels(route).inc()

    def purged(self, outcome: str, seconds: float, values: Mapping[str, int] | None = None,
               records: int = 0, tombstones: int = 0) -> None:
        """One purge run (``outcome`` from ``PURGE_OUTCOMES``)."""
        self.purge_runs.labels(outcome).inc()
        self.purge_seconds.observe(seconds)
        for entity_type, n in (values or {}).items():
            self.purge_values.labels(entity_type).inc(n)
        self.purge_records.inc(records)
        self.purge_tombstones.inc(tombstones)

    def vault_operation(self, operation: str) -> contextlib.AbstractContextManager[None]:
        """Count a ``VaultUnavailable`` raised inside as a failed vault ``operation``
        (``read`` or ``write``); the error goes on unchanged (a plain context manager:
        a generator-based one cost ~1 us per request)."""
        return _VaultOperation(self.vault_errors, operation)


class _VaultOperation(contextlib.AbstractContextManager[None]):
    """``Metrics.vault_operation``: counts a ``VaultUnavailable`` passing through."""

    def __init__(self, errors: Counter, operation: str) -> None:
        self.errors, self.operation = errors, operation

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None and issubclass(exc_type, VaultUnavailable):
            self.errors.labels(self.operation).inc()
