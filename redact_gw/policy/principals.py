"""API keys -> principals (name, tenant, roles).

The principals file stores only a SHA-256 hash of each key (keys are 256-bit random
strings, so a fast hash is enough and no salt is needed). Lookups compare against
every entry with ``hmac.compare_digest`` and never stop early. ``create_api_key``
appends a principal and returns the key, which is shown once and stored nowhere.

File format (YAML, mode 0600)::

    principals:
      - name: qa-scorer
        tenant: acme
        roles: [ai-service]
        key_sha256: 5f1c...e9
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from redact_gw.errors import ConfigError
from redact_gw.model import Principal

KEY_PREFIX = "rgw_"
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_HEX64_RE = re.compile(r"[0-9a-f]{64}")


def hash_key(key: str) -> str:
    """Hex SHA-256 of an API key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class _Entry:
    principal: Principal
    digest: bytes = field(repr=False)


def _parse(path: Path, text: str) -> list[_Entry]:
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        raise ConfigError(f"principals file {path} is not valid YAML") from None
    items = doc.get("principals", []) if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise ConfigError(f"principals file {path} must hold a 'principals' list")
    entries = []
    for i, item in enumerate(items):
        where = f"principals file {path}: principals[{i}]"
        if not isinstance(item, dict) or set(item) - {"name", "tenant", "roles", "key_sha256"}:
            raise ConfigError(f"{where} must have only name, tenant, roles, key_sha256")
        name, tenant, roles, digest = (item.get(k) for k in ("name", "tenant", "roles",
                                                             "key_sha256"))
        if not (isinstance(name, str) and _NAME_RE.fullmatch(name)):
            raise ConfigError(f"{where}.name must be 1-64 letters, digits, '.', '_' or '-'")
        if not (isinstance(tenant, str) and _NAME_RE.fullmatch(tenant)):
            raise ConfigError(f"{where}.tenant must be 1-64 letters, digits, '.', '_' or '-'")
        if not (isinstance(roles, list) and all(isinstance(r, str) for r in roles)):
            raise ConfigError(f"{where}.roles must be a list of role names")
        if not (isinstance(digest, str) and _HEX64_RE.fullmatch(digest)):
            raise ConfigError(f"{where}.key_sha256 must be 64 lowercase hex digits")
        entries.append(_Entry(Principal(name, tenant, frozenset(roles)), bytes.fromhex(digest)))
    return entries


class PrincipalDirectory:
    """Authenticates API keys against the principals file.

    ``authenticate`` does no I/O; the app's file watcher calls ``refresh`` so keys
    created with ``redact-gw apikey create`` work without a restart.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._entries: list[_Entry] = []
        self._mtime = -2.0
        self._reload(force=True)

    async def refresh(self) -> None:
        """Re-read the file in a worker thread if it changed; keep the last good one."""
        def reload() -> None:
            with contextlib.suppress(ConfigError):
                self._reload()
        await asyncio.to_thread(reload)

    def _reload(self, *, force: bool = False) -> None:
        with self._lock:
            try:
                mtime = self.path.stat().st_mtime_ns / 1e9
            except FileNotFoundError:
                mtime = -1.0
            if mtime == self._mtime and not force:
                return
            if mtime == -1.0:
                self._entries, self._mtime = [], mtime
                return
            self._entries = _parse(self.path, self.path.read_text(encoding="utf-8"))
            self._mtime = mtime

    def principals(self) -> list[Principal]:
        """Every configured principal (no key material)."""
        return [e.principal for e in self._entries]

    def authenticate(self, key: str) -> Principal | None:
        """The principal owning ``key``, or ``None``; compares in constant time."""
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        found: Principal | None = None
        for entry in self._entries:
            if hmac.compare_digest(entry.digest, digest):
                found = entry.principal
        return found


def create_api_key(path: Path, name: str, tenant: str, roles: list[str]) -> str:
    """Append a principal with a fresh key to the file (mode 0600); return the key."""
    for label, value in (("name", name), ("tenant", tenant)):
        if not _NAME_RE.fullmatch(value):
            raise ConfigError(f"{label} must be 1-64 letters, digits, '.', '_' or '-'")
    doc: dict[str, Any] = {"principals": []}
    if path.exists():
        existing = _parse(path, path.read_text(encoding="utf-8"))
        if any(e.principal.name == name for e in existing):
            raise ConfigError(f"a principal named {name!r} already exists")
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {"principals": []}
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    doc.setdefault("principals", []).append(
        {"name": name, "tenant": tenant, "roles": list(roles), "key_sha256": hash_key(key)})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("# redact_gw principals: API key hashes only. Create keys with"
                 " `redact-gw apikey create`.\n")
        yaml.safe_dump(doc, fh, sort_keys=False)
    os.replace(tmp, path)
    return key
