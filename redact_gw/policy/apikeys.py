"""Create, list, revoke and rotate API keys in the principals file.

Every change holds an exclusive ``fcntl.flock`` on a sibling lock file
(``.principals.yaml.lock``) from reading the file to replacing it, so concurrent
``redact-gw apikey`` runs all land; the new file is written to a temporary file
(mode 0600), flushed to disk and renamed over the old one, so a reader sees the old
file or the new one, never half of one. A file that does not parse is never
rewritten: the change is refused with the parser's message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

import yaml

from redact_gw.errors import ConfigError
from redact_gw.policy.principals import (
    _NAME_RE,
    KEY_PREFIX,
    format_time,
    hash_key,
    key_id,
    parse_time,
    read,
)

Clock = Callable[[], float]
_HEADER = ("# redact_gw principals: API key hashes only. Manage keys with"
           " `redact-gw apikey create|list|revoke|rotate`.\n")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[dict[str, Any]]:
    """The file's document under an exclusive lock; written back if the block ends
    without an exception (the caller mutates the dict)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        doc: dict[str, Any] = {"principals": []}
        if path.exists():
            data, _entries = read(path)  # validates: a broken file is never rewritten
            doc = yaml.safe_load(data) or {"principals": []}
            doc.setdefault("principals", [])
        yield doc
        _write(path, doc)
    finally:
        os.close(fd)  # releases the lock


def _write(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(_HEADER)
            yaml.safe_dump(doc, fh, sort_keys=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _find(doc: dict[str, Any], name: str) -> dict[str, Any]:
    for item in doc["principals"]:
        if item.get("name") == name:
            if "revoked" in item:
                raise ConfigError(f"principal {name!r} is revoked")
            found: dict[str, Any] = item
            return found
    raise ConfigError(f"no principal named {name!r}")


def check_roles(roles: Collection[str], known: Collection[str]) -> None:
    """Refuse no role, or a role the config does not define."""
    configured = ", ".join(sorted(known)) or "(none)"
    if not roles:
        raise ConfigError(f"give at least one --role; configured roles: {configured}")
    unknown = sorted(set(roles) - set(known))
    if unknown:
        raise ConfigError(f"unknown role {', '.join(map(repr, unknown))};"
                          f" configured roles: {configured}")


def create(path: Path, name: str, tenant: str, roles: list[str], *,
           known_roles: Collection[str] | None = None, clock: Clock = time.time) -> str:
    """Add a principal with a fresh key; return the key (stored only as a hash).

    ``known_roles`` (the config's roles) makes an empty or unknown role an error.
    """
    for label, value in (("name", name), ("tenant", tenant)):
        if not _NAME_RE.fullmatch(value):
            raise ConfigError(f"{label} must be 1-64 letters, digits, '.', '_' or '-'")
    if known_roles is not None:
        check_roles(roles, known_roles)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with _locked(path) as doc:
        if any(item.get("name") == name for item in doc["principals"]):
            raise ConfigError(f"a principal named {name!r} already exists (names of"
                              " revoked principals stay taken)")
        doc["principals"].append({"name": name, "tenant": tenant, "roles": list(roles),
                                  "key_sha256": hash_key(key),
                                  "created": format_time(clock())})
    return key


def list_keys(path: Path, *, clock: Clock = time.time) -> list[dict[str, Any]]:
    """One dict per principal: name, tenant, roles, created, status, key ids."""
    if not path.exists():
        return []
    _data, entries = read(path)
    now = clock()
    out = []
    for e in entries:
        ids = [{"key_id": key_id(d.hex()),
                "valid_until": None if until == float("inf") else format_time(until)}
               for d, until in e.digests if until > now]
        out.append({
            "name": e.principal.name, "tenant": e.principal.tenant,
            "roles": sorted(e.principal.roles),
            "created": format_time(e.created) if e.created is not None else None,
            "status": "revoked" if e.revoked is not None else "active",
            "revoked": format_time(e.revoked) if e.revoked is not None else None,
            "keys": ids,
        })
    return out


def revoke(path: Path, name: str, *, clock: Clock = time.time) -> dict[str, Any]:
    """Remove every key of the principal at once; its name stays taken (so a new
    principal never inherits its values or quota)."""
    with _locked(path) as doc:
        item = _find(doc, name)
        removed = 1 + len(item.get("previous_keys") or [])
        item.pop("key_sha256", None)
        item.pop("previous_keys", None)
        item["revoked"] = format_time(clock())
    return {"name": name, "revoked": item["revoked"], "keys_removed": removed}


def rotate(path: Path, name: str, overlap_s: float, *,
           clock: Clock = time.time) -> tuple[str, dict[str, Any]]:
    """Give the principal a new key; its current key stays valid ``overlap_s`` more
    seconds (0: refused at once). Keys whose overlap has ended are dropped."""
    if overlap_s < 0:
        raise ConfigError("the overlap must not be negative")
    now = clock()
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with _locked(path) as doc:
        item = _find(doc, name)
        previous = [old for old in item.get("previous_keys") or []
                    if parse_time(old["valid_until"], "valid_until") > now]
        until = format_time(now + overlap_s)
        if overlap_s > 0:
            previous.append({"key_sha256": item["key_sha256"], "valid_until": until})
        item["key_sha256"] = hash_key(key)
        if previous:
            item["previous_keys"] = previous
        else:
            item.pop("previous_keys", None)
    return key, {"name": name, "key_id": key_id(hash_key(key)),
                 "old_key_valid_until": until if overlap_s > 0 else None}
