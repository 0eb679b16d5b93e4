"""`make run` ports: REDACT_GW_PORT and REDACT_GW_DEMO_PORT move them; a busy one is one line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from redact_gw.demo import gateway_env
from redact_gw.testing_server import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def _demo(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "redact_gw.demo", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})


@pytest.mark.parametrize(("variable", "what"), [("REDACT_GW_DEMO_PORT", "demo model"),
                                                ("REDACT_GW_PORT", "gateway")])
def test_busy_port_is_one_line_naming_the_variable(busy_port: int, variable: str,
                                                   what: str) -> None:
    ports = {"REDACT_GW_PORT": str(free_port()), "REDACT_GW_DEMO_PORT": str(free_port()),
             variable: str(busy_port)}
    proc = _demo(**ports)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"demo: cannot listen on 127.0.0.1:{busy_port} for the {what} (Address already in"
        f" use); stop what uses it, or choose another port: {variable}={busy_port + 1}"
        " make run"]
    assert "Traceback" not in proc.stdout


def test_model_alone_on_a_busy_port(busy_port: int) -> None:
    proc = _demo("model", REDACT_GW_DEMO_PORT=str(busy_port))
    assert proc.returncode == 1 and len(proc.stderr.splitlines()) == 1
    assert "REDACT_GW_DEMO_PORT=" in proc.stderr


def test_bad_demo_port_value() -> None:
    proc = _demo("model", REDACT_GW_DEMO_PORT="eighty")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "demo: REDACT_GW_DEMO_PORT='eighty' is not a port number"


def test_gateway_forwards_to_the_moved_demo_model_unless_told_otherwise() -> None:
    assert gateway_env("127.0.0.1", 9123, {})["REDACT_GW_UPSTREAM_URL"] == (
        "http://127.0.0.1:9123/v1")
    mine = {"REDACT_GW_UPSTREAM_URL": "https://api.example.com/v1"}
    assert gateway_env("127.0.0.1", 9123, mine)["REDACT_GW_UPSTREAM_URL"] == (
        "https://api.example.com/v1")
    # the live demo's assist service moves with the demo model too
    assert gateway_env("127.0.0.1", 9123, {})["REDACT_GW_ASSIST_DEMO_URL"] == (
        "http://127.0.0.1:9123/v1/assist")
    from redact_gw.settings import load_settings
    settings = load_settings(ROOT / "config" / "redact-gw.yaml", {
        "REDACT_GW_ASSIST_DEMO_URL": "http://127.0.0.1:9123/v1/assist"})
    assert settings.live.assist["demo"].url == "http://127.0.0.1:9123/v1/assist"


def test_a_second_make_run_says_how_to_get_a_key_again(tmp_path: Path) -> None:
    """The keys are printed on the first run only: later runs say how to make one."""
    import yaml

    from redact_gw.policy.principals import create_api_key
    create_api_key(tmp_path / "principals.yaml", "demo-ai", "demo", ["ai-service"])
    config = tmp_path / "gw.yaml"
    config.write_text(yaml.safe_dump({"auth": {"principals_file": "principals.yaml"},
                                      "keys": {"path": "keys.yaml"},
                                      "vault": {"url": "vault.db"}}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "redact_gw.demo", "--config", str(config)], cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "REDACT_GW_PORT": str(free_port()),
             "REDACT_GW_DEMO_PORT": str(free_port()), "REDACT_GW_DETECTION_WORKERS": "1"})
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
    assert first.startswith("demo: the demo API keys were shown when they were made")
    assert f"redact-gw --config {config} apikey create --tenant demo" in first
    assert "make clean-state" in first
