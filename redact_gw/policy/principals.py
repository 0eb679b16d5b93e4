"""API keys -> principals (name, tenant, roles): the principals file and its reloads.

The principals file stores only a SHA-256 hash of each key (keys are 256-bit random
strings, so a fast hash is enough and no salt is needed). Lookups compare against
every key hash with ``hmac.compare_digest`` and never stop early. Keys are created,
listed, revoked and rotated by ``redact_gw.policy.apikeys`` (``redact-gw apikey``).

File format (YAML, mode 0600; a file group or others can write is refused)::

    principals:
      - name: qa-scorer
        tenant: acme
        roles: [ai-service]
        key_sha256: 5f1c...e9
        created: '2026-11-29T18:00:00+00:00'
        previous_keys:             # after `apikey rotate`: valid until the overlap ends
          - {key_sha256: 9a0b...12, valid_until: '2026-11-30T18:00:00+00:00'}
      - name: old-bot              # after `apikey revoke`: no key, the name stays taken
        tenant: acme
        roles: [ai-service]
        revoked: '2026-11-29T19:00:00+00:00'

The gateway re-reads the file when its content (not only its mtime) changes, and at
once (at most once per second) when a request brings a key it does not know, so a key
made by ``apikey create`` works on its first request. A file it cannot accept (bad
YAML, a bad entry, writable by group or others) is refused: the gateway logs it,
counts it (``redact_gw_principals_reloads_total``) and keeps the last good set.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
import os
import re
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from redact_gw.errors import ConfigError
from redact_gw.model import Principal

log = logging.getLogger(__name__)

KEY_PREFIX = "rgw_"
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_HEX64_RE = re.compile(r"[0-9a-f]{64}")
_FIELDS = {"name", "tenant", "roles", "key_sha256", "created", "previous_keys", "revoked"}
#: Unknown keys re-read the file at most this often (seconds).
UNKNOWN_KEY_RELOAD_INTERVAL_S = 1.0


def hash_key(key: str) -> str:
    """Hex SHA-256 of an API key."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def key_id(key_sha256: str) -> str:
    """A short, public id of a key: the first 12 hex digits of its hash."""
    return key_sha256[:12]


class InsecureFileMode(ConfigError):
    """The principals file is writable by group or others."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One principal of the file and its key hashes (never a key)."""

    principal: Principal
    digests: tuple[tuple[bytes, float], ...] = field(repr=False)  # (sha256, valid until)
    created: float | None = None
    revoked: float | None = None


def parse_time(value: Any, where: str) -> float:
    """An ISO 8601 timestamp (YAML may already have made it a datetime) -> epoch."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ConfigError(f"{where} must be an ISO 8601 timestamp") from None
    if not isinstance(value, datetime):
        raise ConfigError(f"{where} must be an ISO 8601 timestamp")
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def format_time(ts: float) -> str:
    """Epoch -> the file's ISO 8601 form (UTC, seconds)."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _digest(value: Any, where: str) -> bytes:
    if not (isinstance(value, str) and _HEX64_RE.fullmatch(value)):
        raise ConfigError(f"{where} must be 64 lowercase hex digits")
    return bytes.fromhex(value)


def _parse_entry(item: Any, where: str) -> Entry:
    if not isinstance(item, dict) or set(item) - _FIELDS:
        raise ConfigError(f"{where} must have only {', '.join(sorted(_FIELDS))}")
    name, tenant, roles = (item.get(k) for k in ("name", "tenant", "roles"))
    if not (isinstance(name, str) and _NAME_RE.fullmatch(name)):
        raise ConfigError(f"{where}.name must be 1-64 letters, digits, '.', '_' or '-'")
    if not (isinstance(tenant, str) and _NAME_RE.fullmatch(tenant)):
        raise ConfigError(f"{where}.tenant must be 1-64 letters, digits, '.', '_' or '-'")
    if not (isinstance(roles, list) and all(isinstance(r, str) for r in roles)):
        raise ConfigError(f"{where}.roles must be a list of role names")
    created = parse_time(item["created"], f"{where}.created") if "created" in item else None
    principal = Principal(name, tenant, frozenset(roles))
    if "revoked" in item:
        if "key_sha256" in item or item.get("previous_keys"):
            raise ConfigError(f"{where} is revoked and must hold no key")
        return Entry(principal, (), created, parse_time(item["revoked"], f"{where}.revoked"))
    digests = [(_digest(item.get("key_sha256"), f"{where}.key_sha256"), math.inf)]
    previous = item.get("previous_keys") or []
    if not isinstance(previous, list):
        raise ConfigError(f"{where}.previous_keys must be a list")
    for j, old in enumerate(previous):
        here = f"{where}.previous_keys[{j}]"
        if not isinstance(old, dict) or set(old) != {"key_sha256", "valid_until"}:
            raise ConfigError(f"{here} must have exactly key_sha256 and valid_until")
        digests.append((_digest(old["key_sha256"], f"{here}.key_sha256"),
                        parse_time(old["valid_until"], f"{here}.valid_until")))
    return Entry(principal, tuple(digests), created)


def parse(path: Path, text: str) -> list[Entry]:
    """The entries of a principals file's text; ``ConfigError`` naming what is wrong."""
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        raise ConfigError(f"principals file {path} is not valid YAML") from None
    items = doc.get("principals", []) if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise ConfigError(f"principals file {path} must hold a 'principals' list")
    entries = [_parse_entry(item, f"principals file {path}: principals[{i}]")
               for i, item in enumerate(items)]
    names = [e.principal.name for e in entries]
    if len(set(names)) != len(names):
        raise ConfigError(f"principals file {path} names a principal twice")
    return entries


def read(path: Path) -> tuple[bytes, list[Entry]]:
    """The file's bytes and entries; refuses a file group or others can write."""
    data = read_bytes(path)
    return data, parse_bytes(path, data)


def read_bytes(path: Path) -> bytes:
    """The file's bytes, unparsed; refuses a file group or others can write."""
    with path.open("rb") as fh:
        mode = os.fstat(fh.fileno()).st_mode
        data = fh.read()
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise InsecureFileMode(f"principals file {path} is writable by group or others,"
                               f" who could add an API key; chmod 600 {path}")
    return data


def parse_bytes(path: Path, data: bytes) -> list[Entry]:
    """``parse`` of the file's bytes, which must be UTF-8."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"principals file {path} is not UTF-8") from None
    return parse(path, text)


class PrincipalDirectory:
    """Authenticates API keys against the principals file.

    ``authenticate`` does no I/O; the app's file watcher calls ``refresh``, and the
    auth middleware calls ``authenticate_fresh``, which re-reads the file for a key it
    does not know (rate-limited).

    Args:
        path: The principals file.
        clock: Wall clock, for the end of a rotated key's overlap window.
        on_reload: Called with ``loaded``, ``invalid``, ``insecure_mode`` or
            ``unreadable`` after each re-read of changed content (the metric).
    """

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time,
                 on_reload: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.clock = clock
        self.on_reload = on_reload
        self._lock = threading.Lock()
        self._entries: list[Entry] = []
        self._seen: bytes | None = None  # sha256 of the content last looked at
        self._checked_at = -math.inf  # time.monotonic() when the last read started
        self._unknown_lock = asyncio.Lock()
        self._unknown_reload_at = -math.inf
        self._stat_seen: tuple[int, ...] = ()
        self._load(initial=True)

    async def refresh(self) -> None:
        """Re-read the file in a worker thread if its content changed."""
        await asyncio.to_thread(self._load)

    def _load(self, *, initial: bool = False) -> None:
        with self._lock:
            started = time.monotonic()
            self._stat_seen = _stat(self.path)
            try:
                try:
                    data = read_bytes(self.path)
                except FileNotFoundError:
                    data = b""
                seen = hashlib.sha256(data).digest()
                if seen == self._seen and not initial:  # the same content: no parse
                    self._checked_at = started
                    return
                entries = parse_bytes(self.path, data)
            except (ConfigError, OSError) as exc:
                if initial:
                    raise
                self._refused(exc, started)
                return
            self._checked_at = started
            if not initial:
                log.info("principals file reloaded: %d principal(s)", len(entries),
                         extra={"event": "principals_reloaded"})
                self._report("loaded")
            self._entries, self._seen = entries, seen

    def _refused(self, exc: ConfigError | OSError, started: float) -> None:
        """Keep the last good set; log and count the refusal once per content."""
        self._checked_at = started
        try:
            seen = hashlib.sha256(self.path.read_bytes()).digest()
        except OSError:
            seen = b"unreadable"
        reason = ("insecure_mode" if isinstance(exc, InsecureFileMode)
                  else "invalid" if isinstance(exc, ConfigError) else "unreadable")
        if seen + reason.encode() == self._seen:
            return
        self._seen = seen + reason.encode()
        message = exc.message if isinstance(exc, ConfigError) else (
            f"principals file {self.path} cannot be read ({type(exc).__name__})")
        log.error("principals file refused, keeping the last good set of %d: %s",
                  len(self._entries), message, extra={"event": "principals_refused"})
        self._report(reason)

    def _report(self, outcome: str) -> None:
        if self.on_reload is not None:
            self.on_reload(outcome)

    def entries(self) -> list[Entry]:
        """Every entry, revoked ones too (no key material)."""
        return list(self._entries)

    def principals(self) -> list[Principal]:
        """Every principal that is not revoked."""
        return [e.principal for e in self._entries if e.revoked is None]

    def authenticate(self, key: str) -> Principal | None:
        """The principal owning ``key``, or ``None``; compares in constant time."""
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        now = self.clock()
        found: Principal | None = None
        for entry in self._entries:
            for candidate, valid_until in entry.digests:
                if hmac.compare_digest(candidate, digest) and now < valid_until:
                    found = entry.principal
        return found

    async def authenticate_fresh(self, key: str) -> Principal | None:
        """Like ``authenticate``; a key it does not know re-reads the file first, at
        most once per ``UNKNOWN_KEY_RELOAD_INTERVAL_S``. Within that second, a file
        whose metadata did not change since the last read answers at once; one that
        did is read as soon as the second ends (a key created a moment ago works)."""
        found = self.authenticate(key)
        if found is not None:
            return found
        arrived = time.monotonic()
        async with self._unknown_lock:
            if self._checked_at >= arrived:  # read since this request came: nothing new
                return self.authenticate(key)
            wait = self._unknown_reload_at + UNKNOWN_KEY_RELOAD_INTERVAL_S - time.monotonic()
            if wait > 0:
                if _stat(self.path) == self._stat_seen:
                    return None
                await asyncio.sleep(wait)
            if self._checked_at < arrived:  # the file watcher may have read it meanwhile
                self._unknown_reload_at = time.monotonic()
                await self.refresh()
        return self.authenticate(key)


def _stat(path: Path) -> tuple[int, ...]:
    """What changes whenever the file is written or replaced (ctime even by ``cp -p``)."""
    try:
        st = path.stat()
    except OSError:
        return ()
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode)


def create_api_key(path: Path, name: str, tenant: str, roles: list[str]) -> str:
    """Add a principal with a fresh key (see ``apikeys.create``); return the key."""
    from redact_gw.policy.apikeys import create
    return create(path, name, tenant, roles)
