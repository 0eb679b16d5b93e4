"""Prometheus metrics, one registry per app (no process-global collectors).

Label values are route templates, status codes and entity-type names only: never
a path with ids, a value or a token.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """The gateway's collectors, registered in a private registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("redact_gw_requests_total", "HTTP requests handled",
                                ["route", "method", "status"], registry=r)
        self.request_seconds = Histogram("redact_gw_request_seconds", "Request latency",
                                         ["route"], registry=r)
        self.tokenized = Counter("redact_gw_tokenized_values_total",
                                 "Values replaced by tokens", ["entity_type"], registry=r)
        self.detection_seconds = Histogram("redact_gw_detection_seconds",
                                           "Time spent in detection per request", registry=r)
        self.errors = Counter("redact_gw_errors_total", "Errors returned, by machine code",
                              ["code"], registry=r)
        self.ready = Gauge("redact_gw_ready", "1 when the gateway can serve safely", registry=r)

    def render(self) -> bytes:
        """Text exposition format."""
        return generate_latest(self.registry)
