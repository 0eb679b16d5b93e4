"""Typed keys for objects shared through the application (no module globals)."""

from __future__ import annotations

from aiohttp import web

from redact_gw.audit import AuditLog
from redact_gw.crypto.keyring import KeyringSource
from redact_gw.detection.base import DetectionService
from redact_gw.engine import Redactor
from redact_gw.metrics import Metrics
from redact_gw.model import Clock, Principal
from redact_gw.policy.optout import OptOutRegistry
from redact_gw.policy.principals import PrincipalDirectory
from redact_gw.policy.risk import RiskPolicy
from redact_gw.policy.roles import RolePolicy
from redact_gw.settings import Settings
from redact_gw.vault.base import VaultStore
from redact_gw.vault.service import Vault

SETTINGS = web.AppKey("settings", Settings)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
METRICS = web.AppKey("metrics", Metrics)
KEYS = web.AppKey("keys", KeyringSource)
STORE = web.AppKey("store", VaultStore)
VAULT = web.AppKey("vault", Vault)
DETECTION: web.AppKey[DetectionService] = web.AppKey("detection")
REDACTOR = web.AppKey("redactor", Redactor)
PRINCIPALS = web.AppKey("principals", PrincipalDirectory)
ROLES = web.AppKey("roles", RolePolicy)
RISK = web.AppKey("risk", RiskPolicy)
AUDIT = web.AppKey("audit", AuditLog)
OPTOUTS = web.AppKey("optouts", OptOutRegistry)

#: Request-scoped: the authenticated caller.
PRINCIPAL = web.RequestKey("principal", Principal)
#: Request-scoped: the request id (also in ``redact_gw.logs.request_id_var``).
REQUEST_ID = web.RequestKey("request_id", str)
