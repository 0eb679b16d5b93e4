"""PostgreSQL for tests: the CI server on 127.0.0.1:5432, one fresh schema per use.

Unreachable PostgreSQL is an error, never a skip: CI (``.ci/run``) starts the server.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

#: DSN of the test database (override with ``REDACT_GW_TEST_PG_DSN``).
PG_DSN = os.environ.get("REDACT_GW_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


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

    def __init__(self, host: str = "127.0.0.1", port: int = 5432) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def dsn(self, schema: str) -> str:
        """DSN of the test database through this relay, in ``schema``."""
        return schema_dsn(schema, f"postgresql://postgres@127.0.0.1:{self.port}/test")

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
