"""What the context of a live partial costs: detection time of one partial with the last
8 finals as context (``live.context_turns``, what every partial got before) against the
last 2 (``live.partial_context_turns``, the default now), in one process, alternating,
medians. CPU time of this process (the detector runs in it), so other load on a shared
machine disturbs it less than wall time.

    .venv/bin/python -m bench.live_partial_context [--rounds 40]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from bench.live_latency import script
from redact_gw.detection import build_detector
from redact_gw.model import Segment
from redact_gw.settings import DetectionSettings


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=40)
    args = p.parse_args()
    det = build_detector(DetectionSettings())
    det.warm_up()
    rng = random.Random(1)
    lines = script(rng, 6)
    finals = [Segment(text, speaker) for speaker, text in lines[:8]]
    partial = Segment("sure the card is five five five five five", "customer")
    cost: dict[int, list[float]] = {8: [], 2: []}
    for _ in range(args.rounds):
        for turns in (8, 2):
            started = time.process_time()
            det.detect([*finals[len(finals) - turns:], partial])
            cost[turns].append(time.process_time() - started)
    m8, m2 = statistics.median(cost[8]), statistics.median(cost[2])
    print(f"partial with 8 finals of context: {1000 * m8:.1f} ms CPU (baseline)")
    print(f"partial with 2 finals of context: {1000 * m2:.1f} ms CPU"
          f"  ratio {m2 / m8:.2f} (medians of {args.rounds})")


if __name__ == "__main__":
    main()
