"""The audit hash chain: pure functions shared by every store and by verification.

Each event's hash covers its sequence number, the previous event's hash and its
canonical JSON payload, so editing, deleting, inserting or reordering any event
breaks the chain at that point.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64


def canonical(payload: dict[str, Any]) -> str:
    """Deterministic JSON: sorted keys, no spaces, ASCII only."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def chain_hash(prev_hash: str, seq: int, payload: str) -> str:
    """SHA-256 over ``seq``, the previous hash and the payload."""
    return hashlib.sha256(f"{seq}\n{prev_hash}\n{payload}".encode()).hexdigest()
