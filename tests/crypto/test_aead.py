"""``crypto.aead``: the hand-rolled one-block HKDF gives the library's bytes, and the
per-key sealer seals like ``seal`` (fresh nonce each value, opens with ``open_sealed``)."""

from __future__ import annotations

import hashlib
import hmac
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from redact_gw.crypto import aead
from redact_gw.errors import IntegrityError


@pytest.mark.parametrize("key_len", [16, 32, 64])
@pytest.mark.parametrize("purpose", ["redact_gw/fingerprint/v1", "redact_gw/audit-chain/v1",
                                     "", "ü/ß"])
def test_derive_is_rfc5869_hkdf_sha256(key_len: int, purpose: str) -> None:
    key = os.urandom(key_len)
    expected = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                    info=purpose.encode("utf-8")).derive(key)
    assert aead.derive(key, purpose) == expected


def test_fingerprint_is_hmac_sha256() -> None:
    key = os.urandom(32)
    assert aead.fingerprint(key, "PERSON\0ann") == hmac.new(
        key, b"PERSON\0ann", hashlib.sha256).digest()
    assert aead.fingerprint(key, "PERSON\0ann") != aead.fingerprint(key, "PERSON\0bob")


def test_sealer_seals_each_value_with_its_own_nonce() -> None:
    key = aead.new_key()
    seal = aead.sealer(key)
    a, b = seal(b"same", b"ctx"), seal(b"same", b"ctx")
    assert a[:aead.NONCE_BYTES] != b[:aead.NONCE_BYTES]
    assert aead.open_sealed(key, a, b"ctx") == aead.open_sealed(key, b, b"ctx") == b"same"
    with pytest.raises(IntegrityError):
        aead.open_sealed(key, a, b"other context")
