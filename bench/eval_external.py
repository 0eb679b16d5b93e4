"""Detection quality on data this project did not write: the gateway vs vanilla Presidio.

Usage::

    make eval-data                                   # once: the dataset, through pip
    .venv/bin/python -m bench.eval_external --quick  # ~300 sentences, under a minute
    .venv/bin/python -m bench.eval_external --split test --json out.json
    .venv/bin/python -m bench.eval_external --baseline bench/data/eval-baseline-dev.json

Sources (``bench/eval_sources.py``): presidio-evaluator 0.3.2's sentence generator with
its own templates and fake-value providers, and the 1,500 labeled sentences of its
source distribution. Renderings: ``written`` (as is) and ``spoken`` (speech-recognition
style, ``bench/eval_spoken.py``), gold spans mapped through the rendering. Splits: by
template (a third of the templates are *test*, the rest *dev*); tune on dev, only score
test. Systems, in the same run and process: ``gateway``, the ``Detector`` the workers
run, built by ``build_detector`` from the detection settings of ``--config``; and
``vanilla``, Presidio's ``AnalyzerEngine`` with its default recognizers on the same spaCy
model (e-mail recognizer without the online suffix-list lookup), at the gateway's default
threshold. Metrics (``bench/eval_metrics.py``): leak-any, leak-full, precision, non-PII
tokens replaced, PII-free sentences flagged; then the issue's targets, pass or fail.

``--baseline FILE`` prints leak-any beside an earlier ``--json`` run (the baselines of
main before the issue-13 detection work are in ``bench/data/``). ``--examples K`` prints
K leaked values and K false positives per type with the gateway's redaction, to learn
from: it refuses the test split.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.eval_metrics import LABELS, Labeled, Tally, pooled, rate, score
from bench.eval_sources import SOURCES, SPLITS, Sample, load
from bench.eval_spoken import render_spoken

RENDERINGS = ("written", "spoken")
SYSTEMS = ("gateway", "vanilla")
ROOT = Path(__file__).resolve().parent.parent
#: Rows of the tables, in order, with a readable name.
ROWS = {"PERSON": "names", "ADDRESS": "street addresses", "ZIP_CODE": "postcodes",
        "LOCATION": "cities/states/countries", "PHONE_NUMBER": "phones",
        "EMAIL_ADDRESS": "e-mails", "CREDIT_CARD": "cards", "US_SSN": "SSNs",
        "IBAN_CODE": "IBANs", "IP_ADDRESS": "IP addresses",
        "US_DRIVER_LICENSE": "driver licenses", "DATE_TIME": "dates and times",
        "NRP": "nationality/religion", "URL": "web domains"}
STRUCTURED = ("PHONE_NUMBER", "EMAIL_ADDRESS", "CREDIT_CARD", "US_SSN", "IBAN_CODE",
              "IP_ADDRESS")


@dataclass(frozen=True, slots=True)
class Target:
    """One line of issue 13's targets: leak-any of a group, or an over-redaction rate."""

    name: str
    metric: str  # "leak" (of ``entities``), "tokens" or "pii_free"
    limit: float
    renderings: tuple[str, ...] = RENDERINGS
    entities: tuple[str, ...] = ()


TARGETS = (
    Target("names", "leak", 0.08, ("written",), ("PERSON",)),
    Target("names", "leak", 0.15, ("spoken",), ("PERSON",)),
    Target("addresses+postcodes", "leak", 0.15, ("written",), ("ADDRESS", "ZIP_CODE")),
    Target("addresses+postcodes", "leak", 0.20, ("spoken",), ("ADDRESS", "ZIP_CODE")),
    Target("cities/states/countries", "leak", 0.10, ("written",), ("LOCATION",)),
    Target("cities/states/countries", "leak", 0.15, ("spoken",), ("LOCATION",)),
    Target("IBANs+IPs", "leak", 0.02, ("spoken",), ("IBAN_CODE", "IP_ADDRESS")),
    Target("structured identifiers", "leak", 0.0, RENDERINGS, STRUCTURED),
    Target("non-PII tokens replaced", "tokens", 0.015),
    Target("PII-free sentences flagged", "pii_free", 0.03),
)

Predict = Callable[[Sequence[str]], list[list[tuple[int, int, str]]]]


@dataclass(slots=True)
class Item:
    """One rendered sentence with its scored gold values."""

    text: str
    gold: list[Labeled]


@dataclass(slots=True)
class Run:
    """Results: ``tallies[system][source][rendering]`` and per-type span counts."""

    tallies: dict[str, dict[str, dict[str, Tally]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(dict)))
    by_type: dict[str, dict[str, list[int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(lambda: [0, 0])))


# ------------------------------------------------------------------------ systems
def gateway(config: Path) -> Predict:
    """The gateway's detector, as its workers build it from ``config``."""
    from redact_gw.detection import build_detector
    from redact_gw.model import Segment
    from redact_gw.settings import load_settings

    settings = load_settings(config, environ={}).detection
    detector = build_detector(settings)
    detector.warm_up()

    def predict(texts: Sequence[str]) -> list[list[tuple[int, int, str]]]:
        out = []
        for i in range(0, len(texts), settings.batch_size):
            jobs = [([Segment(t, "user")], ()) for t in texts[i:i + settings.batch_size]]
            many = getattr(detector, "detect_many", None)
            found = many(jobs) if many else [detector.detect(s, k) for s, k in jobs]
            out += [[(s.start, s.end, s.entity_type) for s in f[0]] for f in found]
        return out
    return predict


def vanilla(config: Path) -> Predict:
    """Presidio's default recognizers on the same spaCy model, at the default threshold.

    The one swap: Presidio's e-mail recognizer looks the top-level domain up in a suffix
    list it may download; the gateway's offline one checks the same shape without it.
    """
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    from redact_gw.detection.engine import OfflineEmailRecognizer
    from redact_gw.settings import load_settings

    settings = load_settings(config, environ={}).detection
    nlp = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": settings.spacy_model}])
    nlp.load()
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(nlp_engine=nlp)
    registry.remove_recognizer("EmailRecognizer")
    registry.add_recognizer(OfflineEmailRecognizer())
    engine = AnalyzerEngine(registry=registry, nlp_engine=nlp)

    def predict(texts: Sequence[str]) -> list[list[tuple[int, int, str]]]:
        return [[(r.start, r.end, r.entity_type)
                 for r in engine.analyze(t, language="en",
                                         score_threshold=settings.default_threshold)]
                for t in texts]
    return predict


# ------------------------------------------------------------------------ corpus
def render(samples: Sequence[Sample], rendering: str, seed: str) -> list[Item]:
    """Each sample written as is or spoken, with scored gold values."""
    items = []
    for i, s in enumerate(samples):
        spans = [(g.start, g.end) for g in s.gold]
        if rendering == "spoken":
            text, moved = render_spoken(s.text, spans, random.Random(f"{seed}:{i}"))
        else:
            text, moved = s.text, list(spans)
        gold = [Labeled(m[0], m[1], LABELS.get(g.label))
                for g, m in zip(s.gold, moved, strict=True) if m is not None]
        items.append(Item(text, gold))
    return items


def _redacted(text: str, spans: Sequence[tuple[int, int, str]]) -> str:
    out, pos = [], 0
    for start, end, entity in sorted(spans):
        if start >= pos:
            out += [text[pos:start], f"[{entity}]"]
            pos = end
    return "".join([*out, text[pos:]])


# ------------------------------------------------------------------------ report
def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _leak_table(run: Run, columns: list[tuple[str, str]], systems: Sequence[str],
                full: bool) -> None:
    title = "LEAK-FULL (no character redacted)" if full else "LEAK-ANY (a character in clear)"
    print(f"\n{title}: " + " / ".join(systems) + "   (gold values)")
    print(f"{'':26}" + "".join(f"{src + ' ' + rnd:>26}" for src, rnd in columns))
    present = {e for by_src in run.tallies[systems[0]].values() for t in by_src.values()
               for e, c in t.cells.items() if c.values}
    for entity in [e for e in ROWS if e in present]:
        row = f"{ROWS[entity]:26}"
        for src, rnd in columns:
            cells = [run.tallies[s][src][rnd].cells.get(entity) for s in systems]
            n = cells[0].values if cells[0] else 0
            if not n:
                row += f"{'':>26}"
                continue
            rates = [_pct(rate(c.leak_full if full else c.leak_any, c.values)) if c else "-"
                     for c in cells]
            row += f"{' / '.join(rates) + f' ({n})':>26}"
        print(row)


def _other_table(run: Run, columns: list[tuple[str, str]], systems: Sequence[str]) -> None:
    print("\nPRECISION, NON-PII TOKENS REPLACED, PII-FREE SENTENCES FLAGGED: "
          + " / ".join(systems))
    print(f"{'':26}" + "".join(f"{src + ' ' + rnd:>26}" for src, rnd in columns))
    metrics: list[tuple[str, Callable[[Tally], str]]] = [
        ("precision", lambda t: _pct(rate(t.spans_on_gold, t.spans))),
        ("non-PII tokens replaced", lambda t: _pct(rate(t.tokens_replaced, t.tokens))),
        ("PII-free flagged", lambda t: _pct(rate(t.pii_free_flagged, t.pii_free))),
        ("sentences (PII-free)", lambda t: f"{t.sentences} ({t.pii_free})"),
    ]
    for name, fn in metrics:
        row = f"{name:26}"
        for src, rnd in columns:
            vals = [fn(run.tallies[s][src][rnd]) for s in systems]
            row += f"{vals[0] if name.startswith('sentences') else ' / '.join(vals):>26}"
        print(row)


def target_value(tally: Tally, target: Target) -> float | None:
    """The measured number a target is compared with."""
    if target.metric == "tokens":
        return rate(tally.tokens_replaced, tally.tokens)
    if target.metric == "pii_free":
        return rate(tally.pii_free_flagged, tally.pii_free)
    cell = pooled(tally, target.entities)
    return rate(cell.leak_any, cell.values)


def targets(run: Run, columns: list[tuple[str, str]], systems: Sequence[str],
            split: str) -> list[dict[str, object]]:
    """Each target beside the measured numbers; printed and returned for the JSON."""
    main = systems[0]
    note = "" if split == "test" else "   (targets are for the test split)"
    print(f"\nTARGETS, leak-any unless stated, {main}" +
          (" (vanilla beside)" if "vanilla" in systems[1:] else "") + note)
    out: list[dict[str, object]] = []
    for t in TARGETS:
        for src, rnd in columns:
            if rnd not in t.renderings:
                continue
            measured = target_value(run.tallies[main][src][rnd], t)
            if measured is None:
                continue
            other = (target_value(run.tallies["vanilla"][src][rnd], t)
                     if "vanilla" in systems[1:] else None)
            ok = measured <= t.limit + 1e-12
            out.append({"target": t.name, "source": src, "rendering": rnd,
                        "limit": t.limit, main: measured, "vanilla": other, "pass": ok})
            print(f"  {t.name:28}{src:10}{rnd:8} <= {_pct(t.limit):>6}   "
                  f"{_pct(measured):>6}  {'PASS' if ok else 'FAIL'}"
                  + (f"   (vanilla {_pct(other)})" if other is not None else ""))
    return out


def versions(config: Path) -> dict[str, str]:
    """Versions that decide the numbers: the generator's seeded output depends on Faker."""
    from redact_gw.settings import load_settings

    model = load_settings(config, environ={}).detection.spacy_model
    out = {}
    for dist in ("presidio-evaluator", "faker", "presidio-analyzer", "spacy", model):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


#: The rows of ``--markdown``: (name, entity types pooled) or a sentence-level metric.
SUMMARY = (("names", ("PERSON",)), ("street addresses", ("ADDRESS",)),
           ("postcodes", ("ZIP_CODE",)), ("cities, states, countries", ("LOCATION",)),
           ("phones, e-mails, cards, SSNs", ("PHONE_NUMBER", "EMAIL_ADDRESS", "CREDIT_CARD",
                                            "US_SSN")),
           ("IBANs, IP addresses", ("IBAN_CODE", "IP_ADDRESS")),
           ("dates and times", ("DATE_TIME",)), ("non-PII tokens replaced", "tokens"),
           ("PII-free sentences flagged", "pii_free"), ("precision", "precision"))


def markdown(run: Run, columns: list[tuple[str, str]], systems: Sequence[str]) -> str:
    """A compact Markdown table of leak-any (and sentence metrics), systems side by side."""
    lines = ["| " + " / ".join(systems) + " | " + " | ".join(f"{s} {r}" for s, r in columns)
             + " |", "|---" * (len(columns) + 1) + "|"]
    for name, what in SUMMARY:
        cells = []
        for src, rnd in columns:
            values = []
            for system in systems:
                t = run.tallies[system][src][rnd]
                if what == "tokens":
                    values.append(rate(t.tokens_replaced, t.tokens))
                elif what == "pii_free":
                    values.append(rate(t.pii_free_flagged, t.pii_free))
                elif what == "precision":
                    values.append(rate(t.spans_on_gold, t.spans))
                else:
                    cell = pooled(t, what)
                    values.append(rate(cell.leak_any, cell.values))
            cells.append(" / ".join(_pct(v) for v in values))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compare(run: Run, columns: list[tuple[str, str]], system: str, split: str,
            path: Path) -> None:
    """Leak-any of ``system`` now beside an earlier ``--json`` file's."""
    before = json.loads(path.read_text())
    if before.get("split") != split:
        print(f"\n(the baseline {path.name} is from the {before.get('split')} split)")
    old = before["results"].get(system, {})
    print(f"\nCHANGE vs {path.name}: {system} leak-any now (before), '-' = not measured")
    print(f"{'':26}" + "".join(f"{src + ' ' + rnd:>26}" for src, rnd in columns))
    for entity in ROWS:
        row, seen = f"{ROWS[entity]:26}", False
        for src, rnd in columns:
            now = run.tallies[system][src][rnd].cells.get(entity)
            was = old.get(src, {}).get(rnd, {}).get("types", {}).get(entity, {})
            if not now or not now.values:
                row += f"{'':>26}"
                continue
            seen = True
            cell = f"{_pct(rate(now.leak_any, now.values))} ({_pct(was.get('leak_any'))})"
            row += f"{cell:>26}"
        if seen:
            print(row)


def to_json(run: Run, args: argparse.Namespace, checks: list[dict[str, object]]) -> object:
    """The machine-readable results."""
    results: dict[str, object] = {}
    for system, by_src in run.tallies.items():
        results[system] = {src: {rnd: {
            "types": {e: {"values": c.values, "leak_any": rate(c.leak_any, c.values),
                          "leak_full": rate(c.leak_full, c.values)}
                      for e, c in sorted(t.cells.items()) if c.values},
            "precision": rate(t.spans_on_gold, t.spans), "spans": t.spans,
            "non_pii_tokens_replaced": rate(t.tokens_replaced, t.tokens),
            "pii_free_flagged": rate(t.pii_free_flagged, t.pii_free),
            "sentences": t.sentences, "pii_free_sentences": t.pii_free,
        } for rnd, t in by_rnd.items()} for src, by_rnd in by_src.items()}
    precision = {s: {e: rate(h, n) for e, (h, n) in sorted(d.items())}
                 for s, d in run.by_type.items()}
    return {"split": args.split, "n": args.n, "seed": args.seed, "config": str(args.config),
            "versions": versions(args.config), "results": results,
            "precision_by_predicted_type": precision, "targets": checks}


# ------------------------------------------------------------------------ main
def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=SPLITS, default="dev")
    ap.add_argument("--n", type=int, default=1000, help="sentences per source (default 1000)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--source", default=",".join(SOURCES), help="generator,dataset")
    ap.add_argument("--rendering", default=",".join(RENDERINGS), help="written,spoken")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="gateway,vanilla")
    ap.add_argument("--config", type=Path, default=ROOT / "config" / "redact-gw.yaml")
    ap.add_argument("--json", type=Path, help="write machine-readable results here")
    ap.add_argument("--quick", action="store_true", help="75 sentences per source")
    ap.add_argument("--baseline", type=Path,
                    help="an earlier --json file: print leak-any now against it")
    ap.add_argument("--markdown", action="store_true",
                    help="also print a compact Markdown table (for the README)")
    ap.add_argument("--examples", type=int, default=0,
                    help="print this many leaked values per type (dev split only)")
    args = ap.parse_args(argv)
    if args.quick:
        args.n = 75
    for name, allowed in (("source", SOURCES), ("rendering", RENDERINGS),
                          ("systems", SYSTEMS)):
        values = [v for v in getattr(args, name).split(",") if v]
        if not values or any(v not in allowed for v in values):
            ap.error(f"--{name}: choose from {','.join(allowed)}")
        setattr(args, name, values)
    if args.examples and args.split == "test":
        ap.error("--examples is for the dev split: the test split is only scored")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Load, render, detect with each system, score, print, write JSON."""
    args = parse(argv)
    started = time.perf_counter()
    corpora: dict[tuple[str, str], list[Item]] = {}
    for src in args.source:
        samples = load(src, args.split, args.n, args.seed)
        for rnd in args.rendering:
            corpora[(src, rnd)] = render(samples, rnd, f"{args.seed}:{src}:{args.split}")
    builders = {"gateway": gateway, "vanilla": vanilla}
    run = Run()
    examples: dict[str, list[str]] = defaultdict(list)
    for system in args.systems:
        predict = builders[system](args.config)
        for (src, rnd), items in corpora.items():
            tally = Tally()
            for item, spans in zip(items, predict([i.text for i in items]), strict=True):
                leaks = score(item.text, item.gold, [(a, b) for a, b, _ in spans], tally)
                tag = f"[{src} {rnd}]"
                for a, b, entity in spans:
                    hit = any(a < g.end and g.start < b for g in item.gold)
                    run.by_type[system][entity][0] += hit
                    run.by_type[system][entity][1] += 1
                    if not hit and args.examples and system == args.systems[0]:
                        examples[f"false positive {entity}"].append(
                            f"{tag} {item.text[a:b]!r} in: {_redacted(item.text, spans)}")
                if not args.examples or system != args.systems[0]:
                    continue
                for g, leaked in leaks:
                    if leaked:
                        examples[f"leaked {g.entity}"].append(
                            f"{tag} {item.text[g.start:g.end]!r} in: "
                            f"{_redacted(item.text, spans)}")
            run.tallies[system][src][rnd] = tally
    columns = list(corpora)
    n_items = sum(len(v) for v in corpora.values())
    print(f"external detection evaluation: split {args.split}, seed {args.seed}, "
          f"{n_items} rendered sentences per system, config {args.config.name}")
    print("  " + ", ".join(f"{k} {v}" for k, v in versions(args.config).items()))
    _leak_table(run, columns, args.systems, full=False)
    _leak_table(run, columns, args.systems, full=True)
    _other_table(run, columns, args.systems)
    checks = targets(run, columns, args.systems, args.split)
    if args.markdown:
        print("\n" + markdown(run, columns, args.systems))
    if args.baseline:
        compare(run, columns, args.systems[0], args.split, args.baseline)
    for kind, lines in sorted(examples.items()):
        print(f"\n{kind.upper()} ({args.systems[0]}, dev split, {len(lines)} in all):")
        for line in random.Random(args.seed).sample(lines, min(args.examples, len(lines))):
            print("  " + re.sub(r"\s+", " ", line))
    if args.json:
        args.json.write_text(json.dumps(to_json(run, args, checks), indent=1))
        print(f"\nJSON written to {args.json}")
    print(f"\nwall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
