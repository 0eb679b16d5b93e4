"""Key-encryption keys: the key file, the in-memory keyring, generation and rotation.

Key file (YAML, mode 0600)::

    version: 1
    keys:
      - id: k-20261126-3f9a
        created: "2026-11-26T21:00:00Z"
        status: primary          # exactly one primary; older keys are "retired"
        key: <base64 of 32 random bytes>

New data keys are wrapped with the primary; retired keys stay until every record's
data key has been re-wrapped (``redact-gw keys rotate``), then may be removed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
import re
import secrets
import stat
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from redact_gw.crypto import aead
from redact_gw.errors import ConfigError, IntegrityError

_KID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: Words of a placeholder key, in any case. Each is long enough that a random base64
#: key holds one about once in 10^7 keys or fewer ("XXXX" in any case was once in about
#: 25,000: ``redact-gw keys generate`` made keys that the gateway then refused).
_PLACEHOLDER_MARKERS = ("REPLACE", "PLACEHOLDER", "CHANGE", "EXAMPLE", "XXXXXXXX")


@dataclass(frozen=True, slots=True)
class Kek:
    """One key-encryption key. The key bytes never appear in a repr."""

    kid: str
    created: datetime
    status: str
    key: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Keyring:
    """Immutable set of KEKs with exactly one primary."""

    keys: dict[str, Kek] = field(repr=False)
    primary_kid: str

    @property
    def primary(self) -> Kek:
        """The key new data keys are wrapped with."""
        return self.keys[self.primary_kid]

    def wrap(self, dek: bytes, context: bytes) -> tuple[str, bytes]:
        """Wrap a data key under the primary; returns ``(kid, wrapped)``."""
        kek = self.primary
        return kek.kid, aead.seal(kek.key, dek, context + b"\0" + kek.kid.encode())

    def unwrap(self, kid: str, wrapped: bytes, context: bytes) -> bytes:
        """Unwrap a data key wrapped under ``kid``; unknown kid is an integrity error."""
        kek = self.keys.get(kid)
        if kek is None:
            raise IntegrityError()
        return aead.open_sealed(kek.key, wrapped, context + b"\0" + kid.encode())


def _refuse(path: Path, reason: str) -> ConfigError:
    return ConfigError(f"key file {path}: {reason}")


def _parse_key(path: Path, idx: int, item: Any) -> Kek:
    where = f"keys[{idx}]"
    if not isinstance(item, dict):
        raise _refuse(path, f"{where} must be a mapping")
    unknown = set(item) - {"id", "created", "status", "key"}
    if unknown:
        raise _refuse(path, f"{where}: unknown field {sorted(unknown)[0]!r}")
    kid = item.get("id")
    if not isinstance(kid, str) or not _KID_RE.fullmatch(kid):
        raise _refuse(path, f"{where}.id must be 1-64 letters, digits, '.', '_' or '-'")
    status = item.get("status")
    if status not in ("primary", "retired"):
        raise _refuse(path, f"{where}.status must be 'primary' or 'retired'")
    created_raw = item.get("created")
    try:
        created = (created_raw if isinstance(created_raw, datetime)
                   else datetime.fromisoformat(str(created_raw).replace("Z", "+00:00")))
    except ValueError:
        raise _refuse(path, f"{where}.created must be an ISO-8601 timestamp") from None
    raw = item.get("key")
    if not isinstance(raw, str):
        raise _refuse(path, f"{where}.key must be a base64 string")
    if any(m in raw.upper() for m in _PLACEHOLDER_MARKERS):
        raise _refuse(path, f"{where}.key is a placeholder; run `redact-gw keys generate PATH`")
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise _refuse(path, f"{where}.key is not valid base64") from None
    if len(key) != aead.KEY_BYTES:
        raise _refuse(path, f"{where}.key must decode to 32 bytes (256 bits)")
    if len(set(key)) < 8:
        raise _refuse(path, f"{where}.key has too little entropy (placeholder?)")
    return Kek(kid, created, status, key)


def check_permissions(path: Path) -> None:
    """Refuse a key file that group or others can read or write."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise _refuse(path, "does not exist; run `redact-gw keys generate PATH`") from None
    except OSError as exc:
        raise _refuse(path, f"cannot be read ({exc.strerror})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise _refuse(path, f"is accessible by group or others (mode {stat.S_IMODE(mode):o});"
                            " run `chmod 600` on it")


def parse_keyring(path: Path, text: str) -> Keyring:
    """Parse key-file text into a ``Keyring``; every problem names the field."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        raise _refuse(path, "is not valid YAML") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list) or not doc["keys"]:
        raise _refuse(path, "must hold a non-empty 'keys' list")
    if doc.get("version", 1) != 1:
        raise _refuse(path, "unsupported version")
    keys: dict[str, Kek] = {}
    for idx, item in enumerate(doc["keys"]):
        kek = _parse_key(path, idx, item)
        if kek.kid in keys:
            raise _refuse(path, f"duplicate key id {kek.kid!r}")
        keys[kek.kid] = kek
    primaries = [k.kid for k in keys.values() if k.status == "primary"]
    if len(primaries) != 1:
        raise _refuse(path, "missing primary key" if not primaries
                      else "more than one primary key")
    return Keyring(keys, primaries[0])


def load_keyring(path: Path) -> Keyring:
    """Check permissions, then read and parse the key file."""
    check_permissions(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _refuse(path, f"cannot be read ({exc.strerror})") from None
    return parse_keyring(path, text)


def _new_kid(now: datetime) -> str:
    return f"k-{now:%Y%m%d}-{secrets.token_hex(3)}"


def _dump(keys: list[Kek]) -> str:
    doc = {"version": 1, "keys": [
        {"id": k.kid, "created": k.created.strftime("%Y-%m-%dT%H:%M:%SZ"), "status": k.status,
         "key": base64.b64encode(k.key).decode("ascii")} for k in keys]}
    header = "# redact_gw key file: keep it secret (mode 0600), never commit it.\n"
    dumped: str = yaml.safe_dump(doc, sort_keys=False)
    return header + dumped


def _write_private(path: Path, text: str, *, replace: bool) -> None:
    """Write ``text`` with mode 0600, atomically when replacing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not replace:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        return
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def generate_key_file(path: Path, now: datetime | None = None) -> Keyring:
    """Write a new key file with one primary key; refuses to overwrite."""
    now = now or datetime.now(UTC)
    kek = Kek(_new_kid(now), now, "primary", aead.new_key())
    try:
        _write_private(path, _dump([kek]), replace=False)
    except FileExistsError:
        raise _refuse(path, "already exists; refusing to overwrite") from None
    return Keyring({kek.kid: kek}, kek.kid)


def add_primary(path: Path, now: datetime | None = None) -> Keyring:
    """Add a new primary key to the file, retiring the current one (atomic replace)."""
    now = now or datetime.now(UTC)
    ring = load_keyring(path)
    new = Kek(_new_kid(now), now, "primary", aead.new_key())
    keys = [Kek(k.kid, k.created, "retired", k.key) for k in ring.keys.values()] + [new]
    _write_private(path, _dump(keys), replace=True)
    return Keyring({k.kid: k for k in keys}, new.kid)


class KeyringSource:
    """The live keyring of a running gateway, re-read when the key file changes.

    A rotation rewrites the file and re-wraps data keys under the new primary. The
    serving gateway picks the new file up from its file watcher (every
    ``interval_s``) or at once when it meets an unknown key id (``ensure``). Reading
    the file happens in a worker thread, never on the event loop. A key file that
    became invalid is refused and the last good keyring is kept.
    """

    def __init__(self, path: Path, interval_s: float = 5.0) -> None:
        self.path = path
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._ring = load_keyring(path)
        self._mtime = self._stat_mtime()

    def _stat_mtime(self) -> float:
        try:
            return self.path.stat().st_mtime_ns / 1e9
        except OSError:
            return -1.0

    def current(self) -> Keyring:
        """The keyring as last loaded (no I/O)."""
        return self._ring

    def reload_if_changed(self) -> bool:
        """Re-read the file if its mtime changed (blocking; call off the event loop)."""
        with self._lock:
            mtime = self._stat_mtime()
            if mtime == self._mtime:
                return False
            try:
                ring = load_keyring(self.path)
            except ConfigError:
                return False
            self._ring, self._mtime = ring, mtime
            return True

    async def refresh(self) -> bool:
        """``reload_if_changed`` in a worker thread."""
        return await asyncio.to_thread(self.reload_if_changed)

    async def ensure(self, kid: str) -> Keyring:
        """A keyring holding ``kid`` if the file has it (re-reading the file on a miss)."""
        if kid not in self._ring.keys:
            await self.refresh()
        return self._ring
