"""The transcript recognizers: values read off each segment's normalized view.

What ``PresidioDetector`` finds without spaCy's NER or Presidio's registry when
``detection.transcript_recognizers`` is on (its step 2). Per segment: numbers, IBANs,
IPs, URLs, dates and passwords, written or read aloud; introduced and spelled names;
spoken emails; street addresses; with the gazetteer, places after a cue or read by
their capitals, and towns beside their postcode. Per turn: a name given in answer to
the question before it. A low-value candidate ("march fourth") of a type the settings
name (``detection.entities``) is raised to the opted-in score.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from redact_gw.detection import (
    addresses,
    dates,
    gazetteer,
    names,
    places,
    spoken,
    spoken_email,
    spoken_ids,
    town_postcodes,
)
from redact_gw.detection import entities as E
from redact_gw.detection.candidates import Candidate
from redact_gw.detection.context import TranscriptContext
from redact_gw.detection.presidio_results import OPTED_IN_SCORE
from redact_gw.detection.truecase import LineWords
from redact_gw.detection.turns import turns
from redact_gw.detection.view import SpokenView
from redact_gw.model import Segment


def candidates(segments: Sequence[Segment], views: Sequence[SpokenView],
               ctx: TranscriptContext, seg_lines: Sequence[list[LineWords]],
               gaz: gazetteer.Gazetteer | None, towns: frozenset[str],
               opted_in: frozenset[str], verbs: frozenset[str] = frozenset()
               ) -> list[Candidate]:
    """Every transcript recognizer over a transcript's segments.

    Args:
        segments: The transcript.
        views: Each segment's normalized view (``view.build_view``).
        ctx: The words around each position, also across turns.
        seg_lines: Each segment's lines' words (``truecase.split_lines``); read only
            with a gazetteer.
        gaz: Census names and GeoNames places; ``None`` skips the recognizers that
            need them.
        towns: Town names a cue word may precede (``places.towns``).
        opted_in: Low-value entity types the settings name.
        verbs: English verbs in their base form (``nlp.base_verbs``): a town that is
            one, first in its sentence, is read as the verb (``town_postcodes``).
    """
    texts = [s.text for s in segments]
    name_like = gaz.looks_like_name if gaz else None
    is_place = (lambda w: gaz.place_kind(w) > 0) if gaz else (lambda w: False)
    is_common = ((lambda w: gaz.word_freq(w) >= gazetteer.COMMON_WORD) if gaz
                 else (lambda w: False))
    cands: list[Candidate] = []
    for seg, view in enumerate(views):
        cands.extend(_opt_in(c, opted_in) for c in _transcript(seg, view, ctx, name_like))
        cands.extend(addresses.address_candidates(seg, view, ctx, is_place, is_common))
        if gaz is not None:
            cands.extend(places.cued_places(seg, seg_lines[seg], gaz))
            cands.extend(places.caps_places(seg, seg_lines[seg], gaz))
            cands.extend(places.city_and_region(seg, seg_lines[seg], gaz))
            cands.extend(places.town_after_cue(seg, seg_lines[seg], gaz, towns))
            cands.extend(town_postcodes.candidates(seg, view, gaz, verbs))
    for turn in turns(segments, [v.tokens for v in views]):
        cands.extend(names.answered(turn, texts[turn.seg], views[turn.seg].tokens))
    return cands


def _opt_in(cand: Candidate, opted_in: frozenset[str]) -> Candidate:
    """A low-value candidate ("march fourth") at the opted-in score when its type is
    named in ``detection.entities``."""
    if cand.entity_type in opted_in:
        return dataclasses.replace(cand, score=max(cand.score, OPTED_IN_SCORE))
    return cand


def _transcript(seg: int, view: SpokenView, ctx: TranscriptContext,
                name_like: Callable[[str], bool] | None) -> list[Candidate]:
    """The recognizers that read one segment's view and the words around it."""
    text, toks = view.original, list(view.tokens)
    out = [
        *spoken.number_candidates(seg, view, ctx),
        *spoken.iban_candidates(seg, view, ctx),
        *spoken_ids.ip_candidates(seg, view),
        *spoken_ids.ipv6_candidates(seg, view, ctx),
        *spoken_ids.url_candidates(seg, text, ctx),
        *spoken.date_candidates(seg, view, ctx),
        *dates.date_candidates(seg, view, ctx),
        *spoken.password_candidates(seg, view),
        *names.introduced_names(seg, text, toks, ctx, name_like),
        *names.introduced_places(seg, text, toks),
        *names.spelled_names(seg, view, ctx),
    ]
    for start, end, address in spoken_email.find_spoken_emails(text, toks):
        asked = ctx.mentions(seg, start, frozenset({"email", "e-mail", "mail"}), 14)
        out.append(Candidate(seg, start, end, E.EMAIL_ADDRESS, 0.95,
                             spoken_email.RECOGNIZER, address,
                             f"spoken email, context '{asked}'" if asked else "spoken email"))
    return out
