"""spaCy's entities of a segment, kept so the same lines are not read by spaCy again.

A live call detects each final and partial with the call's previous finals as context
(the agent's question, values recurring across turns), so the same finals went
through spaCy's NER again with every message: most of a live call's detection. spaCy
reads each line on its own, so a line's entities do not depend on the other lines:
the detection that first reads a final hands back its entities (``keep``), the session
keeps them beside that final (``Segment.ner``), and a later detection rebuilds the
line's ``Doc`` from its tokens and those entities (``reuse``) instead of running the
NER again. Everything after spaCy (Presidio's recognizers, the transcript
recognizers, context words, recurrences) runs on the rebuilt ``Doc`` as it would on
spaCy's own, so the spans are the same.

Nothing here holds text: a line is named by an 8-byte digest of the text spaCy read,
checked before reuse, so kept entities are never applied to another text. They are
used only with the pipeline that found them (``fingerprint``): a pipeline whose other
components leave something on the ``Doc`` (a shared ``tok2vec``'s tensor) never
reuses them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from spacy.language import Language
from spacy.tokens import Doc

from redact_gw.model import NerLine, Segment, SegmentNer


def fingerprint(nlp: Language, truecased: bool) -> str | None:
    """What names the NER of ``nlp`` (model, version, whether lines were truecased);
    ``None`` when kept entities cannot stand in for running the pipeline."""
    if list(nlp.pipe_names) != ["ner"]:
        return None
    meta = nlp.meta
    return f"{meta.get('lang')}_{meta.get('name')}-{meta.get('version')}|truecase={truecased}"


def digest(text: str) -> bytes:
    """The name of a line's text (not reversible into it)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()


def kept_lines(segment: Segment, model: str | None, count: int) -> Sequence[NerLine] | None:
    """The kept entities of ``segment``'s ``count`` lines, when they fit (else ``None``)."""
    ner = segment.ner
    if model is None or ner is None or ner.model != model or len(ner.lines) != count:
        return None
    return ner.lines


def reuse(nlp: Language, text: str, kept: NerLine) -> Doc | None:
    """The ``Doc`` spaCy's NER made of ``text``, rebuilt from the kept entities: the
    tokenizer's tokens and those entities (``None``: not the same text, or the
    entities do not fit its tokens; the NER must run)."""
    line_digest, ents = kept
    if line_digest != digest(text):
        return None
    doc = nlp.make_doc(text)
    spans = [doc.char_span(start, end, label=label) for start, end, label in ents]
    if any(span is None for span in spans):
        return None
    try:
        doc.ents = spans  # type: ignore[assignment]
    except ValueError:  # overlapping: never from spaCy's own NER
        return None
    return doc


def kept_docs(nlp: Language, model: str | None, segments: Sequence[Segment],
              seg_of_line: Sequence[int], texts: Sequence[str]) -> list[Doc | None]:
    """Per line of ``segments`` (the segment of each, and the text spaCy reads for it),
    its ``Doc`` rebuilt from the entities its segment came with (``None``: spaCy reads
    it)."""
    out: list[Doc | None] = [None] * len(texts)
    if model is None or not any(s.ner is not None for s in segments):
        return out
    for seg, segment in enumerate(segments):
        at = [k for k, line_seg in enumerate(seg_of_line) if line_seg == seg]
        for k, line_kept in zip(at, kept_lines(segment, model, len(at)) or (), strict=False):
            out[k] = reuse(nlp, texts[k], line_kept)
    return out


def keep(model: str | None, count: int, seg_of_line: Sequence[int], texts: Sequence[str],
         docs: Sequence[Doc]) -> list[SegmentNer | None]:
    """Per segment of ``count``, the entities of its lines' ``docs`` (made of ``texts``:
    ``doc.text`` joins the tokens again) to hand back (``None`` each: this pipeline's
    entities cannot be reused)."""
    if model is None:
        return [None] * count
    lines: list[list[NerLine]] = [[] for _ in range(count)]
    for seg, text, doc in zip(seg_of_line, texts, docs, strict=True):
        lines[seg].append((digest(text), tuple(
            (e.start_char, e.end_char, e.label_) for e in doc.ents)))
    return [SegmentNer(model, tuple(seg_lines)) for seg_lines in lines]
