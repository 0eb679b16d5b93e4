"""Presidio's context words still raise a weak number's score with the lazy keywords;
warm-up compiles every pattern and reads the public-suffix list."""

from __future__ import annotations

from typing import Any

import pytest
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


def test_warm_up_compiles_every_pattern_before_the_first_request(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import regex._main
    from presidio_analyzer import PatternRecognizer

    from redact_gw.detection.engine import (
        compile_patterns,
        credential_recognizer,
        transcript_registry,
    )
    recs = [r for r in [*transcript_registry("en"), credential_recognizer("en")]
            if isinstance(r, PatternRecognizer)]
    patterns = [p for r in recs for p in r.patterns]
    assert len(patterns) > 20
    for p in patterns:  # as in a fresh worker (the pattern objects are shared)
        p.compiled_regex = None
    compile_patterns(list(recs))
    parsed: list[object] = []
    real = regex._main._parse_pattern

    def spy(*args: object) -> object:
        parsed.append(args)
        return real(*args)

    monkeypatch.setattr(regex._main, "_parse_pattern", spy)
    line = "ip 10.0.0.1, www.example.com, a@b.com, card 4111111111111111, ssn 078-05-1120"
    for rec in recs:
        rec.analyze(line, rec.supported_entities, None)
    assert parsed == []


def test_warm_up_loads_the_public_suffix_list_before_the_first_spoken_email(
        detector: Detector, monkeypatch: pytest.MonkeyPatch) -> None:
    import tldextract.tldextract

    from redact_gw.detection import spoken_email
    from redact_gw.model import Segment

    spoken_email.offline_tld.cache_clear()  # as in a fresh worker
    detector.warm_up()
    built: list[object] = []
    real = tldextract.tldextract.Trie.create

    def spy(*args: Any, **kwargs: Any) -> Any:
        built.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(tldextract.tldextract.Trie, "create", spy)
    [spans] = detector.detect([Segment("it's jane dot roe at example dot org", "customer")])
    assert [s.entity_type for s in spans] == ["EMAIL_ADDRESS"]
    assert built == []  # the list was read during the warm-up, not by this request
