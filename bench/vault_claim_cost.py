"""What naming a subject costs a vault write, SQLite and PostgreSQL, same run.

A request naming a subject may *claim* values its record holds without one (a call
identified midway: ``Claim`` in ``redact_gw/vault/base.py``). This times
``Vault.tokenize`` in process, as ``/v1/redact`` calls it (with the read before
detection), on records that already hold the request's values:

- **no subject**: the request names none (the baseline);
- **subject, owned**: the values are already the subject's (the common case: the
  read saw nothing to claim, so PostgreSQL needs no transaction of its own);
- **subject, claiming**: the values were stored without a subject, and this request
  claims them (re-sealed; PostgreSQL in one transaction).

Medians of ``--rounds`` passes over ``--records`` records each, in milliseconds per
request and as a ratio to the baseline. Not a test: read the ratios.

    .venv/bin/python -m bench.vault_claim_cost [--records 300] [--rounds 3]
        [--pg-dsn postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bench.vault_throughput import vault_url
from redact_gw.crypto.keyring import KeyringSource, generate_key_file
from redact_gw.model import PendingValue
from redact_gw.vault.base import VaultStore
from redact_gw.vault.postgres import PostgresStore
from redact_gw.vault.service import Vault
from redact_gw.vault.sqlite import SqliteStore

VALUES = [PendingValue("PERSON", "ada lovelace", "Ada Lovelace"),
          PendingValue("PHONE_NUMBER", "2125550142", "212-555-0142")]


async def _pass(vault: Vault, store: VaultStore, prefix: str, n: int,
                subject: str | None) -> float:
    """Milliseconds per request over records ``prefix0..n-1``."""
    t0 = time.perf_counter()
    for i in range(n):
        state = await store.redaction_state("t", f"{prefix}{i}", subject, entries=True)
        await vault.tokenize("t", f"{prefix}{i}", subject, VALUES, read=state)
    return (time.perf_counter() - t0) / n * 1000


async def measure(store: VaultStore, keys: KeyringSource, n: int,
                  rounds: int) -> dict[str, float]:
    vault = Vault(store, keys)
    times: dict[str, list[float]] = {}
    for k in range(rounds):
        # fresh records each round: "owned" ones hold the subject's values, "free"
        # ones values stored without a subject, claimed by the timed pass
        for i in range(n):
            await vault.tokenize("t", f"owned{k}-{i}", "cust-1", VALUES)
            await vault.tokenize("t", f"free{k}-{i}", None, VALUES)
        times.setdefault("no subject", []).append(
            await _pass(vault, store, f"owned{k}-", n, None))
        times.setdefault("subject, owned", []).append(
            await _pass(vault, store, f"owned{k}-", n, "cust-1"))
        times.setdefault("subject, claiming", []).append(
            await _pass(vault, store, f"free{k}-", n, "cust-1"))
    return {name: statistics.median(t) for name, t in times.items()}


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        generate_key_file(Path(tmp) / "keys.yaml")
        keys = KeyringSource(Path(tmp) / "keys.yaml")
        for backend in args.backends:
            async with vault_url(backend, Path(tmp), args.pg_dsn) as url:
                store: VaultStore = (SqliteStore(Path(url)) if backend == "sqlite"
                                     else PostgresStore(url, max_size=4))
                await store.open()
                try:
                    ms = await measure(store, keys, args.records, args.rounds)
                finally:
                    await store.close()
            base = ms["no subject"]
            print(f"{backend}: " + "   ".join(
                f"{name} {v:.3f} ms (x{v / base:.2f})" for name, v in ms.items()))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=300)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--backends", nargs="+", default=["sqlite", "postgres"],
                   choices=["sqlite", "postgres"])
    p.add_argument("--pg-dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    return p.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
