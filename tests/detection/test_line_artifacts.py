"""Presidio's context words still raise a weak number's score with the lazy keywords."""

from __future__ import annotations

from presidio_analyzer.nlp_engine import NlpArtifacts

from redact_gw.detection import Detector
from redact_gw.detection import entities as E
from redact_gw.detection.presidio_detector import PresidioDetector


def _bank(detector: Detector, line: str) -> tuple[float, str | None]:
    assert isinstance(detector, PresidioDetector)
    analyzer = detector.analyzer
    engine = analyzer.nlp_engine
    with engine.memory_zone():  # type: ignore[attr-defined]
        doc = engine.pipeline.make_doc(line)  # type: ignore[attr-defined]
        art = engine.artifacts(doc)  # type: ignore[attr-defined]
        assert art.keywords == NlpArtifacts.set_keywords(engine, art.lemmas, "en")
        [result] = analyzer.analyze(line, "en", entities=[E.US_BANK_NUMBER],
                                    nlp_artifacts=art, return_decision_process=True)
        exp = result.analysis_explanation
        return result.score, exp.supportive_context_word if exp else None


def test_a_context_word_before_a_bank_number_raises_its_score(detector: Detector) -> None:
    plain, none = _bank(detector, "the number is 84201937 I think")
    cued, word = _bank(detector, "my account is 84201937 I think")
    assert none in (None, "")
    assert word == "account"
    assert cued > plain
