"""The texts of ``make throughput`` and how their leak rate is scored.

Two workloads, reported apart (issue 20): batching hides per-request cost on long calls,
so a mix of both says little about either.

``short``
    Utterances of 50-300 characters, one per request (agent assist, voice bots, live
    calls). They come from the external evaluation sources of issue 10: sentences of
    presidio-evaluator's generator (its own templates and fake values, the ``eval``
    extra) and of its labeled dataset (``make eval-data``), each written as is or as
    speech would transcribe it (``bench/eval_spoken.py``). Their gold values give the
    leak rate. When neither source is installed, the project's own generator stands
    in, with a loud warning, and no leak rate is printed.
``call``
    Call-length transcripts of about 1,800 characters (the project's generator: one
    PII-laden exchange, the rest support talk), one per request.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from bench import eval_detection as ev
from bench.eval_metrics import Labeled, Tally, pooled, rate, score
from redact_gw.tokens import TOKEN_RE

SHORT_MIN, SHORT_MAX = 50, 300
Turn = tuple[str, str]  # (speaker, text)


@dataclass
class Text:
    """One request's transcript; ``gold`` when the source labels its values."""

    turns: list[Turn]
    gold: list[Labeled] | None = None

    @property
    def chars(self) -> int:
        return sum(len(t) for _, t in self.turns)

    def as_text(self) -> str:
        """The text vanilla Presidio is given (one turn: the turn itself)."""
        if len(self.turns) == 1:
            return self.turns[0][1]
        return "\n".join(f"{s}: {t}" for s, t in self.turns)


def _external(n: int, seed: int) -> tuple[list[Text], str]:
    from bench.eval_external import render
    from bench.eval_sources import load
    texts: list[Text] = []
    used = []
    for source in ("generator", "dataset"):
        try:
            samples = load(source, "dev", 4 * n, seed)
        except (ImportError, OSError) as exc:
            print(f"WARNING: presidio-evaluator {source} unavailable ({type(exc).__name__});"
                  " run `make eval-data`", file=sys.stderr)
            continue
        used.append(source)
        for rendering in ("written", "spoken"):
            for item in render(samples, rendering, f"{seed}:{source}:throughput"):
                if SHORT_MIN <= len(item.text) <= SHORT_MAX:
                    texts.append(Text([("customer", item.text)], list(item.gold)))
    random.Random(seed).shuffle(texts)
    return texts[:n], "+".join(used)


def short_utterances(n: int, seed: int) -> tuple[list[Text], str]:
    """``n`` utterances of 50-300 characters and the name of their source."""
    texts, source = _external(n, seed)
    if len(texts) >= n:
        return texts, f"presidio-evaluator 0.3.2 {source}, written and spoken"
    print("=" * 78 + "\nWARNING: the external evaluation sources are missing (`make"
          " eval-data`):\nshort utterances come from the project's OWN generator; no leak"
          " rate.\n" + "=" * 78, file=sys.stderr)
    rng = random.Random(seed)
    own: list[Text] = []
    while len(own) < n:
        seg = ev.make_single(rng, rng.choice(["chat", "speech"])).segments[0]
        if SHORT_MIN <= len(seg.text) <= SHORT_MAX:
            own.append(Text([("customer", seg.text)]))
    return own, "the project's own generator (FALLBACK)"


def call_turns(rng: random.Random, target_chars: int) -> list[Turn]:
    """A call of about ``target_chars``: one PII-laden exchange, the rest support talk."""
    turns = [(s.speaker or "agent", s.text) for s in ev.make_call(rng).segments]
    size = sum(len(t) for _, t in turns)
    while size < target_chars:
        if rng.random() < 0.15:  # values come up again later in long calls
            extra = [(s.speaker or "customer", s.text)
                     for s in ev.make_single(rng, "speech").segments[:1]]
        else:
            extra = [("agent", rng.choice(ev.FILLER).rstrip(".?").lower()),
                     ("customer", ev.filler_free(rng, True))]
        turns.extend(extra)
        size += sum(len(t) for _, t in extra)
    return turns


def calls(n: int, seed: int) -> list[Text]:
    """``n`` call-length transcripts of about 1,800 characters."""
    rng = random.Random(seed)
    return [Text(call_turns(rng, 1_650)) for _ in range(n)]


# ------------------------------------------------------------------------ leak rate
def spans_from_redacted(original: str, redacted: str) -> list[tuple[int, int]] | None:
    """The ranges of ``original`` that tokens replaced in ``redacted`` (the text between
    tokens is the original's, in order); ``None`` when they do not line up."""
    literals = [redacted[a:b] for a, b in _gaps(redacted)]
    if len(literals) == 1:
        return [] if redacted == original else None
    head, *middle, tail = literals
    if not original.startswith(head) or not original.endswith(tail):
        return None
    spans, pos = [], len(head)
    for literal in middle:
        at = original.find(literal, pos + 1)  # a token stands for one character or more
        if at < 0:
            return None
        spans.append((pos, at))
        pos = at + len(literal)
    end = len(original) - len(tail)
    if end <= pos:
        return None
    spans.append((pos, end))
    return spans


def _gaps(text: str) -> list[tuple[int, int]]:
    """The ranges between tokens, first and last included."""
    out, last = [], 0
    for m in TOKEN_RE.finditer(text):
        out.append((last, m.start()))
        last = m.end()
    return [*out, (last, len(text))]


def leak_rate(texts: Sequence[Text], predicted: Sequence[list[tuple[int, int]] | None]
              ) -> tuple[float | None, int]:
    """Leak-any over every scored gold value (``None`` without gold) and how many
    outputs could not be lined up with their input (counted as leaking everything)."""
    tally, unaligned = Tally(), 0
    for text, spans in zip(texts, predicted, strict=True):
        if text.gold is None:
            return None, 0
        if spans is None:
            unaligned += 1
            spans = []
        score(text.as_text(), text.gold, spans, tally)
    cell = pooled(tally, tally.cells)
    return rate(cell.leak_any, cell.values), unaligned
