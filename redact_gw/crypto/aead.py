"""AES-256-GCM sealing with associated data, HKDF and keyed fingerprints.

This is the ONE module that touches ``cryptography.hazmat``. Every failure to open
collapses into ``IntegrityError``: callers cannot tell a tampered ciphertext from a
wrong key or a row moved to another record, and neither can an attacker.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from redact_gw.errors import IntegrityError

KEY_BYTES = 32
NONCE_BYTES = 12


def new_key() -> bytes:
    """A fresh random 256-bit key."""
    return os.urandom(KEY_BYTES)


def aad(*parts: str) -> bytes:
    """Associated data from labelled parts; NUL-separated so parts cannot run together."""
    if any("\0" in p for p in parts):
        raise ValueError("associated-data parts must not contain NUL")
    return "\0".join(parts).encode("utf-8")


def seal(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    """Encrypt with a fresh 96-bit nonce; returns ``nonce || ciphertext+tag``."""
    return sealer(key)(plaintext, associated)


def sealer(key: bytes) -> Callable[[bytes, bytes], bytes]:
    """``seal`` under one key for many values: the cipher is set up once (each value
    still gets its own fresh random nonce)."""
    encrypt = AESGCM(key).encrypt

    def seal_one(plaintext: bytes, associated: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + encrypt(nonce, plaintext, associated)
    return seal_one


def open_sealed(key: bytes, sealed: bytes, associated: bytes) -> bytes:
    """Decrypt what ``seal`` produced; any mismatch raises ``IntegrityError``."""
    if len(key) != KEY_BYTES or len(sealed) < NONCE_BYTES + 16:
        raise IntegrityError()
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated)
    except (InvalidTag, ValueError):
        raise IntegrityError() from None


_NO_SALT = bytes(hashlib.sha256().digest_size)


def derive(key: bytes, purpose: str) -> bytes:
    """Derive an independent 256-bit subkey for ``purpose`` (HKDF-SHA256, RFC 5869,
    no salt). One output block, so extract and expand are one HMAC each: the same
    bytes as ``cryptography``'s ``HKDF`` (tested), without building its objects on
    every new record."""
    prk = hmac.digest(_NO_SALT, key, "sha256")
    return hmac.digest(prk, purpose.encode("utf-8") + b"\x01", "sha256")[:KEY_BYTES]


if KEY_BYTES > 32:  # derive computes one HKDF-SHA256 output block
    raise RuntimeError("derive: a subkey longer than 32 bytes needs more HKDF blocks")


def fingerprint(key: bytes, message: str) -> bytes:
    """Keyed HMAC-SHA256 of ``message``: equal inputs match, nothing else leaks."""
    return hmac.digest(key, message.encode("utf-8"), "sha256")
