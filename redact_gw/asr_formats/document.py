"""A vendor document parsed into utterances, and rendered back with replacements.

``parse(name, doc)`` -> ``Parsed``; ``render(parsed, ...)`` -> a new document in which
only the transcripts, the word lists values touch, and the extra strings holding
values differ from the original (everything else is the original, byte for byte).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from redact_gw.asr_formats.base import (
    Extra,
    Utterance,
    Value,
    align,
    bad_format,
    find_extras,
    redact_piece,
    rewrite_words,
    under,
    words_text,
)
from redact_gw.asr_formats.offsets import Remap
from redact_gw.errors import BadRequest, PayloadTooLarge
from redact_gw.jsonpaths import Path, get_at, set_at

#: Shown for a piece of an extra string that lies past what a partial shows.
HELD = "[[PENDING]]"


class Format(Protocol):
    """One vendor's format (a module-level object in each vendor module)."""

    name: str
    #: Keys whose strings are ids, enums or times, never speech (not scanned).
    safe_keys: frozenset[str]

    def utterances(self, doc: dict[str, Any], *, live: bool) -> list[Utterance]:
        """The transcripts of ``doc`` (live: one streaming message; every
        alternative, each marked with its index)."""

    def finish(self, out: dict[str, Any], parsed: Parsed, remap: Remap) -> None:
        """Move the fields of ``out`` that point into transcripts by character offset,
        word index or item id (``offsets``); drop those that cannot be moved."""


@dataclass(slots=True)
class Parsed:
    """A vendor document and what in it may carry speech."""

    fmt: Format
    doc: dict[str, Any] = field(repr=False)
    utterances: list[Utterance]
    extras: list[Extra]

    @property
    def kind(self) -> str:
        """``partial`` (any result not final), ``final``, or ``other`` (no text)."""
        if not self.utterances:
            return "other"
        return "final" if all(u.final for u in self.utterances) else "partial"

    def words(self, utt: Utterance) -> list[dict[str, Any]]:
        """The word items of ``utt`` in the original document."""
        assert utt.words_path is not None
        found: list[dict[str, Any]] = get_at(self.doc, utt.words_path)
        return found


def _with_words(doc: dict[str, Any], utt: Utterance, *, strict: bool) -> list[Utterance]:
    """Align ``utt``; post-call, words that do not match their transcript become a
    second utterance of their own (both are redacted, each consistently)."""
    if utt.words_path is None:
        return [utt]
    try:
        words = get_at(doc, utt.words_path)
    except (KeyError, IndexError, TypeError):
        raise bad_format("a word list is missing", utt.words_path) from None
    if not isinstance(words, list):
        raise bad_format("a word list must be a list", utt.words_path)
    if utt.text_path is None:
        utt.text = words_text(utt, words)
    try:
        align(utt, words)
        return [utt]
    except BadRequest:
        if strict or utt.text_path is None:
            raise
    apart = Utterance(None, "", utt.words_path, utt.spec, utt.speaker, utt.segment_id,
                      utt.channel, utt.final, utt.start, utt.end)
    apart.text = words_text(apart, words)
    align(apart, words)
    utt.words_path, utt.spec = None, None
    return [utt, apart]


def parse(fmt: Format, doc: Any, *, live: bool = False, max_chars: int = 200_000,
          max_segments: int = 2000) -> Parsed:
    """Read a vendor document (``live``: one streaming message).

    Raises:
        BadRequest: not an object, a known field of the wrong type, words that do not
            match their transcript (live only; post-call they are redacted apart).
        PayloadTooLarge: more text or transcripts than configured.
    """
    if not isinstance(doc, dict):
        raise bad_format(f"a {fmt.name} document must be a JSON object")
    utterances: list[Utterance] = []
    for utt in fmt.utterances(doc, live=live):
        utterances.extend(_with_words(doc, utt, strict=live))
    handled = [u.text_path for u in utterances if u.text_path is not None]
    in_words = under([u.words_path for u in utterances if u.words_path is not None])
    extras = find_extras(doc, utterances, handled, fmt.safe_keys, in_words)
    if len(utterances) + len(extras) > max_segments:
        raise PayloadTooLarge(f"more than {max_segments} transcripts and text fields")
    if sum(len(u.text) for u in utterances) + sum(len(e.text) for e in extras) > max_chars:
        raise PayloadTooLarge(f"more than {max_chars} characters of text")
    return Parsed(fmt, doc, utterances, extras)


def render(parsed: Parsed, texts: Sequence[str], values: Sequence[Sequence[Value]],
           extra_texts: dict[Path, str], *, shown_until: Sequence[int | None] | None = None,
           tails: Sequence[str | None] | None = None) -> dict[str, Any]:
    """The document with new transcripts, merged words and redacted extra strings.

    Args:
        parsed: What ``parse`` returned.
        texts: The new text of each utterance (tokenized, or a partial's shown text).
        values: Per utterance, its replacements in original-text coordinates.
        extra_texts: The redacted text of each extra string not inside an utterance.
        shown_until: Live partials: per utterance, the original offset up to which text
            is shown; words and extra pieces past it are held.
        tails: Per utterance, the item text standing for held words (``None``: dropped).
    """
    out = copy.deepcopy(parsed.doc)
    merged: dict[int, list[tuple[int, int]]] = {}
    for n, utt in enumerate(parsed.utterances):
        if utt.text_path is not None:
            set_at(out, utt.text_path, texts[n])
        if utt.words_path is not None:
            until = shown_until[n] if shown_until is not None else None
            tail = tails[n] if tails is not None else None
            words = get_at(out, utt.words_path)
            new, merged[n] = rewrite_words(utt, words, values[n], keep_until=until,
                                           tail=tail)
            set_at(out, utt.words_path, new)
    for extra in parsed.extras:
        if extra.inside is None:
            set_at(out, extra.path, extra_texts[extra.path])
            continue
        n, start, end = extra.inside
        until = shown_until[n] if shown_until is not None else None
        if until is not None and end > until:
            set_at(out, extra.path, HELD)
        else:
            set_at(out, extra.path, redact_piece(parsed.utterances[n].text, values[n],
                                                 start, end))
    parsed.fmt.finish(out, parsed, Remap(parsed.utterances, values, merged, shown_until))
    return out
