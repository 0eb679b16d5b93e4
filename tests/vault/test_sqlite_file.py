"""What an attacker holding the SQLite file (and its WAL) can and cannot learn or do."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from pathlib import Path

import pytest

from redact_gw.crypto.keyring import KeyringSource, add_primary, generate_key_file
from redact_gw.errors import IntegrityError
from redact_gw.model import PendingValue
from redact_gw.vault.service import Vault
from redact_gw.vault.sqlite import SqliteStore

PLANTED = [
    ("PERSON", "rebecca quinterra", "Rebecca Quinterra"),
    ("PHONE_NUMBER", "4155550199", "(415) 555-0199"),
    ("EMAIL_ADDRESS", "rq.unique@example.org", "rq.unique@example.org"),
    ("CREDIT_CARD", "4111111111111111", "4111 1111 1111 1111"),
    ("US_SSN", "078051120", "078-05-1120"),
]


def _needles(original: str, key: str) -> list[bytes]:
    out = []
    for s in {original, key, original.lower()}:
        b = s.encode()
        out.append(b)
        out.append(s.encode("utf-16-le"))
        for algo in ("md5", "sha1", "sha256", "sha512", "blake2b"):
            d = hashlib.new(algo, b)
            out += [d.digest(), d.hexdigest().encode()]
    return out


def _raw_bytes(db: Path) -> bytes:
    data = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = Path(str(db) + suffix)
        if p.exists():
            data += p.read_bytes()
    return data


async def test_db_file_holds_no_value_nor_unkeyed_hash(tmp_path: Path) -> None:
    generate_key_file(tmp_path / "keys.yaml")
    store = SqliteStore(tmp_path / "vault.db")
    await store.open()
    vault = Vault(store, KeyringSource(tmp_path / "keys.yaml"))
    values = [PendingValue(t, k, o) for t, k, o in PLANTED]
    tokens = await vault.tokenize("acme", "call-1", "cust-9", values)
    assert len(tokens) == len(PLANTED)
    raw_open = _raw_bytes(tmp_path / "vault.db")
    await store.close()
    raw = raw_open + _raw_bytes(tmp_path / "vault.db")
    assert len(raw) > 4096
    for _t, key, original in PLANTED:
        for needle in _needles(original, key):
            assert needle not in raw, f"planted value leaked in some form ({len(needle)} bytes)"
    assert (tmp_path / "vault.db").stat().st_mode & 0o077 == 0


async def _vault_with_values(tmp_path: Path) -> tuple[Vault, SqliteStore, dict]:
    generate_key_file(tmp_path / "keys.yaml")
    store = SqliteStore(tmp_path / "vault.db")
    await store.open()
    vault = Vault(store, KeyringSource(tmp_path / "keys.yaml"))
    tokens = await vault.tokenize("acme", "r1", None, [PendingValue(t, k, o)
                                                       for t, k, o in PLANTED[:2]])
    await vault.tokenize("acme", "r2", None, [PendingValue(*PLANTED[2])])
    return vault, store, tokens


def _sql(db: Path, statement: str, *params: object) -> None:
    con = sqlite3.connect(db)
    con.execute(statement, params)
    con.commit()
    con.close()


async def test_tampered_ciphertext_is_an_integrity_error(tmp_path: Path) -> None:
    vault, store, tokens = await _vault_with_values(tmp_path)
    token = next(iter(tokens.values()))
    con = sqlite3.connect(tmp_path / "vault.db")
    (sealed,) = con.execute("SELECT sealed FROM entries WHERE token=?", (token,)).fetchone()
    con.close()
    flipped = bytearray(sealed)
    flipped[-3] ^= 0x40
    _sql(tmp_path / "vault.db", "UPDATE entries SET sealed=? WHERE token=?", bytes(flipped), token)
    with pytest.raises(IntegrityError) as info:
        await vault.reveal("acme", "r1", [token])
    assert info.value.code == "integrity_error"
    await store.close()


async def test_swapped_rows_are_an_integrity_error(tmp_path: Path) -> None:
    vault, store, tokens = await _vault_with_values(tmp_path)
    t1, t2 = list(tokens.values())
    db = tmp_path / "vault.db"
    con = sqlite3.connect(db)
    s1 = con.execute("SELECT sealed FROM entries WHERE token=?", (t1,)).fetchone()[0]
    s2 = con.execute("SELECT sealed FROM entries WHERE token=?", (t2,)).fetchone()[0]
    con.execute("UPDATE entries SET sealed=? WHERE token=?", (s2, t1))
    con.execute("UPDATE entries SET sealed=? WHERE token=?", (s1, t2))
    con.commit()
    con.close()
    for token in (t1, t2):
        with pytest.raises(IntegrityError):
            await vault.reveal("acme", "r1", [token])
    await store.close()


async def test_data_key_moved_to_other_record_is_an_integrity_error(tmp_path: Path) -> None:
    vault, store, tokens = await _vault_with_values(tmp_path)
    db = tmp_path / "vault.db"
    con = sqlite3.connect(db)
    row = con.execute("SELECT wrapped_dek, dek_id FROM records WHERE record_id='r2'").fetchone()
    con.execute("UPDATE records SET wrapped_dek=?, dek_id=? WHERE record_id='r1'", row)
    con.commit()
    con.close()
    with pytest.raises(IntegrityError):
        await vault.reveal("acme", "r1", list(tokens.values()))
    await store.close()


async def test_rotation_while_serving_thousands_of_records(tmp_path: Path) -> None:
    """Reveals keep succeeding before, during and after a re-wrap of 2,000 records."""
    key_path = tmp_path / "keys.yaml"
    generate_key_file(key_path)
    store = SqliteStore(tmp_path / "vault.db")
    await store.open()
    serving = Vault(store, KeyringSource(key_path, interval_s=0.01))
    n = 2000
    tokens: dict[str, str] = {}
    for i in range(0, n, 200):
        batch = [(f"rec-{j}", PendingValue("PHONE_NUMBER", str(5550000 + j),
                                           f"555-{j:04d}")) for j in range(i, i + 200)]
        results = await asyncio.gather(*(serving.tokenize("acme", r, None, [v])
                                         for r, v in batch))
        for (r, _v), res in zip(batch, results, strict=True):
            tokens[r] = next(iter(res.values()))

    stop = asyncio.Event()
    failures: list[BaseException] = []
    reveals = 0

    async def reveal_loop(offset: int) -> None:
        nonlocal reveals
        i = offset
        while not stop.is_set():
            rec = f"rec-{i % n}"
            try:
                out = await serving.reveal("acme", rec, [tokens[rec]])
                assert out[tokens[rec]].value == f"555-{i % n:04d}"
                reveals += 1
            except BaseException as exc:
                failures.append(exc)
            i += 37

    readers = [asyncio.create_task(reveal_loop(k)) for k in range(4)]
    await asyncio.sleep(0.05)
    old_kid = serving.keys.current().primary_kid
    ring = add_primary(key_path)
    rotator = Vault(store, KeyringSource(key_path))
    rewrapped = 0
    while (done := await rotator.rewrap_batch(250)):
        rewrapped += done
        await asyncio.sleep(0)
    stop.set()
    await asyncio.gather(*readers)
    assert failures == []
    # Reveals ran between rewrap batches (68 to several hundred, by machine load).
    assert rewrapped == n and reveals > 10
    assert await store.count_records_by_kek() == {ring.primary_kid: n}
    assert old_kid != ring.primary_kid
    # the serving vault picks up the new primary for new records (the app's file
    # watcher calls refresh every keys.reload_interval_s)
    await serving.keys.refresh()
    await serving.tokenize("acme", "after", None, [PendingValue("PERSON", "x y", "X Y")])
    assert (await store.get_record("acme", "after")).kek_id == ring.primary_kid
    await store.close()


async def test_rewritten_sender_is_an_integrity_error(tmp_path: Path) -> None:
    """Who sent a value decides whose answers may restore it: it is bound in the AAD."""
    generate_key_file(tmp_path / "keys.yaml")
    store = SqliteStore(tmp_path / "vault.db")
    await store.open()
    vault = Vault(store, KeyringSource(tmp_path / "keys.yaml"))
    tokens = await vault.tokenize("acme", "r1", None, [PendingValue(*PLANTED[0])],
                                  sent_by="qa-scorer")
    token = next(iter(tokens.values()))
    assert (await vault.reveal("acme", "r1", [token]))[token].sent_by == "qa-scorer"
    _sql(tmp_path / "vault.db", f"UPDATE entries SET sent_by='attacker' WHERE token='{token}'")
    with pytest.raises(IntegrityError):
        await vault.reveal("acme", "r1", [token])
    await store.close()
