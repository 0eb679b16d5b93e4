"""PostgreSQL for tests: the server of ``REDACT_GW_TEST_PG_DSN``, one fresh schema per use.

Unreachable PostgreSQL is an error, never a skip. ``python -m tests.pg`` (run by
``make test`` before pytest) creates the test database when the server is reachable and
it is missing, and otherwise fails with one line saying how to point at a server.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg

#: DSN of the test database (override with ``REDACT_GW_TEST_PG_DSN``).
PG_DSN = os.environ.get("REDACT_GW_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def _with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + database))


def shown_dsn(dsn: str = PG_DSN) -> str:
    """``dsn`` without its password, for messages."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


async def ensure_database(dsn: str = PG_DSN) -> str | None:
    """Create the database of ``dsn`` if the server answers and it is missing.

    Returns ``None`` when the database is usable, else one line saying what is wrong
    and how to point the tests at a server.
    """
    how = ("start PostgreSQL there, or set REDACT_GW_TEST_PG_DSN=postgresql://USER@HOST:PORT/DB"
           " (a server where USER may create the database; it is created if missing)")
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except asyncpg.InvalidCatalogNameError:
        database = urlsplit(dsn).path.lstrip("/")
        try:
            admin = await asyncpg.connect(_with_database(dsn, "postgres"), timeout=5)
            try:
                await admin.execute(f'CREATE DATABASE "{database}"')
            finally:
                await admin.close()
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            return (f"tests need PostgreSQL: cannot create database {database!r} at"
                    f" {shown_dsn(dsn)} ({type(exc).__name__}); {how}")
        print(f"tests: created database {database!r} at {shown_dsn(dsn)}", file=sys.stderr)
        return None
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        return f"tests need PostgreSQL: cannot connect to {shown_dsn(dsn)} ({reason}); {how}"
    await conn.close()
    return None


def schema_dsn(schema: str, dsn: str = PG_DSN) -> str:
    """``dsn`` with every connection's ``search_path`` set to ``schema``."""
    return f"{dsn}{'&' if '?' in dsn else '?'}search_path={schema}"


@asynccontextmanager
async def fresh_schema(dsn: str = PG_DSN) -> AsyncIterator[str]:
    """Create an empty schema with a random name; drop it (and all in it) afterwards."""
    name = "t_" + secrets.token_hex(6)
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(f'CREATE SCHEMA "{name}"')
    finally:
        await conn.close()
    try:
        yield name
    finally:
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            await conn.execute(f'DROP SCHEMA "{name}" CASCADE')
        finally:
            await conn.close()


class TcpForwarder:
    """A TCP relay to PostgreSQL that a test can cut (connections reset, new ones
    refused) and restore on the same port, without touching the shared server."""

    def __init__(self, dsn: str = PG_DSN) -> None:
        parts = urlsplit(dsn)
        self._dsn = dsn
        self.target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def dsn(self, schema: str) -> str:
        """DSN of the test database through this relay, in ``schema``."""
        parts = urlsplit(self._dsn)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = (userinfo + "@" if userinfo else "") + f"127.0.0.1:{self.port}"
        return schema_dsn(schema, urlunsplit(parts._replace(netloc=netloc)))

    async def start(self) -> None:
        """Listen (on a free port the first time, on the same port afterwards)."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Stop listening and reset every relayed connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for w in list(self._writers):
            w.transport.abort()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    restore = start

    async def close(self) -> None:
        """Cut for good."""
        await self.cut()

    async def _accept(self, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        up_writer: asyncio.StreamWriter | None = None
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
            self._writers.add(up_writer)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except OSError:
            pass
        finally:
            for w in (writer, up_writer):
                if w is not None:
                    w.transport.abort()
                    self._writers.discard(w)
            self._tasks.discard(task)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.transport.abort()


if __name__ == "__main__":
    problem = asyncio.run(ensure_database())
    if problem:
        print(problem, file=sys.stderr)
    raise SystemExit(1 if problem else 0)
