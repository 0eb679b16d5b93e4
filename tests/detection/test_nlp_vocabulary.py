"""A worker's warmed vocabulary: common words stay, a request's words never do, and
detection finds the same spans with it as without it."""

from __future__ import annotations

import pytest

from redact_gw.detection.engine import build_analyzer
from redact_gw.detection.nlp import TranscriptNlpEngine, common_words
from redact_gw.detection.presidio_detector import PresidioDetector
from redact_gw.detection.worker import warm_vocabulary
from redact_gw.model import Segment
from redact_gw.settings import DetectionSettings
from redact_gw.testing import FakeDetector

TEXTS = [
    "hi this is Zbigniew Wojciechowska calling about my order, can you help?",
    "sure it's john smith, four one one one one one one one one one one one one one one one",
    "my email is kathleen dot mcgillicuddy at gmail dot com and I live in Cedar Rapids",
    "SHIP IT TO 221B BAKER STREET LONDON NW1 6XE, THANKS!!",
]


@pytest.fixture(scope="module")
def cold_and_warm() -> tuple[PresidioDetector, PresidioDetector]:
    """Two detectors on two loaded models: one as built, one warmed as a worker does."""
    settings = DetectionSettings()
    cold, warm = (PresidioDetector(settings, build_analyzer(
        settings.spacy_model, settings.language)) for _ in range(2))
    assert warm_vocabulary(warm) > 40_000
    return cold, warm


def _engine(det: PresidioDetector) -> TranscriptNlpEngine:
    engine = det.analyzer.nlp_engine
    assert isinstance(engine, TranscriptNlpEngine)
    return engine


def test_a_warmed_vocabulary_finds_the_same_spans(
        cold_and_warm: tuple[PresidioDetector, PresidioDetector]) -> None:
    cold, warm = cold_and_warm
    segments = [Segment(t, "customer") for t in TEXTS]
    assert warm.detect(segments) == cold.detect(segments)
    assert warm.detect_many([([s], []) for s in segments]) == cold.detect_many(
        [([s], []) for s in segments])


def test_common_words_stay_and_a_requests_words_are_freed(
        cold_and_warm: tuple[PresidioDetector, PresidioDetector]) -> None:
    _, warm = cold_and_warm
    vocab = _engine(warm).pipeline.vocab
    warm.detect([Segment(TEXTS[0], "customer")])
    assert "calling" in vocab and "Calling" in vocab and "," in vocab
    assert "Wojciechowska" not in vocab and "Zbigniew" not in vocab
    assert "Wojciechowska" not in vocab.strings


def test_the_vocabulary_is_not_warmed_inside_a_memory_zone(
        cold_and_warm: tuple[PresidioDetector, PresidioDetector]) -> None:
    cold, _ = cold_and_warm
    engine = _engine(cold)
    with engine.memory_zone():
        assert engine.warm_vocabulary(["xylophonist"]) == 0
    assert "xylophonist" not in engine.pipeline.vocab


def test_the_word_list_is_lower_case_and_capitalized_words() -> None:
    words = common_words(1_000)
    assert words[:3] == ["the", "to", "and"]
    assert "The" in words and "thanks" in words and "Thanks" in words and "42" in words
    assert len(set(words)) == len(words)


def test_a_detector_without_spacy_is_left_alone() -> None:
    assert warm_vocabulary(FakeDetector()) == 0
