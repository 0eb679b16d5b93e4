"""Detection workers never outlive their gateway, however it ends.

A real ``python -m redact_gw serve`` (the Presidio detector in one worker process):
SIGTERM stops the worker with the gateway; so does SIGKILL, which gives the gateway
no chance to clean up (the worker sees its stdin close).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from redact_gw.testing_server import free_port, make_home


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(p) for p in (task / "children").read_text().split()]
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes (its parent has not reaped it yet)
    return "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


async def _start(tmp_path: Path) -> tuple[asyncio.subprocess.Process, list[int]]:
    port = free_port()
    home = make_home(tmp_path, "vault.db", detection={"workers": 1},
                     server={"port": port, "access_log": False})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "redact_gw", "--config", str(home.config), "serve",
        env={**os.environ, "REDACT_GW_PORT": str(port)},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while True:
            assert proc.returncode is None and time.monotonic() < deadline
            try:
                async with http.get(f"http://127.0.0.1:{port}/readyz") as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    workers = _children(proc.pid)
    assert len(workers) == 1
    return proc, workers


async def _gone(pids: list[int], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
async def test_workers_end_with_the_gateway(tmp_path: Path, sig: signal.Signals) -> None:
    proc, workers = await _start(tmp_path)
    proc.send_signal(sig)
    await asyncio.wait_for(proc.wait(), 30)
    assert proc.returncode == (0 if sig == signal.SIGTERM else -signal.SIGKILL)
    assert await _gone(workers), "a detection worker outlived its gateway"
