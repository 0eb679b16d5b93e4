"""Cost of the spoken-name reading (``detection/spoken_names.py``) per sentence.

Times ``detect_many`` over the same dev sentences of the external evaluation (both
sources, written and spoken) with the step on and switched off, alternating rounds in
one process, and prints medians and their ratio. Needs ``make eval-data``.

    .venv/bin/python -m bench.spoken_names_cost --n 75 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from bench.eval_external import render
from bench.eval_sources import load
from redact_gw.detection import build_detector
from redact_gw.detection.presidio_detector import PresidioDetector
from redact_gw.model import Segment
from redact_gw.settings import load_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=75, help="sentences per source and rendering")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    texts = [it.text for source in ("generator", "dataset")
             for rendering in ("written", "spoken")
             for it in render(load(source, "dev", args.n, 42), rendering, f"{source}:dev")]
    settings = load_settings(Path("config/redact-gw.yaml"), environ={}).detection
    detector = build_detector(settings)
    assert isinstance(detector, PresidioDetector)
    detector.warm_up()
    jobs = [([Segment(t, "user")], ()) for t in texts]
    original = PresidioDetector._spoken_names
    times: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(args.rounds):
        for mode in ("off", "on"):
            if mode == "off":
                PresidioDetector._spoken_names = lambda self, *a: []  # type: ignore[method-assign]
            else:
                PresidioDetector._spoken_names = original  # type: ignore[method-assign]
            t0 = time.perf_counter()
            for i in range(0, len(jobs), settings.batch_size):
                detector.detect_many(jobs[i:i + settings.batch_size])
            times[mode].append(time.perf_counter() - t0)
    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    print(f"{len(texts)} sentences, {args.rounds} rounds, median per sentence: "
          f"off {off / len(texts) * 1e3:.2f} ms, on {on / len(texts) * 1e3:.2f} ms, "
          f"ratio on/off {on / off:.3f}")


if __name__ == "__main__":
    main()
