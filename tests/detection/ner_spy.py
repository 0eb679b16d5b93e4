"""A spy on spaCy's NER: every text the detector's ``nlp.pipe`` reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from redact_gw.detection import Detector


class NerSpy:
    """Records every text spaCy's NER reads (``nlp.pipe``), then lets it read them."""

    def __init__(self, nlp: Any) -> None:
        self.read: list[str] = []
        self._pipe = nlp.pipe

    def __call__(self, texts: Any, **kwargs: Any) -> Iterator[Any]:
        texts = list(texts)
        self.read.extend(texts)
        return iter(self._pipe(texts, **kwargs))


def spy_on_ner(detector: Detector, monkeypatch: pytest.MonkeyPatch) -> NerSpy:
    """Put a ``NerSpy`` on the real detector's pipeline (undone after the test)."""
    nlp = detector._engine.pipeline  # type: ignore[attr-defined]
    spy = NerSpy(nlp)
    monkeypatch.setattr(nlp, "pipe", spy)
    return spy


def read_by_ner(detector: Detector, text: str) -> int:
    """How many lines of ``text`` spaCy's NER reads: lower-case lines of plain words
    are not read (``detection/ner_gate``)."""
    gate = detector._ner_gate  # type: ignore[attr-defined]
    lines = [line for line in text.split("\n") if line.strip()]
    return sum(gate is None or gate.needs(detector._ner_text(line))  # type: ignore[attr-defined]
               for line in lines)
