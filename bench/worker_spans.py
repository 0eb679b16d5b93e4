"""The detection workers' output and CPU on the throughput texts, in process.

Two uses, both for changes to the worker's detection path that must not change a result:

``--dump FILE``
    Writes the spans (start, end, type, score, recognizer, normalized value,
    explanation) of every short
    utterance and call of ``bench/throughput_workloads.py`` as JSON lines. Run it on
    main and on a branch and compare the files byte for byte (``cmp``).
``--cpu``
    Detection CPU per short utterance (``time.process_time``), the texts run through
    ``PresidioDetector.detect_each`` in batches like the server's, best of ``--repeat``,
    beside spaCy's NER alone over the same lines.

``--profile FILE`` writes a cProfile of the short utterances (``pstats`` format).

    python -m bench.worker_spans --dump /tmp/spans-branch.jsonl
    python -m bench.worker_spans --cpu --repeat 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from typing import Any

from bench.throughput_workloads import Text, calls, short_utterances
from redact_gw.detection.presidio_detector import PresidioDetector
from redact_gw.detection.worker import warm_vocabulary
from redact_gw.model import Segment
from redact_gw.settings import DetectionSettings


def _jobs(texts: Sequence[Text]) -> list[tuple[list[Segment], list[object]]]:
    return [([Segment(t, s) for s, t in text.turns], []) for text in texts]


def _run(det: PresidioDetector, texts: Sequence[Text], batch: int) -> list[list[list[object]]]:
    out: list[list[list[object]]] = []
    jobs = _jobs(texts)
    for i in range(0, len(jobs), batch):
        chunk = jobs[i:i + batch]
        done = dict(det.detect_each(chunk))  # type: ignore[arg-type]
        for k in range(len(chunk)):
            out.append([[[sp.start, sp.end, sp.entity_type, sp.score, sp.recognizer,
                           sp.normalized, sp.explanation]
                         for sp in seg] for seg in done[k]])
    return out


def _ner_alone(det: PresidioDetector, texts: Sequence[Text], batch: int) -> float:
    nlp = det.analyzer.nlp_engine.pipeline  # type: ignore[attr-defined]
    lines = [t for text in texts for _, t in text.turns]
    start = time.process_time()
    with det.analyzer.nlp_engine.memory_zone():  # type: ignore[attr-defined]
        for i in range(0, len(lines), batch):
            list(nlp.pipe(lines[i:i + batch], batch_size=64))
    return time.process_time() - start


def _time_after_ner(det: PresidioDetector) -> list[float]:
    """Wrap the detector's per-transcript step (everything after spaCy) in a CPU clock;
    the returned one-element list accumulates its seconds."""
    total = [0.0]
    inner = det._detect

    def timed(*a: Any) -> Any:
        start = time.process_time()
        try:
            return inner(*a)
        finally:
            total[0] += time.process_time() - start

    det._detect = timed  # type: ignore[method-assign]
    return total


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--short", type=int, default=1500)
    p.add_argument("--calls", type=int, default=40)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--batch", type=int, default=8, help="transcripts per detect_each call")
    p.add_argument("--dump", help="write every span as JSON lines to this file")
    p.add_argument("--cpu", action="store_true", help="CPU per short utterance")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--profile", help="write a cProfile of the short utterances here")
    args = p.parse_args(argv)
    det = PresidioDetector(DetectionSettings())
    det.warm_up()
    warm_vocabulary(det)  # as a worker starts
    short, _source = short_utterances(args.short, args.seed)
    if args.dump:
        long = calls(args.calls, args.seed)
        with open(args.dump, "w", encoding="utf-8") as f:
            for kind, texts in (("short", short), ("call", long)):
                for i, spans in enumerate(_run(det, texts, args.batch)):
                    f.write(json.dumps([kind, i, spans]) + "\n")
        print(f"wrote {args.dump}: {len(short)} short, {len(long)} calls")
    if args.profile:
        import cProfile
        prof = cProfile.Profile()
        prof.runcall(_run, det, short, args.batch)
        prof.dump_stats(args.profile)
    if args.cpu:
        after_ner = _time_after_ner(det)
        _run(det, short[:100], args.batch)  # warm caches
        det_ms, post_ms, ner_ms = [], [], []
        for _ in range(args.repeat):
            after_ner[0] = 0.0
            start = time.process_time()
            _run(det, short, args.batch)
            det_ms.append((time.process_time() - start) * 1000 / len(short))
            post_ms.append(after_ner[0] * 1000 / len(short))
            ner_ms.append(_ner_alone(det, short, args.batch) * 1000 / len(short))
        for name, ms in (("detection", det_ms), ("  of which after the NER", post_ms),
                         ("NER alone", ner_ms)):
            print(f"{name} CPU per short utterance: best {min(ms):.3f} ms, median "
                  f"{statistics.median(ms):.3f} (all {' '.join(f'{x:.3f}' for x in ms)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
