"""``PresidioDetector``: Presidio + spaCy, plus transcript recognizers, per transcript.

One ``detect`` call sees the whole transcript:

1. every line of every segment goes through spaCy once (one batched ``pipe``) and the
   explicit Presidio registry; lines are analyzed separately so an entity never
   swallows a line break or the speaker label after it;
2. the transcript recognizers (``transcript_recognizers``) read each segment's
   normalized view (spoken digits, letters, emails, names, addresses, dates,
   passwords), with the words before a value (also the previous turn) as context;
3. values found, and values already known in the record, are looked for again in
   every segment (recurrences, also partial);
4. thresholds, allow and deny lists and overlap resolution give the final spans.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Sequence

from presidio_analyzer import AnalyzerEngine
from spacy.tokens import Doc

from redact_gw.detection import (
    address_parts,
    gazetteer,
    names,
    ner_gate,
    ner_memo,
    phones,
    places,
    recurrence,
    spoken_email,
    spoken_names,
    transcript_recognizers,
    truecase,
)
from redact_gw.detection import entities as E
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
    NER_MAPPING,
    build_analyzer,
    compile_patterns,
    credential_recognizer,
    explain,
    may_hold_credential,
)
from redact_gw.detection.ner_direct import analyze_ner, ner_recognizer
from redact_gw.detection.nlp import TranscriptNlpEngine
from redact_gw.detection.pattern_gates import NEEDS, possible
from redact_gw.detection.presidio_results import (
    LOW_VALUE_TYPES,
    WORD_NAME_SCORE,
    adjust,
    name_like,
)
from redact_gw.detection.schedule import SHORT_CHARS
from redact_gw.detection.view import SpokenView, build_view
from redact_gw.errors import ConfigError
from redact_gw.model import KnownValue, Segment, SegmentNer, Span
from redact_gw.settings import DetectionSettings

#: One transcript to detect in: its segments and the values its record already holds.
Job = tuple[Sequence[Segment], Sequence[KnownValue]]
#: (segment index, offset in the segment, line text).
Line = tuple[int, int, str]

_LINE_RE = re.compile(r"[^\n]+")
#: Entity types Presidio takes from spaCy's NER (``SpacyRecognizer``).
_NER_ENTITIES = frozenset({E.PERSON, E.LOCATION, E.NRP, E.DATE_TIME, E.ORGANIZATION})
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
        self._analyzer = analyzer or build_analyzer(settings.spacy_model, settings.language,
                                                    batch_size=settings.nlp_batch_size,
                                                    matmul=settings.matmul)
        engine = self._analyzer.nlp_engine
        if not isinstance(engine, TranscriptNlpEngine):
            raise ConfigError("detection: the analyzer must run on a TranscriptNlpEngine")
        self._engine = engine
        self._credentials = credential_recognizer(settings.language)
        self._configure(settings)

    def _configure(self, settings: DetectionSettings) -> None:
        """Set ``settings`` and everything derived from them (which recognizers run,
        the types opted in, whether the gazetteer is read); the model stays loaded.
        ``disabled_entities`` only filters the output (``candidates.resolve``)."""
        self._settings = settings
        enabled = _presidio_entities(self._analyzer, settings)
        self._ner_entities = [e for e in enabled if e in _NER_ENTITIES and e != E.ORGANIZATION]
        self._ner_enabled = bool(self._ner_entities)
        self._pattern_entities = [e for e in enabled if e not in _NER_ENTITIES]
        unknown = [e for e in self._pattern_entities if e not in NEEDS]
        if unknown:
            raise ConfigError(f"detection: no line filter for entity types {unknown}")
        self._opted_in = frozenset(settings.entities or ()) & frozenset(LOW_VALUE_TYPES)
        wanted = set(settings.entities or (E.PERSON, E.LOCATION))
        self._gazetteer = (gazetteer.load() if settings.transcript_recognizers
                           and wanted & {E.PERSON, E.LOCATION, E.ADDRESS, E.ZIP_CODE}
                           else None)
        self._towns = places.towns() if self._gazetteer is not None else frozenset()
        if self._gazetteer is not None and wanted & {E.PERSON, E.LOCATION}:
            # spaCy's small model calls many cities and foreign names ORG: read them
            self._ner_entities.append(E.ORGANIZATION)
        # lines the NER need not read (``ner_gate``): not when a word that is no name
        # may be redacted as one, nor when the NER's dates may be (opted in, or a
        # threshold at or under their score: "next tuesday" has no digit)
        self._ner_gate = (ner_gate.for_model(self._engine.pipeline)
                          if self._gazetteer is not None and E.DATE_TIME not in self._opted_in
                          and settings.threshold_for(E.DATE_TIME) > LOW_VALUE_TYPES[E.DATE_TIME]
                          and settings.threshold_for(E.PERSON) > WORD_NAME_SCORE else None)
        # kept entities of gated lines are none because the NER did not read them: a
        # detector without the gate (other scoped settings) must not take them
        model = (ner_memo.fingerprint(self._engine.pipeline, self._gazetteer is not None)
                 if self._ner_enabled else None)
        self._ner_model = (f"{model}|gated" if model is not None and self._ner_gate is not None
                           else model)

    @property
    def settings(self) -> DetectionSettings:
        """The settings this detector applies."""
        return self._settings

    def with_settings(self, settings: DetectionSettings) -> PresidioDetector:
        """This detector (same loaded model and recognizers) under other thresholds and
        fewer entity types: a scoped override (``detection/scoped.py``). Everything
        derived from the settings is derived again (``_configure``)."""
        model = ("spacy_model", "language", "nlp_batch_size", "matmul")
        if any(getattr(settings, k) != getattr(self._settings, k) for k in model):
            raise ConfigError("detection: scoped settings cannot change the model")
        clone = copy.copy(self)
        clone._configure(settings)
        return clone

    @property
    def analyzer(self) -> AnalyzerEngine:
        """The underlying Presidio analyzer (to share one loaded model between detectors)."""
        return self._analyzer

    def warm_up(self) -> None:
        """Run one detection and compile every pattern, so lazy loading happens
        before the first request."""
        self.detect(_WARM_UP)
        compile_patterns([*self._analyzer.registry.recognizers, self._credentials])
        spoken_email.has_public_suffix("example.com")  # loads the public-suffix list

    def detect(self, segments: Sequence[Segment],
               known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        """Return, per segment, sorted non-overlapping spans (see ``Detector``)."""
        return self.detect_many([(segments, known)])[0]

    def detect_many(self, jobs: Sequence[Job]) -> list[list[list[Span]]]:
        """``detect`` for several transcripts, with one ``nlp.pipe`` over all their lines.

        spaCy is several times faster on a batch than line by line; everything after
        the NER is per transcript, so one transcript never sees another's values.
        """
        out: list[list[list[Span]]] = [[] for _ in jobs]
        for index, spans in self.detect_each(jobs):
            out[index] = spans
        return out

    def detect_each(self, jobs: Sequence[Job]) -> Iterator[tuple[int, list[list[Span]]]]:
        """``detect_many``, yielding ``(index, spans)`` as each transcript is done.

        Utterances (under ``schedule.SHORT_CHARS``) first, in the order given, then
        longer transcripts shortest first; the ``nlp.pipe`` is consumed lazily, one
        minibatch at a time, so a chat line batched with a ten-minute call is answered
        after the first minibatch, not after the whole call's NER. The pool gives a
        batch's jobs longest-waiting first (``schedule.pick``): answering them in that
        order, not shortest first, evens out their latencies, and a long utterance is
        no longer always the last of its batch. Strings the batch added to spaCy's
        vocabulary are freed when the iteration ends.
        """
        for index, spans, _ner in self.detect_each_keeping(jobs, [False] * len(jobs)):
            yield index, spans

    def detect_each_keeping(self, jobs: Sequence[Job], keep: Sequence[bool] | None = None
                            ) -> Iterator[tuple[int, list[list[Span]], list[SegmentNer | None]]]:
        """``detect_each``, also yielding each segment's NER to keep (``ner_memo``; for
        the jobs ``keep`` names, default all): a segment given again with it
        (``Segment.ner``) is not read by spaCy again."""
        order = sorted(range(len(jobs)),
                       key=lambda i: max(SHORT_CHARS, sum(len(s.text) for s in jobs[i][0])))
        with self._engine.memory_zone():
            lines = {i: list(_lines([s.text for s in jobs[i][0]])) for i in order}
            # the text each line's Doc is made of, kept: spaCy joins its tokens again on
            # every ``doc.text``, a few microseconds a line
            read = {i: [self._read_text(line) for _, _, line in lines[i]] for i in order}
            segs = {i: [seg for seg, _, _ in lines[i]] for i in order}
            kept = {i: ner_memo.kept_docs(self._engine.pipeline, self._ner_model, jobs[i][0],
                                          segs[i], read[i]) for i in order}
            docs = self._nlp([text for i in order
                              for text, doc in zip(read[i], kept[i], strict=True)
                              if doc is None])
            for i in order:
                job_docs = [doc if doc is not None else next(docs) for doc in kept[i]]
                segments, known = jobs[i]
                spans = self._detect(segments, known, lines[i], job_docs, read[i])
                model = self._ner_model if keep is None or keep[i] else None
                yield i, spans, ner_memo.keep(model, len(segments), segs[i], read[i],
                                              job_docs)

    def detect_keeping(self, segments: Sequence[Segment], known: Sequence[KnownValue] = ()
                       ) -> tuple[list[list[Span]], list[SegmentNer | None]]:
        """``detect``, and each segment's NER to keep (``detect_each_keeping``)."""
        [(_, spans, ner)] = list(self.detect_each_keeping([(segments, known)]))
        return spans, ner

    def _detect(self, segments: Sequence[Segment], known: Sequence[KnownValue],
                lines: Sequence[Line], docs: Sequence[Doc],
                read: Sequence[str]) -> list[list[Span]]:
        texts = [s.text for s in segments]
        views = [build_view(t) for t in texts]
        ctx = TranscriptContext(texts, [v.tokens for v in views])
        # each line's words, read once for the layers that read words per line
        seg_lines = [truecase.split_lines(t) for t in texts] if self._gazetteer else []
        line_words = [lw for seg in seg_lines for lw in seg if lw.text.strip()]
        cands = self._presidio(lines, docs, ctx)
        cands.extend(self._related_names(lines, docs))
        cands.extend(self._gazetteer_hits(lines, read, line_words))
        cands.extend(self._first_pass(segments, views, ctx, seg_lines))
        cands.extend(self._spoken_names(texts, lines, seg_lines, line_words, cands))
        cands.extend(self._recurrences(texts, views, cands, known))
        if self._settings.transcript_recognizers:
            town_code = self._gazetteer.rare_town_code if self._gazetteer else None
            cands.extend(address_parts.beside_found(texts, views, cands, town_code))
        by_seg: list[list[Candidate]] = [[] for _ in texts]
        for cand in cands:
            cand = phones.with_extension(views[cand.seg], cand)
            by_seg[cand.seg].append(places.whole_words(texts[cand.seg], cand))
        return [resolve(text, seg_cands, self._settings)
                for text, seg_cands in zip(texts, by_seg, strict=True)]

    def _nlp(self, texts: list[str]) -> Iterator[Doc]:
        """A ``Doc`` per text (``_read_text`` of a line), lazily: spaCy's NER over all
        of them in one ``pipe``, or only the tokenizer when no NER entity type is
        enabled. Pattern recognizers need tokens (for their context words), never the
        NER: a deployment that only redacts numbers, emails and keys never runs it."""
        nlp = self._engine.pipeline
        if not self._ner_enabled:
            return (nlp.make_doc(text) for text in texts)
        gate = self._ner_gate
        if gate is None:
            return iter(nlp.pipe(texts, batch_size=self._engine.batch_size))
        need = [gate.needs(text) for text in texts]
        read = nlp.pipe([t for t, n in zip(texts, need, strict=True) if n],
                        batch_size=self._engine.batch_size)
        return (next(read) if n else nlp.make_doc(t) for t, n in zip(texts, need, strict=True))

    def _read_text(self, line: str) -> str:
        """The text of ``line``'s ``Doc``: what the NER reads, or the line itself when
        only the tokenizer runs (spaCy's tokens keep every character: ``doc.text``)."""
        return self._ner_text(line) if self._ner_enabled else line

    def _ner_text(self, line: str) -> str:
        """The text spaCy's NER reads for ``line`` (capitals restored for speech)."""
        return line if self._gazetteer is None else truecase.restore(line, self._gazetteer)

    def _gazetteer_hits(self, lines: Sequence[Line], read: Sequence[str],
                        line_words: Sequence[truecase.LineWords]) -> list[Candidate]:
        """Names and places read off each line's capitals (restored for speech), in the
        text its ``Doc`` was made of (``read``)."""
        gaz = self._gazetteer
        if gaz is None:
            return []
        out: list[Candidate] = []
        for (seg, offset, line), text, lw in zip(lines, read, line_words, strict=True):
            if len(text) != len(line):
                text = line
            same = text == line
            ws = lw.words if same else truecase.recased(lw.words, text)
            out.extend(truecase.name_candidates(seg, offset, text, gaz, ws))
            out.extend(truecase.place_candidates(seg, offset, text, gaz, ws,
                                                 lw.lowered if same else None))
        return out

    def _spoken_names(self, texts: Sequence[str], lines: Sequence[Line],
                      seg_lines: Sequence[list[truecase.LineWords]],
                      line_words: Sequence[truecase.LineWords],
                      found: Sequence[Candidate]) -> list[Candidate]:
        """Names in lower-case speech, and found names grown over the name words beside
        them (``spoken_names``)."""
        gaz = self._gazetteer
        if gaz is None or not self._settings.transcript_recognizers or not (
                self._settings.entities is None or E.PERSON in self._settings.entities):
            return []
        out = [c for (seg, _, _), lw in zip(lines, line_words, strict=True)
               for c in spoken_names.name_runs(seg, lw, gaz)]
        threshold = self._settings.threshold_for(E.PERSON)
        return out + spoken_names.widen(texts, [*found, *out], gaz, threshold, seg_lines)

    def _related_names(self, lines: Sequence[Line], docs: Sequence[Doc]) -> list[Candidate]:
        """Names after "my wife", "my brother"...: the tagger runs on those lines only."""
        if not (self._settings.transcript_recognizers and self._engine.can_tag
                and (self._settings.entities is None or E.PERSON in self._settings.entities)):
            return []
        out: list[Candidate] = []
        for (seg, offset, line), doc in zip(lines, docs, strict=True):
            relations = [(m.end(), m.group(1)) for m in names.RELATION_RE.finditer(line)]
            if relations and self._engine.tag(doc):
                words = [(t.idx, t.idx + len(t.text), t.text, t.tag_) for t in doc]
                out.extend(names.related_names(seg, offset, words, relations))
        return out

    def _first_pass(self, segments: Sequence[Segment], views: Sequence[SpokenView],
                    ctx: TranscriptContext,
                    seg_lines: Sequence[list[truecase.LineWords]]) -> list[Candidate]:
        """Credentials, transcript recognizers and the deny list (no NER needed)."""
        texts = [s.text for s in segments]
        cands = self._credential_candidates(texts)
        if self._settings.transcript_recognizers:
            cands.extend(transcript_recognizers.candidates(
                segments, views, ctx, seg_lines, self._gazetteer, self._towns,
                self._opted_in, self._engine.verbs))
        cands.extend(deny_candidates(texts, self._settings.deny_list))
        return cands

    def _recurrences(self, texts: Sequence[str], views: Sequence[SpokenView],
                     found: Sequence[Candidate], known: Sequence[KnownValue]) -> list[Candidate]:
        """Recurrences of confident, non-allow-listed values and of known values.

        A PERSON value made only of English words ("bots", "orchestra") is not looked
        for again, whether found here or known from the record: one doubtful hit must
        not redact the word everywhere.
        """
        allowed = allowed_values(self._settings)
        gaz = self._gazetteer
        confident = [c for c in found
                     if c.score >= self._settings.threshold_for(c.entity_type)
                     and not is_allowed(texts[c.seg], c, allowed)
                     and (gaz is None or c.entity_type != E.PERSON
                          or name_like(texts[c.seg][c.start:c.end], gaz))]
        known = [kv for kv in known if gaz is None or kv.entity_type != E.PERSON
                 or name_like(kv.value, gaz)]
        common = ((lambda w: gaz.word_freq(w) >= gazetteer.COMMON_WORD) if gaz is not None
                  else None)
        needles = recurrence.collect(texts, confident, known, common)
        return [c for seg, view in enumerate(views) for c in recurrence.find(seg, view, needles)]

    def _credential_candidates(self, texts: Sequence[str]) -> list[Candidate]:
        """Keys, tokens and private key blocks over whole segments (blocks span lines)."""
        out: list[Candidate] = []
        for seg, text in enumerate(texts):
            if not may_hold_credential(text):
                continue
            for r in self._credentials.analyze(text, [E.CREDENTIAL], None):
                out.append(Candidate(seg, r.start, r.end, E.CREDENTIAL, r.score,
                                     CREDENTIAL_RECOGNIZER, None, explain(r)))
        return out

    def _presidio(self, lines: Sequence[Line], docs: Sequence[Doc],
                  ctx: TranscriptContext) -> list[Candidate]:
        """Presidio's recognizers, per line, skipping those that cannot match it.

        A pattern recognizer runs only on a line holding the characters its entity
        needs (``pattern_gates``: digits for numbers, ``@`` for emails...), and NER results
        only where spaCy found an entity: most transcript lines need neither, and
        Presidio's per-recognizer cost then goes away without changing any result. A
        line that needs the NER results only takes them without ``analyze``
        (``ner_direct``), as ``analyze`` would return them.
        """
        out: list[Candidate | None] = []
        for (seg, offset, line), doc in zip(lines, docs, strict=True):
            entities = self._entities_for(line, doc)
            if not entities:
                continue
            art = self._engine.artifacts(doc)
            ner = (ner_recognizer(self._analyzer, self._settings.language, entities)
                   if entities == self._ner_entities else None)
            results = (analyze_ner(self._analyzer, ner, line, entities, art) if ner else
                       self._analyzer.analyze(
                           text=line, language=self._settings.language, nlp_artifacts=art,
                           entities=entities, return_decision_process=True,
                           context=ctx.words_before(seg, offset, 8) or None))
            out.extend(adjust(seg, offset, line, r, ctx, self._gazetteer, self._opted_in)
                       for r in results)
        return [c for c in out if c is not None]

    def _entities_for(self, line: str, doc: Doc) -> list[str]:
        wanted = possible(line, self._pattern_entities)
        if self._ner_enabled and any(ent.label_ in NER_MAPPING for ent in doc.ents):
            wanted.extend(self._ner_entities)
        return wanted


def _presidio_entities(analyzer: AnalyzerEngine, settings: DetectionSettings) -> list[str]:
    """Enabled entity types Presidio's registry knows."""
    supported = sorted(analyzer.get_supported_entities(settings.language))
    if settings.entities is None:
        return supported
    return [e for e in settings.entities if e in supported]


def _lines(texts: Sequence[str]) -> Iterator[Line]:
    """(segment, offset, line) for every non-blank line of every segment."""
    for seg, text in enumerate(texts):
        for m in _LINE_RE.finditer(text):
            if m.group().strip():
                yield seg, m.start(), m.group()
