"""spaCy's layers multiply through numpy's BLAS by default, single-threaded, and find
exactly what they find on BLIS (``detection/matmul.py``)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from threadpoolctl import threadpool_info

from redact_gw.detection import Detector
from redact_gw.detection.engine import build_analyzer
from redact_gw.detection.nlp import TranscriptNlpEngine
from redact_gw.detection.presidio_detector import PresidioDetector
from redact_gw.errors import ConfigError
from redact_gw.model import KnownValue, Segment
from redact_gw.settings import DetectionSettings

TEXTS = [
    "hi this is Zbigniew Wojciechowska calling about my order, can you help?",
    "my name is maria garcia lopez and i live at twelve thirty four main street in austin",
    "Please send it to 221B Baker Street, London NW1 6XE before Friday the 3rd of May.",
    "we flew from new york to paris with delta airlines and stayed at the hilton",
    "The account holder is Dr. Anne-Marie O'Neill of the Royal Bank of Scotland in Edinburgh.",
    "customer says her husband james will call back from the office in toronto ontario",
    "ok so that's jessica thompson j e s s i c a and the zip is nine oh two one oh",
    "Agent: Thank you, Mr. Nakamura. Customer: You're welcome, I'm in Osaka until June.",
]


def _engine(det: Detector) -> TranscriptNlpEngine:
    assert isinstance(det, PresidioDetector)
    engine = det.analyzer.nlp_engine
    assert isinstance(engine, TranscriptNlpEngine)
    return engine


def _blis_flags(engine: TranscriptNlpEngine) -> set[bool]:
    components: list[Any] = [c for _, c in engine.pipeline.pipeline]
    components += engine._tagging  # the kept-aside tagger and its encoder
    return {bool(getattr(layer.ops, "use_blis", True))
            for c in components for layer in c.model.walk()}


@pytest.fixture(scope="module")
def on_blis() -> PresidioDetector:
    """A second detector on a second loaded model, on thinc's default BLIS."""
    settings = DetectionSettings(matmul="blis")
    return PresidioDetector(settings, build_analyzer(
        settings.spacy_model, settings.language, matmul="blis"))


def test_every_layer_of_the_default_detector_multiplies_through_numpy(
        detector: Detector) -> None:
    engine = _engine(detector)
    assert engine.matmul == "numpy"
    assert _blis_flags(engine) == {False}  # the kept-aside tagger included


def test_the_blas_thread_pools_are_capped_at_one_thread(detector: Detector) -> None:
    pools = [p for p in threadpool_info() if p["user_api"] == "blas"]
    assert pools, "numpy's BLAS is loaded"
    assert {p["num_threads"] for p in pools} == {1}


def test_numpy_and_blis_find_the_same_spans(detector: Detector,
                                            on_blis: PresidioDetector) -> None:
    assert _blis_flags(_engine(on_blis)) == {True}
    segments = [Segment(t, "customer") for t in TEXTS]
    found = detector.detect(segments)
    assert any(found), "the texts hold names and places"
    assert found == on_blis.detect(segments)
    jobs: list[tuple[list[Segment], list[KnownValue]]] = [([s], []) for s in segments]
    assert isinstance(detector, PresidioDetector)
    assert detector.detect_many(jobs) == on_blis.detect_many(jobs)


def test_only_numpy_or_blis_is_a_setting() -> None:
    with pytest.raises(ValidationError, match="matmul"):
        DetectionSettings(matmul="mkl")


def test_a_scoped_override_cannot_change_the_matmul(detector: Detector) -> None:
    assert isinstance(detector, PresidioDetector)
    with pytest.raises(ConfigError, match="cannot change the model"):
        detector.with_settings(DetectionSettings(matmul="blis"))


def test_no_product_of_a_detection_goes_through_blis(
        detector: Detector, on_blis: PresidioDetector, monkeypatch: pytest.MonkeyPatch) -> None:
    """What runs, not only the layers' flags at load: the parser's per-call step model
    and the kept-aside tagger included (the transition loop's own C calls aside)."""
    import blis.py

    calls: list[int] = []
    gemm = blis.py.gemm

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return gemm(*args, **kwargs)

    monkeypatch.setattr(blis.py, "gemm", counted)
    segments = [Segment(t, "customer") for t in TEXTS]
    on_blis.detect(segments)
    assert calls, "thinc's default multiplies through BLIS"
    calls.clear()
    assert isinstance(detector, PresidioDetector)
    assert any(detector.detect(segments))
    engine = _engine(detector)
    with engine.memory_zone():
        doc = engine.pipeline("my wife Jenny went to Paris with her brother")
        assert engine.tag(doc) and any(t.tag_ for t in doc)
    assert calls == []


def test_the_setting_names_exactly_the_backends_matmul_knows() -> None:
    """``settings.py`` spells the two values itself (importing ``matmul`` there would
    load spaCy): they must not drift apart."""
    from typing import get_args

    from redact_gw.detection.matmul import Matmul
    field = DetectionSettings.model_fields["matmul"]
    assert set(get_args(field.annotation)) == set(get_args(Matmul)) == {"numpy", "blis"}
