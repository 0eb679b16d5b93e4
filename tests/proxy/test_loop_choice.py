"""``server.event_loop``: uvloop when installed (``auto``), asyncio's loop on request."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from redact_gw.proxy.runner import loop_factory
from redact_gw.settings import ServerSettings


def test_auto_runs_on_uvloop_and_asyncio_on_request() -> None:
    factory = loop_factory("auto")
    assert factory is not None
    with asyncio.Runner(loop_factory=factory) as runner:
        assert isinstance(runner.get_loop(), uvloop.Loop)
    assert loop_factory("asyncio") is None


def test_auto_falls_back_when_uvloop_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now fails
    assert loop_factory("auto") is None


def test_the_setting_refuses_unknown_loops() -> None:
    assert ServerSettings().event_loop == "auto"
    with pytest.raises(ValueError):
        ServerSettings(event_loop="tokio")  # type: ignore[arg-type]
