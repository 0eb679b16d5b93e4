"""``TxThread``: the one thread that owns the SQLite connection, with group commit.

Every request that tokenizes writes small transactions (its sealed values, its audit
event), and each used to pay its own commit (a sync to disk with ``synchronous=FULL``)
and its own two hand-offs between the event loop and the thread. Here the thread takes
everything queued at once:

- **Writes queued together run in one transaction** (``BEGIN IMMEDIATE`` ... one
  ``COMMIT``), each inside its own ``SAVEPOINT`` (but a lone write, whose failure
  rolls back a transaction holding nothing else). A write that raises is rolled back
  alone and only its caller gets the error. The others' callers get
  their results only after the ``COMMIT`` succeeded; when the commit (or a rollback to
  a savepoint) fails, the whole group is rolled back and every caller of the group gets
  ``VaultUnavailable``: each fails closed on its own, nothing is half-written, and no
  caller is told "stored" for a write that was not.
- **Reads queued together** run in one read transaction (one snapshot: they were
  concurrent anyway); a read that raises fails alone. Operations keep their queue
  order across kinds, so a read queued after a write sees it.
- **Calls** (connect, migrate, vacuum, disconnect) run alone, outside any transaction.
- Results go back to the event loop in one wake-up per group, not one per operation.
- The thread is woken once per turn of the event loop, not once per operation: the
  operations queued by every coroutine that ran in that turn are then taken together
  (a wake-up is a futex call, a context switch and a fight for the GIL while the loop
  still has work; it was the biggest single cost of a request on the loop's side).
  The wake-up is one item put on a ``queue.SimpleQueue`` (C), not a
  ``threading.Condition``'s notify: a woken waiter of a condition must take the
  condition's lock back, which the notifier still holds, so each notify woke the
  thread twice; on this VM 47 against 8 microseconds per wake-up, 19% of the
  gateway's time holding the GIL under 32 short requests in flight.

A group holds at most ``max_group`` writes, so one commit never waits on an unbounded
queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from redact_gw.errors import VaultUnavailable

Conn = sqlite3.Connection
Kind = Literal["call", "read", "write"]


@dataclass(slots=True)
class _Op:
    kind: Kind
    fn: Callable[..., Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


#: (future, succeeded, result or exception)
_Outcome = tuple[asyncio.Future[Any], bool, Any]


class TxThread:
    """Runs queued operations on the connection ``conn()`` in one dedicated thread."""

    def __init__(self, conn: Callable[[], Conn | None], *, max_group: int = 64,
                 name: str = "vault-sqlite") -> None:
        self._conn = conn
        self._max_group = max_group
        self._name = name
        self._queue: deque[_Op] = deque()
        #: Guards the queue, ``_stopping`` and ``_wake_loop``; never held while waiting.
        self._lock = threading.Lock()
        #: One item per wake-up; the thread drains the whole queue per item taken
        #: (an item left over from a drained queue costs one empty pass).
        self._bell: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stopping = False
        #: The loop that has a wake-up of the thread scheduled, if any.
        self._wake_loop: asyncio.AbstractEventLoop | None = None
        #: Commits so far and writes they carried (tests, benchmarks).
        self.commits = 0
        self.grouped_writes = 0

    def start(self) -> None:
        """Start the thread."""
        self._stopping = False
        self._wake_loop = None
        self._thread = threading.Thread(target=self._main, name=self._name, daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._stopping

    async def run(self, kind: Kind, fn: Callable[..., Any]) -> Any:
        """Queue ``fn`` (``fn()`` for a call, ``fn(conn)`` in a transaction otherwise)
        and wait for its result; its exception is raised here."""
        loop = asyncio.get_running_loop()
        op = _Op(kind, fn, loop, loop.create_future())
        with self._lock:
            if not self.running:
                raise VaultUnavailable()
            self._queue.append(op)
            wake = self._wake_loop
            ring = False
            if wake is None or (wake is not loop and not wake.is_running()):
                # wake the thread once this turn of the loop ends (a stopped loop's
                # wake-up may never run: this loop takes over)
                self._wake_loop = loop
                loop.call_soon(self._wake)
            elif wake is not loop:  # another running loop's turn may end much later
                ring = True
        if ring:
            self._bell.put(None)
        return await op.future

    def _wake(self) -> None:
        with self._lock:
            self._wake_loop = None
        self._bell.put(None)

    def stop(self) -> None:
        """Finish what is queued, then end the thread (blocking)."""
        with self._lock:
            self._stopping = True
            self._wake_loop = None
        self._bell.put(None)
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    # -- the thread -----------------------------------------------------------------
    def _main(self) -> None:
        while True:
            self._bell.get()
            while True:  # everything queued, including what arrives meanwhile
                with self._lock:
                    if not self._queue:
                        if self._stopping:
                            return
                        break
                    ops = self._take()
                outcomes = ([self._call(ops[0])] if ops[0].kind == "call"
                            else self._group(ops))
                self._deliver(outcomes)

    def _take(self) -> list[_Op]:
        """The next call alone, or up to ``max_group`` consecutive reads or writes."""
        first = self._queue.popleft()
        ops = [first]
        if first.kind != "call":
            while (self._queue and self._queue[0].kind == first.kind
                   and len(ops) < self._max_group):
                ops.append(self._queue.popleft())
        return ops

    @staticmethod
    def _call(op: _Op) -> _Outcome:
        try:
            return op.future, True, op.fn()
        except Exception as exc:
            return op.future, False, exc

    def _group(self, ops: list[_Op]) -> list[_Outcome]:
        """Reads in one transaction, or writes in one, each in its own savepoint but a
        lone write: rolling its transaction back undoes it exactly, which spares a
        savepoint's statements and its sub-journal per commit at low load. (The first
        write of a larger group keeps its savepoint: rolling back and beginning again
        would give the write lock up between them, and a writer of another process
        taking it then would fail the group's other, valid writes.)"""
        write = ops[0].kind == "write"
        outcomes: list[_Outcome] = []
        try:
            conn = self._live()
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except Exception as exc:
            return [(op.future, False, exc) for op in ops]
        savepoint = write and len(ops) > 1
        try:
            for op in ops:
                if savepoint:
                    conn.execute("SAVEPOINT grouped")
                try:
                    result = op.fn(conn)
                except Exception as exc:
                    outcomes.append((op.future, False, exc))
                    if savepoint:
                        conn.execute("ROLLBACK TO grouped")
                        conn.execute("RELEASE grouped")
                    elif write:  # a lone write: its transaction holds nothing else
                        conn.execute("ROLLBACK")
                        return outcomes
                    continue
                if savepoint:
                    conn.execute("RELEASE grouped")
                outcomes.append((op.future, True, result))
            conn.execute("COMMIT")
        except Exception:  # the group's transaction is lost: every caller fails closed
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            return [(op.future, False, VaultUnavailable()) for op in ops]
        if write:
            self.commits += 1
            self.grouped_writes += len(ops)
        return outcomes

    def _live(self) -> Conn:
        conn = self._conn()
        if conn is None:
            raise VaultUnavailable()
        return conn

    def _deliver(self, outcomes: list[_Outcome]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome[0].get_loop(), []).append(outcome)
        for loop, items in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
                loop.call_soon_threadsafe(_settle, items)


def _settle(outcomes: list[_Outcome]) -> None:
    for future, ok, value in outcomes:
        if future.done():  # the caller was cancelled
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
