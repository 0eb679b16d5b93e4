"""Turns: who said which line, so a question is context for the other speaker's answer.

A transcript may arrive as one segment per turn (with ``Segment.speaker``) or as plain
text with "Agent:" / "Customer:" labels at line starts, or both. A turn is one line;
its speaker is the line's label, else its segment's speaker.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from redact_gw.detection.labels import label_ranges
from redact_gw.detection.view import Tok
from redact_gw.model import Segment

_LINE_RE = re.compile(r"[^\n]+")


@dataclass(frozen=True, slots=True)
class Turn:
    """One non-blank line, its speaker and the previous turn's words when another
    speaker said them (empty otherwise).
    """

    seg: int
    start: int
    end: int
    speaker: str | None
    question: tuple[str, ...]


def turns(segments: Sequence[Segment], tokens: Sequence[Sequence[Tok]]) -> list[Turn]:
    """Every turn of the transcript, in order."""
    out: list[Turn] = []
    prev_words: tuple[str, ...] = ()
    prev_speaker: str | None = None
    for seg, (segment, toks) in enumerate(zip(segments, tokens, strict=True)):
        text = segment.text
        labels = label_ranges(text)
        for m in _LINE_RE.finditer(text):
            if not m.group().strip():
                continue
            label = next((text[a:b] for a, b in labels if a == m.start()), "")
            speaker = label.strip(" \t:[]").lower() or segment.speaker
            differs = speaker is None or prev_speaker is None or speaker != prev_speaker
            out.append(Turn(seg, m.start(), m.end(), speaker, prev_words if differs else ()))
            prev_words = tuple(t.lower for t in toks
                               if m.start() + len(label) <= t.start < m.end())
            prev_speaker = speaker
    return out
