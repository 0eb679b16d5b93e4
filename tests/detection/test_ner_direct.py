"""NER results taken without ``AnalyzerEngine.analyze`` are exactly ``analyze``'s.

``ner_direct.analyze_ner`` stands in for ``analyze`` on the lines that need only the
NER entity types; checked here against ``analyze`` itself, on lines with names,
places, dates, nationalities and organizations, written and spoken, also under
recognizer score thresholds that drop some results.
"""

from __future__ import annotations

from typing import Any

import pytest
from presidio_analyzer import AnalyzerEngine, RecognizerResult
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

from redact_gw.detection import entities as E
from redact_gw.detection.ner_direct import analyze_ner, ner_recognizer
from redact_gw.detection.presidio_detector import PresidioDetector

NER = [E.DATE_TIME, E.LOCATION, E.NRP, E.PERSON, E.ORGANIZATION]
LINES = [
    "Agent: thanks for calling Acme Bank, this is Maria Gonzalez speaking",
    "I flew from Paris to New York on March 3rd with my brother John",
    "john campbell lives in springfield and works for microsoft",
    "The French delegation met Angela Merkel in Berlin last Tuesday at 10 am",
    "we are Canadian, my wife Priya Raman was born in Toronto in 1984",
    "Dr. Smith and Dr. Smith both work at the Mayo Clinic in Rochester, Minnesota",
    "nothing personal in this line at all",
    "Katsuko Koku from Savannah called about the Guilty Pleasures album",
]


def _as_tuples(results: list[RecognizerResult]) -> list[tuple[Any, ...]]:
    out = []
    for r in results:
        exp = r.analysis_explanation
        out.append((r.entity_type, r.start, r.end, r.score, dict(r.recognition_metadata or {}),
                    None if exp is None else sorted(vars(exp).items())))
    return out


@pytest.fixture(scope="module")
def analyzer(detector: PresidioDetector) -> AnalyzerEngine:
    return detector.analyzer


def _both(analyzer: AnalyzerEngine, line: str) -> tuple[list[Any], list[Any]]:
    engine = analyzer.nlp_engine
    with engine.memory_zone():  # type: ignore[attr-defined]
        doc = engine.pipeline(line)  # type: ignore[attr-defined]
        rec = ner_recognizer(analyzer, "en", NER)
        assert rec is not None
        direct = analyze_ner(analyzer, rec, line, NER, engine.artifacts(doc))  # type: ignore[attr-defined]
        full = analyzer.analyze(text=line, language="en", entities=NER,
                                nlp_artifacts=engine.artifacts(doc),  # type: ignore[attr-defined]
                                return_decision_process=True, context=["name", "card"])
        return _as_tuples(direct), _as_tuples(full)


@pytest.mark.parametrize("line", LINES)
def test_same_results_as_analyze(analyzer: AnalyzerEngine, line: str) -> None:
    direct, full = _both(analyzer, line)
    assert direct == full


def test_the_lines_hold_entities(analyzer: AnalyzerEngine) -> None:
    found = [r for line in LINES for r in _both(analyzer, line)[0]]
    assert {r[0] for r in found} >= {E.PERSON, E.LOCATION, E.DATE_TIME, E.NRP}


def test_same_results_under_score_thresholds(analyzer: AnalyzerEngine) -> None:
    rec = ner_recognizer(analyzer, "en", NER)
    assert rec is not None
    before = rec.score_thresholds
    try:
        rec.score_thresholds = {"default": 0.86, E.PERSON: 0.1}
        for line in LINES:
            direct, full = _both(analyzer, line)
            assert direct == full
            assert all(r[0] == E.PERSON for r in direct)  # 0.85 NER scores drop the rest
    finally:
        rec.score_thresholds = before


def test_pattern_entities_or_custom_recognizers_go_through_analyze(
        analyzer: AnalyzerEngine) -> None:
    assert ner_recognizer(analyzer, "en", [*NER, E.PHONE_NUMBER]) is None
    assert ner_recognizer(analyzer, "en", []) is None

    class Custom(SpacyRecognizer):
        pass

    analyzer.registry.add_recognizer(Custom(supported_entities=[E.PERSON]))
    try:
        assert ner_recognizer(analyzer, "en", NER) is None  # two recognizers serve PERSON
    finally:
        analyzer.registry.remove_recognizer("Custom")
    assert ner_recognizer(analyzer, "en", NER) is not None
