"""The Presidio side: an explicit recognizer registry on a spaCy NLP engine, offline.

Nothing here touches the network: the spaCy model must already be installed (Presidio
would otherwise try to download it), and email validation uses tldextract's bundled
public-suffix snapshot instead of ``tldextract.extract`` (which downloads the list and
writes a cache under ``~/.cache``). Presidio's decision-process logging stays off:
explanations are built here from ``analysis_explanation``, without the matched text.
Presidio's context enhancer logs the words around each hit at DEBUG, so Presidio's
DEBUG records are dropped by a filter on its logger.
"""

from __future__ import annotations

import logging
import re

from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NerModelConfiguration
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    CryptoRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    MacAddressRecognizer,
    SpacyRecognizer,
    UrlRecognizer,
    UsBankRecognizer,
    UsItinRecognizer,
    UsPassportRecognizer,
    UsSsnRecognizer,
)

from redact_gw.detection import entities as E
from redact_gw.detection import require_model
from redact_gw.detection.matmul import Matmul
from redact_gw.detection.nlp import TranscriptNlpEngine
from redact_gw.detection.phone_regions import RegionGatedPhoneRecognizer
from redact_gw.detection.spoken_email import has_public_suffix

#: spaCy labels mapped to Presidio entity types; everything else is ignored.
NER_MAPPING: dict[str, str] = {
    "PERSON": E.PERSON, "PER": E.PERSON, "GPE": E.LOCATION, "LOC": E.LOCATION,
    "FAC": E.LOCATION, "NORP": E.NRP, "DATE": E.DATE_TIME, "TIME": E.DATE_TIME,
    "ORG": E.ORGANIZATION,
}

CREDENTIAL_PATTERNS: tuple[Pattern, ...] = (
    Pattern("aws access key id", r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b",
            0.95),
    Pattern("github token", r"\b(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_\w{22,255})\b",
            0.95),
    Pattern("gitlab token", r"\bglpat-[A-Za-z0-9_\-]{20,}", 0.95),
    Pattern("slack token", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}", 0.95),
    Pattern("slack webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]+", 0.95),
    Pattern("private key block",
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z0-9]+ )*"
            r"PRIVATE KEY-----", 1.0),
    Pattern("jwt", r"\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}", 0.95),
    Pattern("openai or anthropic key", r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{20,}", 0.9),
    Pattern("google api key", r"\bAIza[0-9A-Za-z_\-]{35}\b", 0.95),
    Pattern("stripe key", r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}\b", 0.95),
    Pattern("aws secret assignment",
            r"(?<=aws_secret_access_key)\s*[=:]\s*[A-Za-z0-9/+=]{40}\b", 0.95),
)


#: Literal text every credential pattern contains (matched without case, as Presidio
#: does): a segment without any of it cannot hold a credential, and the eleven
#: patterns are not run over it.
CREDENTIAL_ANCHOR_TEXT = (
    r"akia|asia|agpa|aida|aroa|anpa|anva|aipa|gh[pousr]_|github_pat_|glpat-|xox[abposr]-"
    r"|hooks\.slack\.com|private key|eyj|sk-|aiza|[rs]k_(?:live|test)_"
    r"|aws_secret_access_key")
CREDENTIAL_ANCHORS = re.compile(CREDENTIAL_ANCHOR_TEXT, re.IGNORECASE)
#: The same anchors, lower case and matched with case: on ASCII text, searching
#: ``text.lower()`` with it finds exactly what ``CREDENTIAL_ANCHORS`` finds, about
#: twice as fast (Unicode case folding, e.g. the Kelvin sign matching "k", only
#: concerns non-ASCII text, which keeps the case-insensitive search).
_ANCHORS_LOWER = re.compile(CREDENTIAL_ANCHOR_TEXT)


def may_hold_credential(text: str) -> bool:
    """Whether ``text`` holds any credential anchor (as ``CREDENTIAL_ANCHORS`` finds)."""
    if text.isascii():
        return _ANCHORS_LOWER.search(text.lower()) is not None
    return CREDENTIAL_ANCHORS.search(text) is not None

PRESIDIO_LOGGER = "presidio-analyzer"
CREDENTIAL_RECOGNIZER = "CredentialRecognizer"


class DropPresidioDebug(logging.Filter):
    """Drops Presidio's DEBUG records: some carry transcript words ("Context list is ...")."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep INFO and above."""
        return record.levelno >= logging.INFO


def silence_presidio_debug() -> None:
    """Install ``DropPresidioDebug`` on Presidio's logger once (idempotent)."""
    logger = logging.getLogger(PRESIDIO_LOGGER)
    if not any(isinstance(f, DropPresidioDebug) for f in logger.filters):
        logger.addFilter(DropPresidioDebug())


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email recognizer validating domains against the bundled suffix list."""

    def validate_result(self, pattern_text: str) -> bool:
        """Accept an address whose domain ends in a known public suffix (offline)."""
        return has_public_suffix(pattern_text.rsplit("@", 1)[-1])


def credential_recognizer(language: str) -> PatternRecognizer:
    """Cloud keys, tokens, private key blocks and JWTs as ``CREDENTIAL``."""
    return PatternRecognizer(supported_entity=E.CREDENTIAL, name=CREDENTIAL_RECOGNIZER,
                             patterns=list(CREDENTIAL_PATTERNS),
                             context=["key", "token", "secret", "password"],
                             supported_language=language)


def transcript_registry(language: str) -> list[EntityRecognizer]:
    """The explicit recognizer list run per line (NER added separately).

    The credential recognizer is not in it: private key blocks span lines, so it runs
    over whole segments (see ``credential_recognizer``).
    """
    return [
        CreditCardRecognizer(supported_language=language),
        UsSsnRecognizer(supported_language=language),
        UsItinRecognizer(supported_language=language),
        UsBankRecognizer(supported_language=language),
        UsPassportRecognizer(supported_language=language),
        IbanRecognizer(supported_language=language),
        IpRecognizer(supported_language=language),
        MacAddressRecognizer(supported_language=language),
        CryptoRecognizer(supported_language=language),
        RegionGatedPhoneRecognizer(supported_language=language),
        UrlRecognizer(supported_language=language),
        OfflineEmailRecognizer(supported_language=language),
    ]


def build_analyzer(model: str, language: str,
                   recognizers: list[EntityRecognizer] | None = None, *,
                   batch_size: int = 64, matmul: Matmul = "numpy") -> AnalyzerEngine:
    """An ``AnalyzerEngine`` on ``model`` with exactly ``recognizers`` plus spaCy NER.

    The spaCy pipeline keeps only what its NER needs (see ``TranscriptNlpEngine``).

    Args:
        model: Installed spaCy model name or path.
        language: Language code.
        recognizers: Pattern recognizers; ``None`` means the transcript registry.
        batch_size: Texts per ``nlp.pipe`` minibatch.
        matmul: Which BLAS spaCy's layers multiply with (``detection/matmul.py``).
    """
    require_model(model)
    silence_presidio_debug()
    ner_config = NerModelConfiguration(model_to_presidio_entity_mapping=NER_MAPPING,
                                       labels_to_ignore=["CARDINAL", "ORDINAL"])
    nlp_engine = TranscriptNlpEngine(model, language, ner_config, batch_size, matmul)
    nlp_engine.load()
    chosen = transcript_registry(language) if recognizers is None else recognizers
    ner = SpacyRecognizer(supported_language=language,
                          supported_entities=[E.PERSON, E.LOCATION, E.NRP, E.DATE_TIME,
                                              E.ORGANIZATION])
    registry = RecognizerRegistry(recognizers=[*chosen, ner], supported_languages=[language])
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine,
                          supported_languages=[language], log_decision_process=False,
                          context_aware_enhancer=LemmaContextAwareEnhancer(
                              context_prefix_count=8, context_suffix_count=2))


def compile_patterns(recognizers: list[EntityRecognizer]) -> None:
    """Compile every pattern of ``recognizers`` now (Presidio compiles a pattern the
    first time its recognizer runs: about 0.2 s of CPU for the transcript registry,
    most of it the URL pattern, otherwise paid by the first requests that hold a
    digit, a dot or an "@")."""
    for rec in recognizers:
        if isinstance(rec, PatternRecognizer):
            rec.analyze("", rec.supported_entities, None)


def explain(result: RecognizerResult) -> str:
    """A short reason for a Presidio result: recognizer, pattern, context word."""
    exp = result.analysis_explanation
    if exp is None:
        return "presidio"
    parts = [str(exp.recognizer)]
    if exp.pattern_name:
        parts.append(f"pattern '{exp.pattern_name}'")
    if exp.validation_result is not None:
        parts.append("checksum ok" if exp.validation_result else "checksum failed")
    if exp.supportive_context_word:
        parts.append(f"context '{exp.supportive_context_word}'")
    return ", ".join(parts)


def recognizer_name(result: RecognizerResult) -> str:
    """The name of the recognizer that raised ``result``."""
    meta = result.recognition_metadata or {}
    name = meta.get(RecognizerResult.RECOGNIZER_NAME_KEY)
    return str(name) if name else "Presidio"
