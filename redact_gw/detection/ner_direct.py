"""spaCy's entities of a line as ``AnalyzerEngine.analyze`` returns them, without it.

On most analyzed transcript lines no pattern recognizer's gate passes
(``pattern_gates``): only the NER entity types are asked for, and the one recognizer
serving them is Presidio's ``SpacyRecognizer``. For such a line ``analyze`` (Presidio
2.2) picks the recognizers (a scan of the whole registry), runs ``SpacyRecognizer``
over the line's ``NlpArtifacts``, lets it enhance its own results (the base class
returns them unchanged), deep-copies them for the context enhancer (which skips a
recognizer without context words), drops results under the score threshold and
removes duplicates. ``analyze_ner`` does the steps that can change a result, in the
same order, and nothing else; about a quarter of ``analyze``'s cost on those lines.

``ner_recognizer`` says when that is exact: one recognizer serves the entity types,
it is a loaded ``SpacyRecognizer`` itself (no subclass), it has no context words and
the analyzer's context enhancer is Presidio's lemma enhancer. Otherwise it returns
``None`` and the caller runs ``analyze``. ``tests/detection/test_ner_direct.py`` checks
the results against ``analyze`` itself.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

_Key = tuple[str, tuple[str, ...], int]
#: Per analyzer: (language, entity types, registry size) -> the recognizer or ``None``.
_CHOSEN: weakref.WeakKeyDictionary[AnalyzerEngine, dict[_Key, SpacyRecognizer | None]] = (
    weakref.WeakKeyDictionary())


def ner_recognizer(analyzer: AnalyzerEngine, language: str,
                   entities: Sequence[str]) -> SpacyRecognizer | None:
    """The ``SpacyRecognizer`` that ``analyze`` would run alone for ``entities``, when
    ``analyze_ner`` gives exactly ``analyze``'s results; ``None`` otherwise."""
    key = (language, tuple(entities), len(list(analyzer.registry.recognizers)))
    known = _CHOSEN.setdefault(analyzer, {})
    if key not in known:
        known[key] = _choose(analyzer, language, entities)
    return known[key]


def _choose(analyzer: AnalyzerEngine, language: str,
            entities: Sequence[str]) -> SpacyRecognizer | None:
    if not entities or analyzer.log_decision_process or type(
            analyzer.context_aware_enhancer) is not LemmaContextAwareEnhancer:
        return None
    try:
        chosen = analyzer.registry.get_recognizers(language=language, entities=list(entities))
    except ValueError:
        return None
    if len(chosen) != 1:
        return None
    rec = chosen[0]
    if (type(rec) is not SpacyRecognizer or not rec.is_loaded or rec.context
            or rec.supported_language != language
            or type(rec).enhance_using_context is not EntityRecognizer.enhance_using_context):
        return None
    return rec


def analyze_ner(analyzer: AnalyzerEngine, rec: SpacyRecognizer, text: str,
                entities: Sequence[str], artifacts: NlpArtifacts) -> list[RecognizerResult]:
    """``analyzer.analyze(text, entities=entities, nlp_artifacts=artifacts,
    return_decision_process=True)`` for a recognizer ``ner_recognizer`` returned."""
    results: list[RecognizerResult] = rec.analyze(text=text, entities=list(entities),
                                                  nlp_artifacts=artifacts)
    thresholds = rec.score_thresholds
    default = thresholds.get("default", analyzer.default_score_threshold)
    kept = [r for r in results if r.score >= thresholds.get(r.entity_type, default)]
    deduplicated: list[RecognizerResult] = EntityRecognizer.remove_duplicates(kept)
    return deduplicated
