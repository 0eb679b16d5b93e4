"""Kept NER (``detection.ner_memo``): a segment given again with the entities its first
detection handed back is not read by spaCy again, and every span is what full
detection finds."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from redact_gw.detection import Detector
from redact_gw.detection.worker import run_batch
from redact_gw.model import Segment, SegmentNer, Span
from tests.detection.ner_spy import NerSpy, read_by_ner, spy_on_ner

#: Hand calls: the agent's question cues the answer in the next turn, values recur
#: across turns (a surname alone, the last digits of a card), labelled lines.
CALLS = [
    [("agent", "thanks for calling, can I have your full name please"),
     ("customer", "sure it's marguerite osterhaus"),
     ("agent", "thank you ms osterhaus, and the card number"),
     ("customer", "four one one one one one one one one one one one one one one one"),
     ("agent", "so that's the card ending one one one one"),
     ("customer", "yes, and osterhaus is spelled o s t e r h a u s")],
    [("agent", "what's your date of birth"),
     ("customer", "march fourth nineteen eighty four"),
     ("agent", "and a phone number we can reach you on"),
     ("customer", "two one two five five five zero one four seven"),
     ("customer", "Agent: where do you live?\nCustomer: 12 Main Street, Springfield"),
     ("agent", "Is that Springfield Illinois, Mr Osterhaus? I'll call 2125550147.")],
]


@pytest.fixture
def spy(detector: Detector, monkeypatch: pytest.MonkeyPatch) -> NerSpy:
    return spy_on_ner(detector, monkeypatch)


def _keeping(detector: Detector, segments: list[Segment]
             ) -> tuple[list[list[Span]], list[SegmentNer | None]]:
    found: tuple[list[list[Span]], list[SegmentNer | None]] = \
        detector.detect_keeping(segments)  # type: ignore[attr-defined]
    return found


@pytest.mark.parametrize("call", CALLS)
def test_finals_with_kept_ner_equal_full_detection_and_read_each_line_once(
        detector: Detector, spy: NerSpy, call: list[tuple[str, str]]) -> None:
    finals: list[Segment] = []
    for speaker, text in call:
        turn = Segment(text, speaker)
        spy.read.clear()
        spans, ner = _keeping(detector, [*finals, turn])
        # spaCy read this turn's lines only, never the earlier finals again
        assert len(spy.read) == read_by_ner(detector, text)
        assert spans == detector.detect([Segment(s.text, s.speaker) for s in finals] + [turn])
        finals.append(dataclasses.replace(turn, ner=ner[-1]))
    # the context mattered: the cued name, its recurrence and the card's last digits
    spans, _ = _keeping(detector, finals)
    texts = [s.text for s in finals]
    found = {(texts[i][s.start:s.end], s.entity_type) for i, ss in enumerate(spans) for s in ss}
    if call is CALLS[0]:
        assert ("marguerite osterhaus", "PERSON") in found
        assert ("osterhaus", "PERSON") in found
        assert ("one one one one", "CREDIT_CARD") in found
    else:
        assert ("2125550147", "PHONE_NUMBER") in found


def test_kept_ner_of_another_text_or_model_is_not_used(detector: Detector,
                                                       spy: NerSpy) -> None:
    """A segment whose kept NER does not fit it (another text, another pipeline) is read
    by spaCy as if it had none: kept entities never decide another text's spans."""
    question = Segment("can I have your name please", "agent")
    answer = Segment("it's Rebecca Jones from Savannah", "customer")
    _, ner = _keeping(detector, [question, answer])
    other = _keeping(detector, [Segment("nothing to see here", "customer")])[1][0]
    assert ner[1] is not None and other is not None
    wrong_text = dataclasses.replace(answer, ner=other)
    wrong_model = dataclasses.replace(answer, ner=SegmentNer("xx_other_model-1.0", ner[1].lines))
    full = detector.detect([question, answer])
    assert any(s.entity_type == "PERSON" for s in full[1])
    for given in (wrong_text, wrong_model):
        spy.read.clear()
        assert _keeping(detector, [question, given])[0] == full
        assert [t.lower() for t in spy.read][-1] == answer.text.lower()
        assert len(spy.read) == read_by_ner(detector, question.text) + 1


def test_the_worker_hands_back_ner_only_to_jobs_that_keep_it(detector: Detector) -> None:
    segments = [Segment("hello this is John Smith", "customer")]
    answers = {job_id: (spans, ner) for job_id, spans, ner in run_batch(
        detector, [(1, segments, [], None, True), (2, segments, [], None, False)])}
    assert answers[1][0] == answers[2][0] == detector.detect(segments)
    assert answers[2][1] is None
    kept = answers[1][1]
    assert kept is not None and kept[0] is not None
    # offsets and labels of the line's entities and its digest: no text
    ((digest, ents),) = kept[0].lines
    assert isinstance(digest, bytes) and len(digest) == 8
    assert all(isinstance(a, int) and isinstance(b, int) for a, b, _ in ents)
    assert "John" not in repr(kept[0])


def test_scoped_settings_reading_other_text_do_not_reuse_it(detector: Detector,
                                                            spy: NerSpy) -> None:
    """Scoped settings without names or places read speech without restored capitals:
    the NER kept under the gateway's settings is not theirs, so spaCy reads again."""
    segments = [Segment("my birthday is march fourth nineteen eighty four", "customer")]
    _, ner = _keeping(detector, segments)
    scoped: Any = detector.with_settings(  # type: ignore[attr-defined]
        detector.settings.model_copy(update={"entities": ["DATE_TIME"]}))  # type: ignore[attr-defined]
    spy.read.clear()
    spans, _ = scoped.detect_keeping([dataclasses.replace(segments[0], ner=ner[0])])
    assert len(spy.read) == 1
    assert spans == scoped.detect(segments)
