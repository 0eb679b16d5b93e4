"""Revoking an API key from the console: the principal's entry leaves the principals
file (atomically, mode 0600); the file watcher drops it from memory within
``keys.reload_interval_s``, and its console sessions end on their next request.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import yaml

from redact_gw.errors import NotFound


def revoke_api_key(path: Path, name: str, tenant: str) -> None:
    """Remove principal ``name`` of ``tenant`` from the principals file."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items = doc.get("principals") or []
    kept = [p for p in items if not (p.get("name") == name and p.get("tenant") == tenant)]
    if len(kept) == len(items):
        raise NotFound("no such principal in this tenant", code="record_not_found")
    doc["principals"] = kept
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("# redact_gw principals: API key hashes only. Create keys with"
                 " `redact-gw apikey create`.\n")
        yaml.safe_dump(doc, fh, sort_keys=False)
    os.replace(tmp, path)
