"""The audit hash chain: pure functions shared by every store and by verification.

Each event's hash covers its sequence number, the previous event's hash and its
canonical JSON payload, so editing, deleting, inserting or reordering any event
breaks the chain at that point.

The chain is keyed: an event's hash is an HMAC-SHA256 under a key derived from the
key file's primary key-encryption key, written ``k1:<kid>:<hex>``. A database writer
without the key file can edit rows but cannot compute a valid hash for them, so a
rewritten chain no longer verifies. Events written before the chain was keyed
(schema version 1 gateways) carry a plain SHA-256 and are accepted only as the
chain's prefix: once a keyed event appears, every later one must be keyed too.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from redact_gw.crypto import aead
from redact_gw.crypto.keyring import Keyring

GENESIS = "0" * 64
KEYED_PREFIX = "k1:"

#: (key id, HMAC key) the next events are chained under.
ChainKey = tuple[str, bytes]
#: Key id -> HMAC key, ``None`` when the key file no longer has that key.
KeyLookup = Callable[[str], bytes | None]


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def canonical(payload: dict[str, Any]) -> str:
    """Deterministic JSON: sorted keys, no spaces, ASCII only (``json.dumps`` with these
    options, without building an encoder per event)."""
    return _CANONICAL.encode(payload)


def _message(prev_hash: str, seq: int, payload: str) -> bytes:
    return f"{seq}\n{prev_hash}\n{payload}".encode()


def chain_hash(prev_hash: str, seq: int, payload: str, key: ChainKey | None = None) -> str:
    """The event's hash: keyed (``k1:<kid>:<hmac>``) when a key is given, else the
    legacy plain SHA-256 (only for reading old chains and tests without keys)."""
    if key is None:
        return hashlib.sha256(_message(prev_hash, seq, payload)).hexdigest()
    kid, secret = key
    mac = _keyed(secret).copy()
    mac.update(_message(prev_hash, seq, payload))
    return f"{KEYED_PREFIX}{kid}:{mac.hexdigest()}"


@functools.lru_cache(maxsize=16)
def _keyed(secret: bytes) -> hmac.HMAC:
    """An HMAC-SHA256 keyed with ``secret`` and fed nothing, to copy per event (copying
    skips the key schedule and OpenSSL's digest lookup); a handful of keys at most."""
    return hmac.new(secret, digestmod=hashlib.sha256)


def is_keyed(hash_value: str) -> bool:
    """Whether a stored hash is an HMAC (``k1:...``)."""
    return hash_value.startswith(KEYED_PREFIX)


def check_hash(hash_value: str, prev_hash: str, seq: int, payload: str,
               lookup: KeyLookup | None) -> str | None:
    """``None`` when the stored hash is right, else the problem (never key bytes)."""
    if not is_keyed(hash_value):
        ok = hmac.compare_digest(hash_value, chain_hash(prev_hash, seq, payload))
        return None if ok else "hash mismatch (edited event)"
    kid = hash_value[len(KEYED_PREFIX):].partition(":")[0]
    secret = lookup(kid) if lookup is not None else None
    if secret is None:
        return "keyed event, and the key file does not hold its key"
    expected = chain_hash(prev_hash, seq, payload, (kid, secret))
    return None if hmac.compare_digest(hash_value, expected) else "hash mismatch (edited event)"


@functools.lru_cache(maxsize=16)
def derive_key(kek: bytes) -> bytes:
    """The audit HMAC key of one key-encryption key (derived once per key: every
    audited request would otherwise run HKDF again; a handful of keys at most)."""
    return aead.derive(kek, "redact_gw/audit-chain/v1")


def current_key(ring: Keyring) -> ChainKey:
    """The key new events are chained under: derived from the primary KEK."""
    return ring.primary_kid, derive_key(ring.primary.key)


def lookup_in(ring: Keyring) -> KeyLookup:
    """Key id -> audit key, from a keyring (retired keys included)."""
    def lookup(kid: str) -> bytes | None:
        kek = ring.keys.get(kid)
        return derive_key(kek.key) if kek is not None else None
    return lookup
