"""A Unicode-normalized view of each segment, so that invisible or look-alike characters
cannot hide a value from detection.

In the view:

* format characters (Unicode category ``Cf``: zero-width spaces and joiners, soft
  hyphens, right-to-left overrides, BOMs) are removed;
* each base character with its combining marks is one cluster, NFKC-normalized
  (the fullwidth and small commercial ats, U+FF20 and U+FE6B, become ``@``; fullwidth
  digits become digits); an accented letter stays one composed letter, as names are
  written and as spaCy reads them best (``Garci`` + U+0301 + ``a`` reads ``García``,
  and a written ``García`` is left as it is), while marks that compose into no letter
  (on a digit, or stacked on an ASCII letter) are dropped (``4`` + U+0301 reads ``4``);
* dash variants (category ``Pd``, the minus sign) become ``-``;
* ``[at]``, ``(at)``, ``{at}`` and ``[dot]``, ``(dot)``, ``{dot}`` become ``@`` and
  ``.``, and spaces around an ``@`` between two words are dropped
  (``maria.garcia @ example.com``).

Every view character remembers the raw characters it came from, and a removed
character belongs to the next kept one, so a span maps back to the whole raw value with
the invisible characters inside it. ``detect_through_views`` runs a detector on the
views and maps its spans back; a span whose raw text differs from its view gets the
view as its ``normalized`` value, so an address written with a fullwidth at and the plain
address share a token. ASCII text with none of the patterns above is passed through as it is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redact_gw.detection.base import Detector
from redact_gw.model import KnownValue, Segment, SegmentNer, Span

if TYPE_CHECKING:
    from redact_gw.settings import DetectionSettings

_OBFUSCATED = re.compile(r"\s*[\[({](at|dot)[\])}]\s*|(?<=\w)\s+@\s*(?=\w)|(?<=\w)@\s+(?=\w)",
                         re.IGNORECASE)
_SUSPECT_ASCII = re.compile(r"[\[({](?:at|dot)[\])}]|\s@|@\s", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class NormalView:
    """The normalized text and, per view character, its raw ``[start, end)``."""

    text: str
    starts: list[int] | None = None
    ends: list[int] | None = None

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Raw offsets covering view characters ``[start, end)``."""
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[end - 1]


def _fold(cluster: str) -> str:
    out = unicodedata.normalize("NFKC", cluster)
    if not out.isascii():
        base = unicodedata.normalize("NFKD", out)
        if (len(base) > 1 and base[0].isascii() and base[0].isalnum()
                and all(unicodedata.combining(c) for c in base[1:])
                and (len(out) > 1 or base[0].isdigit())):
            return base[0]  # marks that make no letter: on a digit, or stacked
    if len(out) == 1 and (unicodedata.category(out) == "Pd" or out == "\u2212"):
        return "-"
    return out


def _characters(raw: str) -> tuple[list[str], list[int], list[int]]:
    """Pass 1: drop format characters, fold clusters, unify dashes."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pending = 0  # raw start of the next kept character (after removed ones)
    i = 0
    n = len(raw)
    while i < n:
        ch = raw[i]
        if ch.isascii() and (i + 1 == n or raw[i + 1].isascii()):  # the common case
            chars.append(ch)
            starts.append(pending)
            ends.append(i + 1)
            pending = i = i + 1
            continue
        if unicodedata.category(ch) == "Cf":
            i += 1
            continue
        j = i + 1
        while j < n and unicodedata.combining(raw[j]):
            j += 1
        cluster = raw[i:j]
        for c in _fold(cluster):
            chars.append(c)
            starts.append(pending)
            ends.append(j)
        pending = j
        i = j
    if ends:
        ends[-1] = len(raw)  # trailing format characters belong to the last character
    return chars, starts, ends


def normal_view(raw: str) -> NormalView:
    """The detection view of ``raw`` (see the module docstring)."""
    if raw.isascii() and not _SUSPECT_ASCII.search(raw):
        return NormalView(raw)
    chars, starts, ends = _characters(raw)
    text = "".join(chars)
    if not _OBFUSCATED.search(text):
        if text == raw:
            return NormalView(raw)
        return NormalView(text, starts, ends)
    out: list[str] = []
    s2: list[int] = []
    e2: list[int] = []
    cursor = 0
    for m in _OBFUSCATED.finditer(text):
        for k in range(cursor, m.start()):
            out.append(text[k])
            s2.append(starts[k])
            e2.append(ends[k])
        word = (m.group(1) or "at").lower()
        out.append("@" if word == "at" else ".")
        s2.append(starts[m.start()])
        e2.append(ends[m.end() - 1])
        cursor = m.end()
    for k in range(cursor, len(text)):
        out.append(text[k])
        s2.append(starts[k])
        e2.append(ends[k])
    return NormalView("".join(out), s2, e2)


DetectFn = Callable[[Sequence[Segment], Sequence[KnownValue]], list[list[Span]]]


def viewed(segments: Sequence[Segment]) -> tuple[list[NormalView], list[Segment]]:
    """Each segment's view, and the segments to detect in (a segment whose view is its
    own text stays as it is, kept NER included)."""
    views = [normal_view(s.text) for s in segments]
    return views, [s if v.starts is None else Segment(v.text, s.speaker, s.ner)
                   for v, s in zip(views, segments, strict=True)]


def to_raw(segments: Sequence[Segment], views: Sequence[NormalView],
           found: Sequence[list[Span]]) -> list[list[Span]]:
    """The spans found in ``viewed`` segments, in the raw segments' offsets."""
    return [spans if view.starts is None else _to_raw(seg.text, view, spans)
            for seg, view, spans in zip(segments, views, found, strict=True)]


def detect_through_views(detect: DetectFn, segments: Sequence[Segment],
                         known: Sequence[KnownValue] = ()) -> list[list[Span]]:
    """Run ``detect`` on the normalized views of ``segments``; spans in raw offsets."""
    views, segs = viewed(segments)
    return to_raw(segments, views, detect(segs, known))


def normalizing_presidio(settings: DetectionSettings) -> Detector:
    """The Presidio detector, looking at normalized views (``build_detector``).

    Every way in (``detect``, ``detect_many``, ``detect_each`` as the worker pool calls
    it, ``detect_keeping`` for a live final) goes through ``detect_each_keeping``, so
    each one looks at the views.
    """
    from redact_gw.detection.presidio_detector import Job, PresidioDetector

    class NormalizingPresidioDetector(PresidioDetector):
        def detect_each_keeping(self, jobs: Sequence[Job], keep: Sequence[bool] | None = None
                                ) -> Iterator[tuple[int, list[list[Span]],
                                                    list[SegmentNer | None]]]:
            views = [viewed(segments) for segments, _ in jobs]
            inner = [(segs, known) for (_, segs), (_, known) in zip(views, jobs, strict=True)]
            for i, found, ner in super().detect_each_keeping(inner, keep):
                yield i, to_raw(jobs[i][0], views[i][0], found), ner

    return NormalizingPresidioDetector(settings)


def _to_raw(raw: str, view: NormalView, spans: Sequence[Span]) -> list[Span]:
    out: list[Span] = []
    for s in spans:
        start, end = view.raw_span(s.start, s.end)
        if out and start < out[-1].end:  # two view spans met inside one raw cluster
            start = out[-1].end
            if start >= end:
                continue
        value = view.text[s.start:s.end]
        normalized = s.normalized
        if normalized is None and raw[start:end] != value:
            normalized = value
        out.append(Span(start, end, s.entity_type, s.score, s.recognizer, normalized,
                        s.explanation))
    return out
