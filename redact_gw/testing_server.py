"""A real gateway process with the regex ``FakeDetector``: for tests and benchmarks.

    python -m redact_gw.testing_server --config redact-gw.yaml

The same settings, application, cleanup contexts (vault, keys, migrations, purge
schedule) and HTTP server as ``redact-gw serve``; only the detector differs, so a test
can start several processes in about a second instead of loading spaCy in each.
Deliberately not selectable from configuration: production cannot run the fake.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redact_gw.crypto import keyring
from redact_gw.settings import load_settings
from redact_gw.testing import FakeDetector


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT, then shut down gracefully (as ``redact-gw serve``)."""
    from redact_gw.logs import setup_logging
    from redact_gw.proxy import runner
    from redact_gw.proxy.app import create_app
    p = argparse.ArgumentParser(prog="python -m redact_gw.testing_server")
    p.add_argument("--config", required=True)
    p.add_argument("--log-level", default="WARNING")
    args = p.parse_args(argv)
    settings = load_settings(args.config)
    setup_logging(settings.server.log_format, args.log_level)
    keyring.load_keyring(settings.resolve(settings.keys.path))
    app = create_app(settings, detector_factory=FakeDetector)
    server = settings.server
    runner.run(app, server.host, server.port, shutdown_timeout_s=server.shutdown_timeout_s,
               access_log=server.access_log, event_loop=server.event_loop)
    return 0


@dataclass(frozen=True)
class GatewayHome:
    """A config file, key file and two API keys shared by the processes of a test."""

    config: Path
    key_path: Path
    ai_key: str = field(repr=False)
    admin_key: str = field(repr=False)

    def auth(self, admin: bool = False) -> dict[str, str]:
        """Authorization header for the ai-service (or admin) principal."""
        return {"Authorization": f"Bearer {self.admin_key if admin else self.ai_key}"}


def make_home(root: Path, vault_url: str, **sections: dict[str, Any]) -> GatewayHome:
    """Write config (vault at ``vault_url``), keys and principals under ``root``.

    ``sections`` are merged into the config (e.g. ``vault={"connect_timeout_s": 1}``).
    """
    import yaml

    from redact_gw.policy.principals import create_api_key
    cfg: dict[str, Any] = {
        "vault": {"url": vault_url},
        "keys": {"path": "keys.yaml", "reload_interval_s": 0.2},
        "auth": {"principals_file": "principals.yaml"},
        "access": {"reveal_quota_per_hour": 1_000_000},
        "server": {"access_log": False},
    }
    for name, values in sections.items():
        cfg.setdefault(name, {}).update(values)
    root.mkdir(parents=True, exist_ok=True)
    (root / "redact-gw.yaml").write_text(yaml.safe_dump(cfg))
    keyring.generate_key_file(root / "keys.yaml")
    principals = root / "principals.yaml"
    return GatewayHome(root / "redact-gw.yaml", root / "keys.yaml",
                       create_api_key(principals, "ai", "acme", ["ai-service"]),
                       create_api_key(principals, "admin", "acme", ["admin"]))


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GatewayProcess:
    """One ``python -m redact_gw.testing_server`` child process on its own port.

    Args:
        config: The gateway config file (vault, keys, principals...).
        env: Extra environment for the child.
    """

    def __init__(self, config: Path, env: dict[str, str] | None = None,
                 args: tuple[str, ...] = ()) -> None:
        self.config = config
        self.port = free_port()
        self.env = env or {}
        self.args = args
        self.proc: asyncio.subprocess.Process | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the child

    @property
    def url(self) -> str:
        """Base URL of the gateway."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout_s: float = 30.0) -> None:
        """Spawn the child and wait until ``/readyz`` answers 200.

        Raises:
            RuntimeError: the child exited or did not get ready in time (with its log).
        """
        import aiohttp
        env = {**os.environ, **self.env, "REDACT_GW_PORT": str(self.port)}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "redact_gw.testing_server", "--config", str(self.config),
            *self.args, env=env, stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + timeout_s
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline and self.proc.returncode is None:
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(self.url + "/readyz") as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(0.1)
        await self.stop()
        raise RuntimeError(f"gateway on port {self.port} did not start:\n{self.log()}")

    def log(self, tail: int | None = 4000) -> str:
        """What the child wrote to stdout and stderr so far (the last ``tail`` characters;
        all of it for ``None``)."""
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace")
        return text if tail is None else text[-tail:]

    async def stop(self) -> None:
        """SIGTERM (clean shutdown), then SIGKILL after 10 s."""
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


if __name__ == "__main__":
    sys.exit(main())
