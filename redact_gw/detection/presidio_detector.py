"""``PresidioDetector``: Presidio + spaCy, plus transcript recognizers, per transcript.

One ``detect`` call sees the whole transcript:

1. every line of every segment goes through spaCy once (one batched ``pipe``) and the
   explicit Presidio registry; lines are analyzed separately so an entity never
   swallows a line break or the speaker label after it;
2. the transcript recognizers read each segment's normalized view (spoken digits,
   letters, emails, names, addresses, dates, passwords), with the words before a value
   (also the previous turn) as context;
3. values found, and values already known in the record, are looked for again in
   every segment (recurrences, also partial);
4. thresholds, allow and deny lists and overlap resolution give the final spans.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from presidio_analyzer import AnalyzerEngine, RecognizerResult
from spacy.lang.en.stop_words import STOP_WORDS

from redact_gw.detection import entities as E
from redact_gw.detection import names, recurrence, spoken, spoken_email
from redact_gw.detection.candidates import (
    Candidate,
    allowed_values,
    deny_candidates,
    is_allowed,
    resolve,
)
from redact_gw.detection.context import TranscriptContext
from redact_gw.detection.engine import (
    CREDENTIAL_RECOGNIZER,
    build_analyzer,
    credential_recognizer,
    explain,
    recognizer_name,
)
from redact_gw.detection.lexicon import NOT_NAMES
from redact_gw.detection.turns import turns
from redact_gw.detection.view import SpokenView, build_view
from redact_gw.model import KnownValue, Segment, Span
from redact_gw.settings import DetectionSettings

_LINE_RE = re.compile(r"[^\n]+")
#: Presidio entity types that are numbers; a quantity context ("order", "dollars")
#: drops them unless Presidio validated them strongly.
_NUMERIC_TYPES = frozenset({E.PHONE_NUMBER, E.US_BANK_NUMBER, E.US_PASSPORT, E.US_SSN,
                            E.US_ITIN, E.CREDIT_CARD})
_NER_TYPES = frozenset({E.PERSON, E.LOCATION, E.NRP})
_WORD_RE = re.compile(r"[A-Za-z']+")
_LOW_VALUE_TYPES = {E.DATE_TIME: 0.3, E.URL: 0.3}
_WARM_UP = (
    Segment("Agent: thanks for calling, can I have your name and card number?", "agent"),
    Segment("Customer: sure it's john smith, four one one one one one one one one one "
            "one one one one one one", "customer"),
)


class PresidioDetector:
    """Transcript-grade detection on Presidio's ``AnalyzerEngine`` and spaCy."""

    def __init__(self, settings: DetectionSettings,
                 analyzer: AnalyzerEngine | None = None) -> None:
        """Build the analyzer (loads the spaCy model; call off the event loop).

        Args:
            settings: Detection settings.
            analyzer: A prebuilt analyzer (tests, benchmarks); built from settings
                when ``None``.
        """
        self._settings = settings
        self._analyzer = analyzer or build_analyzer(settings.spacy_model, settings.language)
        self._presidio_entities = _presidio_entities(self._analyzer, settings)
        self._credentials = credential_recognizer(settings.language)

    @property
    def analyzer(self) -> AnalyzerEngine:
        """The underlying Presidio analyzer (to share one loaded model between detectors)."""
        return self._analyzer

    def warm_up(self) -> None:
        """Run one detection so lazy loading happens before the first request."""
        self.detect(_WARM_UP)

    def detect(self, segments: Sequence[Segment],
               known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        """Return, per segment, sorted non-overlapping spans (see ``Detector``)."""
        texts = [s.text for s in segments]
        views = [build_view(t) for t in texts]
        ctx = TranscriptContext(texts, [v.tokens for v in views])
        cands = self._first_pass(segments, views, ctx)
        cands.extend(self._recurrences(texts, views, cands, known))
        by_seg: list[list[Candidate]] = [[] for _ in texts]
        for cand in cands:
            by_seg[cand.seg].append(cand)
        return [resolve(text, seg_cands, self._settings)
                for text, seg_cands in zip(texts, by_seg, strict=True)]

    def _first_pass(self, segments: Sequence[Segment], views: Sequence[SpokenView],
                    ctx: TranscriptContext) -> list[Candidate]:
        """Presidio, credentials, transcript recognizers and the deny list."""
        texts = [s.text for s in segments]
        cands = self._presidio(texts, ctx)
        cands.extend(self._credential_candidates(texts))
        if self._settings.transcript_recognizers:
            for seg, view in enumerate(views):
                cands.extend(_transcript(seg, view, ctx))
            for turn in turns(segments, [v.tokens for v in views]):
                cands.extend(names.answered(turn, texts[turn.seg], views[turn.seg].tokens))
        cands.extend(deny_candidates(texts, self._settings.deny_list))
        return cands

    def _recurrences(self, texts: Sequence[str], views: Sequence[SpokenView],
                     found: Sequence[Candidate], known: Sequence[KnownValue]) -> list[Candidate]:
        """Recurrences of confident, non-allow-listed values and of known values."""
        allowed = allowed_values(self._settings)
        confident = [c for c in found
                     if c.score >= self._settings.threshold_for(c.entity_type)
                     and not is_allowed(texts[c.seg], c, allowed)]
        needles = recurrence.collect(texts, confident, known)
        return [c for seg, view in enumerate(views) for c in recurrence.find(seg, view, needles)]

    def _credential_candidates(self, texts: Sequence[str]) -> list[Candidate]:
        """Keys, tokens and private key blocks over whole segments (blocks span lines)."""
        out: list[Candidate] = []
        for seg, text in enumerate(texts):
            for r in self._credentials.analyze(text, [E.CREDENTIAL], None):
                out.append(Candidate(seg, r.start, r.end, E.CREDENTIAL, r.score,
                                     CREDENTIAL_RECOGNIZER, None, explain(r)))
        return out

    def _presidio(self, texts: Sequence[str], ctx: TranscriptContext) -> list[Candidate]:
        lines = list(_lines(texts))
        if not lines or self._presidio_entities == []:
            return []
        engine = self._analyzer.nlp_engine
        batch = engine.process_batch([line for _, _, line in lines], self._settings.language)
        out: list[Candidate | None] = []
        for (seg, offset, line), (_, artifacts) in zip(lines, batch, strict=True):
            results = self._analyzer.analyze(
                text=line, language=self._settings.language, nlp_artifacts=artifacts,
                entities=self._presidio_entities, return_decision_process=True,
                context=ctx.words_before(seg, offset, 8) or None)
            out.extend(_adjust(seg, offset, line, r, ctx) for r in results)
        return [c for c in out if c is not None]


def _presidio_entities(analyzer: AnalyzerEngine,
                       settings: DetectionSettings) -> list[str] | None:
    """Enabled entity types Presidio knows (``None``: all of them)."""
    if settings.entities is None:
        return None
    supported = set(analyzer.get_supported_entities(settings.language))
    return [e for e in settings.entities if e in supported]


def _lines(texts: Sequence[str]) -> Iterator[tuple[int, int, str]]:
    """(segment, offset, line) for every non-blank line of every segment."""
    for seg, text in enumerate(texts):
        for m in _LINE_RE.finditer(text):
            if m.group().strip():
                yield seg, m.start(), m.group()


def _adjust(seg: int, offset: int, line: str, result: RecognizerResult,
            ctx: TranscriptContext) -> Candidate | None:
    """A Presidio result as a candidate, rescored for transcripts."""
    start, end = offset + result.start, offset + result.end
    entity, score = result.entity_type, result.score
    if entity in _NER_TYPES and not _has_name_word(line[result.start:result.end]):
        return None
    if entity == E.NRP:
        score = min(score, 0.6)
    why = explain(result)
    hint = ctx.hint(seg, start, end)
    quantity = hint is not None and hint.family == "negative"
    if entity in _NUMERIC_TYPES and quantity and score < 0.9:
        return None
    has_digit = any(ch.isdigit() for ch in line[result.start:result.end])
    if entity == E.DATE_TIME and hint is not None and hint.family == "dob" and has_digit:
        entity, score, why = E.DATE_OF_BIRTH, 0.85, f"{why}, birth context ('{hint.word}')"
    elif entity in _LOW_VALUE_TYPES:
        score = min(score, _LOW_VALUE_TYPES[entity])
    return Candidate(seg, start, end, entity, score, recognizer_name(result), None, why)


def _has_name_word(text: str) -> bool:
    if any(ch.isdigit() for ch in text):
        return False
    words = [w.lower() for w in _WORD_RE.findall(text)]
    return any(len(w) > 1 and w not in STOP_WORDS and w not in NOT_NAMES for w in words)


def _transcript(seg: int, view: SpokenView, ctx: TranscriptContext) -> list[Candidate]:
    """All transcript recognizers over one segment's view."""
    text, toks = view.original, list(view.tokens)
    out = [
        *spoken.number_candidates(seg, view, ctx),
        *spoken.iban_candidates(seg, view, ctx),
        *spoken.date_candidates(seg, view, ctx),
        *spoken.address_candidates(seg, view),
        *spoken.password_candidates(seg, view),
        *names.introduced_names(seg, text, toks, ctx),
        *names.introduced_places(seg, text, toks),
        *names.spelled_names(seg, view, ctx),
    ]
    for start, end, address in spoken_email.find_spoken_emails(text, toks):
        asked = ctx.mentions(seg, start, frozenset({"email", "e-mail", "mail"}), 14)
        out.append(Candidate(seg, start, end, E.EMAIL_ADDRESS, 0.95,
                             spoken_email.RECOGNIZER, address,
                             f"spoken email, context '{asked}'" if asked else "spoken email"))
    return out
