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
