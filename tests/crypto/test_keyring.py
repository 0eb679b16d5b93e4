import base64
import os
from pathlib import Path

import pytest

from redact_gw.crypto import aead
from redact_gw.crypto.keyring import (
    KeyringSource,
    add_primary,
    generate_key_file,
    load_keyring,
    parse_keyring,
)
from redact_gw.errors import ConfigError, IntegrityError

REPO = Path(__file__).resolve().parents[2]


def _keyfile(tmp_path: Path, body: str, mode: int = 0o600) -> Path:
    p = tmp_path / "keys.yaml"
    p.write_text(body)
    os.chmod(p, mode)
    return p


def _key_b64() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_generate_writes_0600_and_refuses_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "k" / "keys.yaml"
    ring = generate_key_file(path)
    assert (path.stat().st_mode & 0o777) == 0o600
    assert load_keyring(path).primary_kid == ring.primary_kid
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="refusing to overwrite"):
        generate_key_file(path)
    assert path.read_bytes() == before


def test_keys_example_is_refused_as_placeholder(tmp_path: Path) -> None:
    example = (REPO / "keys.example").read_text()
    with pytest.raises(ConfigError, match="placeholder"):
        load_keyring(_keyfile(tmp_path, example))


@pytest.mark.parametrize("marker", ["xXxx", "XXXX", "Xxxxx"])
def test_a_random_key_with_a_run_of_x_is_a_real_key(tmp_path: Path, marker: str) -> None:
    """About one random key in 25,000 held "xxxx" in some case and was refused as a
    placeholder: a key ``keys generate`` made could keep the gateway from starting."""
    key = base64.b64encode(os.urandom(32)).decode()
    key = key[:8] + marker + key[8 + len(marker):]
    assert len(base64.b64decode(key, validate=True)) == 32
    body = f"keys: [{{id: a, created: '2026-01-01T00:00:00Z', status: primary, key: {key}}}]"
    assert load_keyring(_keyfile(tmp_path, body)).primary_kid == "a"
    placeholder = "XXXXXXXX" + key[8:]
    body = body.replace(key, placeholder)
    with pytest.raises(ConfigError, match="placeholder"):
        load_keyring(_keyfile(tmp_path, body))


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_group_or_other_readable_file_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "keys.yaml"
    generate_key_file(path)
    os.chmod(path, mode)
    with pytest.raises(ConfigError, match="group or others"):
        load_keyring(path)


@pytest.mark.parametrize(("body", "reason"), [
    ("keys: []", "non-empty 'keys' list"),
    ("keys: [{id: a, created: '2026-01-01T00:00:00Z', status: retired, key: KEY}]",
     "missing primary"),
    ("keys: [{id: a, created: '2026-01-01T00:00:00Z', status: primary, key: KEY},"
     " {id: b, created: '2026-01-01T00:00:00Z', status: primary, key: KEY}]",
     "more than one primary"),
    ("keys: [{id: a, created: '2026-01-01T00:00:00Z', status: primary, key: 'not base64!'}]",
     "not valid base64"),
    ("keys: [{id: a, created: '2026-01-01T00:00:00Z', status: primary, key: 'c2hvcnQ='}]",
     "32 bytes"),
    ("keys: [{id: a, created: yesterday, status: primary, key: KEY}]", "ISO-8601"),
    ("keys: [{id: a, created: '2026-01-01T00:00:00Z', status: active, key: KEY}]",
     "status must be"),
    ("keys: [{id: 'bad id', created: '2026-01-01T00:00:00Z', status: primary, key: KEY}]",
     "id must be"),
    ("keys: [{id: a, created: '2026-01-01T00:00:00Z', status: primary, key: KEY, x: 1}]",
     "unknown field"),
    ("keys: [{id: a, created: '2026-01-01T00:00:00Z', status: primary,"
     " key: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='}]", "entropy"),
    (": : :", "not valid YAML"),
])
def test_malformed_key_files_name_the_problem(tmp_path: Path, body: str, reason: str) -> None:
    body = body.replace("KEY", _key_b64())
    with pytest.raises(ConfigError, match=reason) as info:
        parse_keyring(tmp_path / "keys.yaml", body)
    assert "keys.yaml" in info.value.message


def test_missing_key_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="keys generate"):
        load_keyring(tmp_path / "nope.yaml")


def test_error_messages_never_contain_key_bytes(tmp_path: Path) -> None:
    key = _key_b64()
    body = f"keys: [{{id: a, created: '2026-01-01T00:00:00Z', status: retired, key: '{key}'}}]"
    with pytest.raises(ConfigError) as info:
        parse_keyring(tmp_path / "k.yaml", body)
    assert key not in str(info.value)
    ring = parse_keyring(tmp_path / "k.yaml", body.replace("retired", "primary"))
    assert key not in repr(ring) and key not in repr(ring.primary)


def test_wrap_unwrap_binds_context_and_kid(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    ring = generate_key_file(path)
    dek = aead.new_key()
    kid, wrapped = ring.wrap(dek, b"ctx")
    assert ring.unwrap(kid, wrapped, b"ctx") == dek
    with pytest.raises(IntegrityError):
        ring.unwrap(kid, wrapped, b"other")
    with pytest.raises(IntegrityError):
        ring.unwrap("unknown", wrapped, b"ctx")
    other = generate_key_file(tmp_path / "other.yaml")
    with pytest.raises(IntegrityError):  # wrong key under the same name
        other.unwrap(other.primary_kid, wrapped, b"ctx")


async def test_add_primary_retires_old_and_source_reloads(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    first = generate_key_file(path)
    source = KeyringSource(path, interval_s=1000)
    second = add_primary(path)
    assert second.primary_kid != first.primary_kid
    assert second.keys[first.primary_kid].status == "retired"
    assert (path.stat().st_mode & 0o777) == 0o600
    # nothing is read until asked: current() does no I/O
    assert source.current().primary_kid == first.primary_kid
    # an unknown kid forces a reload (in a worker thread)
    assert second.primary_kid in (await source.ensure(second.primary_kid)).keys
    assert source.current().primary_kid == second.primary_kid
    assert not await source.refresh()  # unchanged file: nothing to do


def test_seal_open_and_tamper() -> None:
    key = aead.new_key()
    sealed = aead.seal(key, b"4111111111111111", b"a\0b")
    assert aead.open_sealed(key, sealed, b"a\0b") == b"4111111111111111"
    assert sealed != aead.seal(key, b"4111111111111111", b"a\0b")  # fresh nonce
    for i in (0, 12, len(sealed) - 1):
        bad = bytearray(sealed)
        bad[i] ^= 1
        with pytest.raises(IntegrityError):
            aead.open_sealed(key, bytes(bad), b"a\0b")
    with pytest.raises(IntegrityError):
        aead.open_sealed(aead.new_key(), sealed, b"a\0b")
    with pytest.raises(IntegrityError):
        aead.open_sealed(key, sealed[:10], b"a\0b")
