"""Typed keys for objects shared through the application (no module globals)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from redact_gw.audit import AuditLog
from redact_gw.crypto.keyring import KeyringSource
from redact_gw.detection import Detector
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
DETECTOR = web.AppKey("detector", Detector)
DETECTION_EXECUTOR = web.AppKey("detection_executor", ThreadPoolExecutor)
REDACTOR = web.AppKey("redactor", Redactor)
PRINCIPALS = web.AppKey("principals", PrincipalDirectory)
ROLES = web.AppKey("roles", RolePolicy)
RISK = web.AppKey("risk", RiskPolicy)
AUDIT = web.AppKey("audit", AuditLog)
OPTOUTS = web.AppKey("optouts", OptOutRegistry)

#: Request-scoped: the authenticated caller.
PRINCIPAL = web.RequestKey("principal", Principal)
