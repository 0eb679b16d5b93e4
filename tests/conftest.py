"""Shared fixtures: settings in a temp dir, dev keys, API keys, the app under test."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient

from redact_gw.crypto.keyring import generate_key_file
from redact_gw.detection import Detector
from redact_gw.policy.principals import create_api_key
from redact_gw.proxy.app import create_app
from redact_gw.settings import DetectionSettings, Settings, load_settings
from redact_gw.testing import FakeClock, FakeDetector


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    """When collected tests use PostgreSQL, make sure its test database exists first
    (created when missing); without a server, stop with one line, never skip."""
    import asyncio
    import sys
    if "tests.pg" not in sys.modules or not items:
        return
    from tests.pg import ensure_database
    problem = asyncio.run(ensure_database())
    if problem:
        pytest.exit(problem, returncode=1)


@pytest.fixture(scope="session")
def detector() -> Detector:
    """The real Presidio + spaCy detector, loaded once per test session."""
    from redact_gw.detection import build_detector
    det = build_detector(DetectionSettings())
    det.warm_up()
    return det


@dataclass
class Env:
    """A configured gateway home in a temp dir."""

    root: Path
    config_path: Path
    keys: dict[str, str]  # principal name -> API key

    def settings(self, **env: str) -> Settings:
        return load_settings(self.config_path, env)

    def auth(self, name: str = "ai") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}"}


def write_config(root: Path, overrides: dict[str, Any] | None = None) -> Path:
    cfg: dict[str, Any] = {
        "vault": {"url": "vault.db"},
        "keys": {"path": "keys.yaml", "reload_interval_s": 0.2},
        "auth": {"principals_file": "principals.yaml"},
        "server": {"max_body_bytes": 65536},
        "detection": {"timeout_s": 2.0},
    }
    for section, values in (overrides or {}).items():
        cfg.setdefault(section, {}).update(values)
    path = root / "redact-gw.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture
def env(tmp_path: Path) -> Env:
    config = write_config(tmp_path)
    generate_key_file(tmp_path / "keys.yaml")
    keys = {
        "ai": create_api_key(tmp_path / "principals.yaml", "ai", "acme", ["ai-service"]),
        "admin": create_api_key(tmp_path / "principals.yaml", "admin", "acme", ["admin"]),
        "other": create_api_key(tmp_path / "principals.yaml", "other", "globex",
                                ["ai-service"]),
        "norole": create_api_key(tmp_path / "principals.yaml", "norole", "acme", []),
    }
    keys["ai2"] = create_api_key(tmp_path / "principals.yaml", "ai2", "acme", ["ai-service"])
    for role in ("agent", "supervisor", "compliance"):
        keys[role] = create_api_key(tmp_path / "principals.yaml", role, "acme", [role])
    keys["other-admin"] = create_api_key(tmp_path / "principals.yaml", "other-admin", "globex",
                                         ["admin"])
    return Env(tmp_path, config, keys)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


MakeClient = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def make_client(aiohttp_client: Any, env: Env, clock: FakeClock) -> MakeClient:
    """Start the gateway; defaults to the fast fake detector."""
    async def make(detector: Detector | None = None, settings: Settings | None = None,
                   **kwargs: Any) -> TestClient:
        det = detector if detector is not None else FakeDetector()
        app = create_app(settings or env.settings(), detector_factory=lambda: det,
                         clock=clock, **kwargs)
        client: TestClient = await aiohttp_client(app)
        return client
    return make


# -- proxy: a fake upstream AI service and the gateway in front of it on real ports --------
@dataclass
class Gateway:
    """The gateway on a real port in front of a recording fake upstream."""

    server: Any
    upstream_server: Any
    fake: Any
    client: TestClient
    env: Env

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("/v1"))

    def openai(self, key: str = "ai", **kwargs: Any) -> Any:
        import openai
        return openai.AsyncOpenAI(base_url=self.base_url, api_key=self.env.keys[key],
                                  max_retries=0, timeout=10, **kwargs)


MakeGateway = Callable[..., Awaitable[Gateway]]


@pytest.fixture
def make_gateway(aiohttp_server: Any, aiohttp_client: Any, env: Env,
                 clock: FakeClock) -> MakeGateway:
    """Start a FakeUpstream and the gateway (fast fake detector unless one is given).

    ``config`` is merged into the test config (sections are merged one level deep,
    ``routes`` replaced); ``upstream_url`` overrides where the gateway forwards to;
    ``worker_factory`` runs detection in worker processes building that detector.
    """
    from redact_gw.testing import FakeUpstream

    async def make(detector: Detector | None = None, config: dict[str, Any] | None = None,
                   upstream_url: str | None = None,
                   fake: FakeUpstream | None = None,
                   worker_factory: str | None = None) -> Gateway:
        fake = fake or FakeUpstream()
        up = await aiohttp_server(fake.app())  # TestServer cancels handlers on disconnect
        cfg = yaml.safe_load(env.config_path.read_text())
        for section, values in (config or {}).items():
            if isinstance(values, dict):
                cfg.setdefault(section, {}).update(values)
            else:
                cfg[section] = values
        path = env.root / "gateway.yaml"
        path.write_text(yaml.safe_dump(cfg))
        settings = load_settings(path, {
            "REDACT_GW_UPSTREAM_URL": upstream_url or str(up.make_url("/v1")),
            "REDACT_GW_UPSTREAM_API_KEY": "sk-upstream-secret"})
        if worker_factory is not None:  # detection in real worker processes
            app = create_app(settings, worker_factory=worker_factory, clock=clock)
        else:
            det = detector if detector is not None else FakeDetector()
            app = create_app(settings, detector_factory=lambda: det, clock=clock)
        server = await aiohttp_server(app)
        client: TestClient = await aiohttp_client(server)
        return Gateway(server, up, fake, client, env)
    return make
