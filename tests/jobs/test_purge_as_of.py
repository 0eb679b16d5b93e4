"""`redact-gw purge --as-of DATE`: a retention you can see on day one."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from redact_gw.cli import main
from redact_gw.crypto.keyring import KeyringSource
from redact_gw.model import PendingValue
from redact_gw.testing import FakeClock
from redact_gw.vault.service import Vault
from redact_gw.vault.sqlite import SqliteStore
from tests.conftest import Env

DAY = 86400.0


async def _fill(db: Path, keys: Path) -> None:
    """Two values written now: one kept 1 day, one 30 days."""
    store = SqliteStore(db)
    await store.open()
    now = datetime.now(UTC).timestamp()
    periods = {"CREDIT_CARD": DAY, "PERSON": 30 * DAY}
    vault = Vault(store, KeyringSource(keys), clock=FakeClock(now),
                  expiry=lambda _t, _c, etype, at: at + periods[etype])
    await vault.tokenize("acme", "r1", None, [
        PendingValue("CREDIT_CARD", "4111111111111111", "4111 1111 1111 1111"),
        PendingValue("PERSON", "john smith", "John Smith")])
    await store.close()


def _purge(env: Env, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["--config", str(env.config_path), "purge", *args]) == 0
    report: dict[str, object] = json.loads(capsys.readouterr().out)
    return report


def test_as_of_purges_what_will_have_expired_by_then(env: Env,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_fill(env.root / "vault.db", env.root / "keys.yaml"))
    day = datetime.fromtimestamp(datetime.now(UTC).timestamp() + 2 * DAY, UTC).date()
    assert _purge(env, capsys)["values_removed"] == 0  # today nothing has expired
    assert _purge(env, capsys, "--as-of", day.isoformat(), "--dry-run")["values_by_type"] == {
        "CREDIT_CARD": 1}
    report = _purge(env, capsys, "--as-of", day.isoformat())
    assert str(report["cutoff"]).startswith(day.isoformat())
    assert report["values_removed"] == 1 and report["values_by_type"] == {"CREDIT_CARD": 1}
    # the lease was taken and released on the real clock: a normal purge still runs
    assert _purge(env, capsys)["values_removed"] == 0


def test_as_of_refuses_what_is_not_a_date(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--config", str(env.config_path), "purge", "--as-of", "next tuesday"])
    assert exc.value.code == 2
    assert "is not a date like 2027-01-01" in capsys.readouterr().err
