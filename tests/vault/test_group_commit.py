"""Group commit in the SQLite store's thread: writes queued together share one commit,
and each caller still succeeds or fails closed on its own."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from redact_gw.crypto.keyring import KeyringSource
from redact_gw.errors import VaultUnavailable
from redact_gw.model import PendingValue
from redact_gw.vault.service import Vault
from redact_gw.vault.sqlite import SqliteStore
from redact_gw.vault.sqlite_tx import TxThread


@pytest.fixture
async def tx(tmp_path: Path) -> AsyncIterator[tuple[TxThread, sqlite3.Connection]]:
    conn = sqlite3.connect(tmp_path / "t.db", isolation_level=None,
                           check_same_thread=False)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("CREATE TABLE p (id TEXT PRIMARY KEY)")
    conn.execute("CREATE TABLE c (pid TEXT REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)")
    thread = TxThread(lambda: conn)
    thread.start()
    yield thread, conn
    thread.stop()
    conn.close()


def _insert(value: str, *, fail: bool = False) -> Callable[[sqlite3.Connection], str]:
    def fn(c: sqlite3.Connection) -> str:
        c.execute("INSERT INTO p VALUES (?)", (value,))
        if fail:
            raise ValueError("this caller's own failure")
        return value
    return fn


async def _grouped(thread: TxThread, fns: list[Callable[[sqlite3.Connection], Any]]
                   ) -> list[Any]:
    """Queue ``fns`` as writes while the thread is held, so they form one group."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        held.set()
        release.wait(5)
    blocker = asyncio.ensure_future(thread.run("call", hold))
    await asyncio.to_thread(held.wait, 5)
    tasks = [asyncio.ensure_future(thread.run("write", fn)) for fn in fns]
    await asyncio.sleep(0)  # every write is queued behind the held call
    release.set()
    await blocker
    return await asyncio.gather(*tasks, return_exceptions=True)


def _ids(conn: sqlite3.Connection) -> list[str]:
    return sorted(r[0] for r in conn.execute("SELECT id FROM p"))


async def test_queued_writes_share_one_commit(tx: tuple[TxThread, sqlite3.Connection]) -> None:
    thread, conn = tx
    results = await _grouped(thread, [_insert(f"v{i}") for i in range(10)])
    assert results == [f"v{i}" for i in range(10)]
    assert (thread.commits, thread.grouped_writes) == (1, 10)
    assert _ids(conn) == sorted(f"v{i}" for i in range(10))


async def test_a_failing_write_fails_alone(tx: tuple[TxThread, sqlite3.Connection]) -> None:
    thread, conn = tx
    results = await _grouped(thread, [_insert("a"), _insert("b", fail=True), _insert("c")])
    assert results[0] == "a" and results[2] == "c"
    assert isinstance(results[1], ValueError)
    assert _ids(conn) == ["a", "c"]  # b's insert was rolled back to its savepoint
    assert thread.commits == 1


async def test_a_failing_first_write_fails_alone(
        tx: tuple[TxThread, sqlite3.Connection]) -> None:
    """A failing write at the head of a group fails alone (its savepoint): the writes
    after it still commit together; a lone write without a savepoint too."""
    thread, conn = tx
    results = await _grouped(thread, [_insert("a", fail=True), _insert("b", fail=True),
                                      _insert("c"), _insert("d", fail=True), _insert("e")])
    assert [type(r) for r in results] == [ValueError, ValueError, str, ValueError, str]
    assert _ids(conn) == ["c", "e"]
    assert thread.commits == 1
    lone = await asyncio.gather(thread.run("write", _insert("f", fail=True)),
                                return_exceptions=True)
    assert isinstance(lone[0], ValueError)
    assert await thread.run("write", _insert("g")) == "g"
    assert _ids(conn) == ["c", "e", "g"]


async def test_a_lone_write_failing_halfway_keeps_nothing(
        tx: tuple[TxThread, sqlite3.Connection]) -> None:
    """A lone write runs without a savepoint: its first statement is undone with it."""
    thread, conn = tx

    def half(c: sqlite3.Connection) -> None:
        c.execute("INSERT INTO p VALUES ('half')")
        raise ValueError("failed after one statement")
    with pytest.raises(ValueError):
        await thread.run("write", half)
    assert _ids(conn) == []
    assert await thread.run("write", _insert("next")) == "next"
    assert _ids(conn) == ["next"]


async def test_a_stopped_loops_pending_wake_up_does_not_strand_work(
        tx: tuple[TxThread, sqlite3.Connection]) -> None:
    """A wake-up scheduled on a loop that stopped before running it never runs: the
    next operation, from another loop, takes over the wake-up instead of waiting."""
    thread, _ = tx
    stopped = asyncio.new_event_loop()
    try:
        thread._wake_loop = stopped  # as if its last turn queued work, then it stopped
        assert await asyncio.wait_for(thread.run("write", _insert("x")), 5) == "x"
        assert thread._wake_loop is None
    finally:
        stopped.close()


async def test_a_failed_commit_fails_every_caller_and_keeps_nothing(
        tx: tuple[TxThread, sqlite3.Connection]) -> None:
    thread, conn = tx

    def orphan(c: sqlite3.Connection) -> None:  # only the COMMIT sees the broken key
        c.execute("INSERT INTO c VALUES ('nobody')")
    results = await _grouped(thread, [_insert("a"), orphan, _insert("b")])
    assert all(isinstance(r, VaultUnavailable) for r in results)
    assert _ids(conn) == []
    assert conn.execute("SELECT count(*) FROM c").fetchone()[0] == 0
    assert thread.commits == 0
    assert await thread.run("write", _insert("later")) == "later"  # the thread goes on
    assert _ids(conn) == ["later"]


async def test_a_read_queued_after_a_write_sees_it(
        tx: tuple[TxThread, sqlite3.Connection]) -> None:
    thread, _conn = tx
    write = asyncio.ensure_future(thread.run("write", _insert("x")))
    read = asyncio.ensure_future(thread.run("read", _ids))
    assert await write == "x"
    assert await read == ["x"]


async def test_a_stopped_thread_refuses_work(tmp_path: Path) -> None:
    thread = TxThread(lambda: None)
    thread.start()
    with pytest.raises(VaultUnavailable):  # no connection: fail closed, no hang
        await thread.run("read", _ids)
    thread.stop()
    with pytest.raises(VaultUnavailable):
        await thread.run("read", _ids)


async def test_concurrent_tokenizes_group_and_every_token_opens(
        tmp_path: Path, keys: KeyringSource) -> None:
    store = SqliteStore(tmp_path / "vault.db")
    await store.open()
    try:
        vault = Vault(store, keys)
        values = [[PendingValue("PERSON", f"name {i}", f"Name {i}")] for i in range(24)]
        tokens = await asyncio.gather(*(
            vault.tokenize("acme", f"rec-{i}", None, v) for i, v in enumerate(values)))
        assert store._tx_thread is not None
        assert store._tx_thread.commits < store._tx_thread.grouped_writes  # shared commits
        for i, found in enumerate(tokens):
            token = found[("PERSON", f"name {i}")]
            opened = await vault.reveal("acme", f"rec-{i}", [token])
            assert opened[token].value == f"Name {i}"
    finally:
        await store.close()


async def test_queued_reads_share_a_snapshot_and_fail_alone(
        tx: tuple[TxThread, sqlite3.Connection]) -> None:
    thread, _conn = tx
    await thread.run("write", _insert("x"))
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        held.set()
        release.wait(5)

    def broken(c: sqlite3.Connection) -> None:
        c.execute("SELECT * FROM no_such_table")
    blocker = asyncio.ensure_future(thread.run("call", hold))
    await asyncio.to_thread(held.wait, 5)
    reads = [asyncio.ensure_future(thread.run("read", fn)) for fn in (_ids, broken, _ids)]
    await asyncio.sleep(0)
    release.set()
    await blocker
    results = await asyncio.gather(*reads, return_exceptions=True)
    assert results[0] == results[2] == ["x"]
    assert isinstance(results[1], sqlite3.OperationalError)


async def test_no_operation_waits_for_a_wake_up_that_never_comes(
        tx: tuple[TxThread, sqlite3.Connection]) -> None:
    """Operations queued from this loop and from a second loop in another thread, in
    bursts and one by one, while the thread is busy or idle: every one is answered
    (a lost wake-up would leave a caller waiting forever)."""
    thread, conn = tx

    def other_loop() -> list[str]:
        async def go() -> list[str]:
            out = []
            for i in range(150):
                out.append(await thread.run("write", _insert(f"o{i}")))
            return out
        return asyncio.run(go())

    async def burst(k: int) -> list[str]:
        names = [f"b{k}.{i}" for i in range(k % 5 + 1)]
        got = await asyncio.gather(*(thread.run("write", _insert(n)) for n in names))
        if k % 3 == 0:
            await asyncio.sleep(0.001)  # let the thread go idle in between
        return list(got)

    other = asyncio.ensure_future(asyncio.to_thread(other_loop))
    mine = await asyncio.wait_for(asyncio.gather(*(burst(k) for k in range(120))), 30)
    theirs = await asyncio.wait_for(other, 30)
    assert len(theirs) == 150 and sum(len(b) for b in mine) == 360
    assert len(_ids(conn)) == 510


async def test_stop_finishes_what_is_queued(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "s.db", isolation_level=None,
                           check_same_thread=False)
    conn.execute("CREATE TABLE p (id TEXT PRIMARY KEY)")
    thread = TxThread(lambda: conn)
    thread.start()
    writes = [asyncio.ensure_future(thread.run("write", _insert(str(i)))) for i in range(20)]
    await asyncio.sleep(0)  # all queued, the wake-up scheduled
    await asyncio.to_thread(thread.stop)  # blocks until the thread has ended
    assert await asyncio.wait_for(asyncio.gather(*writes), 5) == [str(i) for i in range(20)]
    assert len(_ids(conn)) == 20
    conn.close()
