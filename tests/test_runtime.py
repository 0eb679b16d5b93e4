"""The garbage collector is settled after the warm-up in both kinds of process.

A detection worker and the gateway each freeze what they hold once started
(``redact_gw.runtime``), so a full collection, which the collector starts by itself at
any moment, does not walk the loaded model (about 110 ms in a worker, holding up its
batch) or the gateway's start-up state (blocking its event loop). Each is checked in a
real process: the worker says how many objects it froze in its ready frame, the gateway
in its start-up log.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from redact_gw.detection.worker import encode, read_frame
from redact_gw.settings import DetectionSettings
from redact_gw.testing_server import GatewayProcess, make_home


def test_a_detection_worker_freezes_its_warm_heap_before_it_says_ready() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "redact_gw.detection.worker"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(encode({"settings": DetectionSettings(),
                                 "factory": "redact_gw.testing:FakeDetector"}))
        proc.stdin.flush()
        kind, info = read_frame(proc.stdout)  # type: ignore[arg-type]
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert kind == "ready"
    # the interpreter and this package alone are tens of thousands of objects
    assert info["gc_frozen"] > 10_000


async def test_the_gateway_freezes_its_start_up_heap_before_it_listens(
        tmp_path: Path) -> None:
    home = make_home(tmp_path, "vault.db")
    gateway = GatewayProcess(home.config, args=("--log-level", "INFO"))
    await gateway.start()
    try:
        log = gateway.log(tail=None)
    finally:
        await gateway.stop()
    frozen = [line for line in log.splitlines() if "garbage collector:" in line]
    assert len(frozen) == 1, log[-2000:]
    assert int(frozen[0].split("garbage collector: ")[1].split()[0]) > 10_000
    assert log.index("garbage collector:") < log.index("listening on")
