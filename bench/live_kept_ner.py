"""What kept NER saves a live call (``detection.ner_memo``): the detection jobs of the
live benchmark's calls (``bench/live_latency.py``: a partial per word with the last 2
finals as context, each final with up to 8), each detected twice in one process,
alternating: with the context finals' NER kept from their own detection, and without
(spaCy reads every context final again, as before). CPU time of this process, medians
per partial and per final; the spans of both are checked equal on every job.

    .venv/bin/python -m bench.live_kept_ner [--calls 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import time
from typing import Any

from bench.live_latency import script
from redact_gw.demo_live import partials_of
from redact_gw.detection import build_detector
from redact_gw.model import Segment
from redact_gw.settings import DetectionSettings


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=20)
    p.add_argument("--turns", type=int, default=3, help="agent+customer turns per call")
    args = p.parse_args()
    det: Any = build_detector(DetectionSettings())
    det.warm_up()
    cost: dict[tuple[str, bool], list[float]] = {
        (kind, kept): [] for kind in ("partial", "final") for kept in (False, True)}
    for seed in range(1, args.calls + 1):
        finals: list[Segment] = []
        for speaker, text in script(random.Random(seed), args.turns):
            for kind, said in [*(("partial", p) for p in partials_of(text)), ("final", text)]:
                context = finals[-8:] if kind == "final" else finals[-2:]
                started = time.process_time()
                full = det.detect([Segment(s.text, s.speaker) for s in context]
                                  + [Segment(said, speaker)])
                cost[kind, False].append(time.process_time() - started)
                started = time.process_time()
                spans, ner = det.detect_keeping([*context, Segment(said, speaker)])
                cost[kind, True].append(time.process_time() - started)
                if spans != full:
                    raise SystemExit(f"spans differ (call {seed}, a {kind})")
            finals.append(dataclasses.replace(Segment(text, speaker), ner=ner[-1]))
    for kind in ("partial", "final"):
        before = statistics.median(cost[kind, False])
        after = statistics.median(cost[kind, True])
        print(f"{kind:<7}: {1000 * before:.2f} ms CPU re-reading the context finals, "
              f"{1000 * after:.2f} ms with their NER kept, ratio {after / before:.2f} "
              f"(medians of {len(cost[kind, True])}; spans equal on every job)")
    total = {kept: sum(sum(cost[kind, kept]) for kind in ("partial", "final"))
             for kept in (False, True)}
    print(f"all jobs: {total[True] / total[False]:.2f} of the CPU")


if __name__ == "__main__":
    main()
