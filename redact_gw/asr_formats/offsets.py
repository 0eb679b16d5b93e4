"""Fields that point into a transcript by character offset or word index, kept true
after redaction.

Redaction changes a transcript's length (a value becomes a token or a mask) and merges
the word items of one value into one item, so a vendor field that says "characters 11
to 29" or "words 5 to 9" would point to the wrong text afterwards. ``Remap`` carries
what rendering changed and moves such references:

* ``char_range``: an original ``[begin, end)`` of an utterance's transcript becomes the
  same range in the redacted transcript; a range that cuts into a value grows to cover
  its whole token (it never points into half a token).
* ``word_range``: an original ``[start, end)`` of word indices becomes the range of the
  items standing for those words (a merged item counts once).

A reference that cannot be moved (not a number, out of bounds, or past what a live
partial shows) is dropped, never left pointing at the wrong words. Vendor modules say
which fields are references (decision table: README "ASR vendor formats").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redact_gw.asr_formats.base import Utterance, Value
from redact_gw.jsonpaths import Path


def _index(value: Any) -> int | None:
    """A JSON number that is a whole non-negative index (Deepgram sends ``5.0`` too)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value or value < 0 or int(value) != value:
        return None
    return int(value)


def _same_kind(old: Any, new: int) -> int | float:
    """``new`` written as ``old`` was (an int stays an int, ``5.0`` stays a float)."""
    return float(new) if isinstance(old, float) else new


def _moved(values: Sequence[Value], pos: int, *, is_end: bool) -> int:
    """Where original offset ``pos`` lands in the text ``redact_piece`` makes."""
    delta = 0
    cursor = 0
    for s, e, rep in sorted(values):
        if s < cursor:  # overlapping: ``redact_piece`` skips it too
            continue
        if e <= pos:
            delta += len(rep) - (e - s)
            cursor = e
        elif s < pos:  # inside the value: the range takes its whole token
            return s + delta + (len(rep) if is_end else 0)
        else:
            break
    return pos + delta


@dataclass(slots=True)
class Remap:
    """What ``document.render`` changed, per utterance index.

    Attributes:
        utterances: The parsed utterances (original texts and word offsets).
        values: Per utterance, the replacements in original-text coordinates.
        merged: Per utterance with words, the original word range of each new item.
        shown_until: Live partials: per utterance, the original offset shown up to.
    """

    utterances: Sequence[Utterance]
    values: Sequence[Sequence[Value]]
    merged: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    shown_until: Sequence[int | None] | None = None

    def _until(self, n: int) -> int | None:
        return self.shown_until[n] if self.shown_until is not None else None

    def index_of(self, path: Path | None, *, words: bool = False) -> int | None:
        """The utterance whose transcript (or, ``words``, word list) is at ``path``."""
        for n, utt in enumerate(self.utterances):
            if path is not None and (utt.words_path if words else utt.text_path) == path:
                return n
        return None

    def char_range(self, n: int, begin: Any, end: Any) -> tuple[int, int] | None:
        """Original ``[begin, end)`` of utterance ``n`` in its redacted text."""
        b, e = _index(begin), _index(end)
        text = self.utterances[n].text
        if b is None or e is None or not b <= e <= len(text):
            return None
        until = self._until(n)
        if until is not None and e > until:
            return None
        values = self.values[n]
        return _moved(values, b, is_end=False), _moved(values, e, is_end=True)

    def word_range(self, n: int, start: Any, end: Any) -> tuple[int, int] | None:
        """Original word indices ``[start, end)`` of utterance ``n`` as new item indices."""
        s, e = _index(start), _index(end)
        spans = self.merged.get(n)
        utt = self.utterances[n]
        if s is None or e is None or spans is None or not s <= e <= len(utt.offsets):
            return None
        until = self._until(n)
        if until is not None and e > 0 and utt.offsets[e - 1][1] > until:
            return None  # the words are held back in this partial
        new_of = {i: j for j, (first, last) in enumerate(spans)
                  for i in range(first, last + 1)}
        if s == e:
            at = new_of.get(s, len(spans))
            return at, at
        if s not in new_of or e - 1 not in new_of:
            return None
        return new_of[s], new_of[e - 1] + 1

    def words_kept(self, n: int) -> bool:
        """Utterance ``n``'s word items are the original ones, all shown."""
        spans = self.merged.get(n)
        return (spans is not None and self._until(n) is None
                and all(a == b == i for i, (a, b) in enumerate(spans))
                and len(spans) == len(self.utterances[n].offsets))

    def text_kept(self, n: int) -> bool:
        """Utterance ``n``'s text is the original, all shown."""
        return not self.values[n] and self._until(n) is None

    def changed(self) -> bool:
        """Whether any word items were merged or held back."""
        return not all(self.words_kept(n) for n in self.merged)


#: Names of a ``CharacterOffsets`` object's ends: the API reference's, and the
#: ``BeginOffsetChar``/``EndOffsetChar`` of the real-time output guide's example.
CHAR_KEYS = (("Begin", "End"), ("BeginOffsetChar", "EndOffsetChar"))


def remap_chars(items: Any, n: int | None, remap: Remap, key: str = "CharacterOffsets"
                ) -> None:
    """Each ``{key: {Begin, End}}`` entry of the list ``items`` moved to the redacted
    text of utterance ``n``; an entry that cannot be moved is removed from the list."""
    if not isinstance(items, list) or (n is not None and remap.text_kept(n)):
        return  # the vendor's own offsets, as they came, for the text as it came
    keep = []
    for item in items:
        offsets = item.get(key) if isinstance(item, dict) else None
        if n is None or not isinstance(offsets, dict):
            continue
        begin, end = next((k for k in CHAR_KEYS if k[0] in offsets), CHAR_KEYS[0])
        new = remap.char_range(n, offsets.get(begin), offsets.get(end))
        if new is None:
            continue
        if (new[0], new[1]) != (offsets[begin], offsets[end]):
            offsets[begin], offsets[end] = new
        keep.append(item)
    items[:] = keep


def remap_words(items: Any, n: int | None, remap: Remap, start: str = "start_word",
                end: str = "end_word") -> None:
    """Each ``{start, end}`` entry of the list ``items`` moved to the new word items
    of utterance ``n``; when that cannot be done, the entry loses both indices (its
    other fields, already redacted, stay)."""
    if not isinstance(items, list) or (n is not None and remap.words_kept(n)):
        return  # the vendor's own indices, as they came, for the words as they came
    for item in items:
        if not isinstance(item, dict) or (start not in item and end not in item):
            continue
        new = remap.word_range(n, item.get(start), item.get(end)) if n is not None else None
        if new is None:
            item.pop(start, None)
            item.pop(end, None)
            continue
        for k, v in zip((start, end), new, strict=True):
            if item[k] != v:
                item[k] = _same_kind(item[k], v)
