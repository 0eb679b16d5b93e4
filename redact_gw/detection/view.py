"""A normalized view of a text in which spoken characters become characters.

"four one one one", "double five", "twenty three", "nineteen eighty four", "j o h n"
and plain digits separated by spaces or dashes are read as *runs*; in the view each
run is written as its characters without separators ("4111", "55", "23", "1984",
"john"). Every view character remembers the original characters it came from, so a
span found in the view maps back to exactly the original characters of the words
that produced it. The original text is never rewritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from redact_gw.detection.lexicon import (
    REPEATERS,
    SCALES,
    SPOKEN_SEPARATORS,
    TEENS,
    TENS,
    UNITS,
)

#: Words are letters of any script ("müde" is one word, not "m" and "de": a split word
#: would lend a single letter to a run and glue the run to the rest of the word).
TOKEN_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|\d+")
_GAP_RE = re.compile(r"[ \t,\-()/]{0,3}")
#: Words after which a trailing "oh" is an interjection, not a zero.
_AFTER_OH: frozenset[str] = frozenset({
    "okay", "ok", "wait", "sorry", "no", "yeah", "yes", "right", "well", "um", "uh",
    "oh", "my", "god", "man", "really", "wow", "dear", "boy", "dang", "shoot",
})


class Tok(NamedTuple):
    """A word or digit string with its offsets in the original text.

    A named tuple, not a frozen dataclass: a call-length transcript makes several
    hundred, and a tuple is built in a third of the time (no ``__setattr__`` per field).
    """

    text: str
    start: int
    end: int
    #: ``text.lower()`` (derived once by ``tokenize``: the layers read it about ten times).
    lower: str


@dataclass(frozen=True, slots=True)
class Group:
    """Characters produced by consecutive tokens ("double five" -> "55")."""

    chars: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Run:
    """A maximal sequence of spoken or written characters.

    Attributes:
        groups: The character groups in order.
        view_start: Offset of the run in the view text.
        tok_first: Index of the run's first token in the text's token list.
        tok_last: Index of the run's last token.
    """

    groups: tuple[Group, ...]
    view_start: int
    tok_first: int
    tok_last: int

    @property
    def chars(self) -> str:
        """The run's characters (digits and lowercase letters)."""
        return "".join(g.chars for g in self.groups)

    @property
    def start(self) -> int:
        """Offset of the run's first original character."""
        return self.groups[0].start

    @property
    def end(self) -> int:
        """Offset one past the run's last original character."""
        return self.groups[-1].end

    @property
    def view_end(self) -> int:
        """Offset one past the run in the view text."""
        return self.view_start + len(self.chars)

    def chunks(self) -> list[tuple[str, int, int]]:
        """Maximal all-digit and all-letter pieces as (chars, start, end) originals."""
        out: list[tuple[str, int, int]] = []
        for g in self.groups:
            kind = g.chars.isdigit()
            if out and out[-1][0].isdigit() == kind:
                chars, start, _ = out[-1]
                out[-1] = (chars + g.chars, start, g.end)
            else:
                out.append((g.chars, g.start, g.end))
        return out


def tokenize(text: str) -> list[Tok]:
    """Split ``text`` into words and digit strings with offsets."""
    return [Tok(word, m.start(), m.end(), word.lower())
            for m in TOKEN_RE.finditer(text) for word in (m.group(),)]


def _is_number_word(w: str) -> bool:
    return w in UNITS or w in TEENS or w in TENS or w.isdigit()


#: Every word of two letters or more that ``_is_run_token`` can accept.
_RUN_WORDS = frozenset(UNITS) | frozenset(TEENS) | frozenset(TENS) | frozenset(REPEATERS) | (
    frozenset(SCALES) | frozenset(SPOKEN_SEPARATORS) | {"oh", "and"})


def _is_run_token(toks: list[Tok], i: int) -> bool:
    """Whether token ``i`` reads as characters in its neighbourhood."""
    w = toks[i].lower
    if len(w) > 1 and w not in _RUN_WORDS and not w.isdigit():
        return False  # most words: none of the tests below can pass
    if w.isdigit() or w in TEENS or w in TENS or (w in UNITS and w not in ("oh", "o")):
        return True
    prev = _word(toks, i - 1)
    nxt = _word(toks, i + 1)
    if w == "oh":
        doubled = nxt in REPEATERS and _word(toks, i + 2) in UNITS  # "oh double one"
        return _is_number_word(nxt) or doubled or prev in REPEATERS or (
            _is_number_word(prev) and nxt not in _AFTER_OH)
    if w == "and":
        return prev in SCALES and _is_number_word(nxt)
    if w in REPEATERS:
        return nxt in UNITS or (nxt.isdigit() and len(nxt) == 1)
    if w in SCALES:
        return _is_number_word(prev)
    if w in SPOKEN_SEPARATORS:
        return _is_number_word(prev) and _is_number_word(nxt)
    if len(w) == 1 and w.isalpha():
        if w not in ("a", "i"):
            return True
        before = _single(prev) and _single(_word(toks, i - 2))
        after = _single(nxt) and _single(_word(toks, i + 2))
        return (_single(prev) and _single(nxt)) or before or after
    return False


def _word(toks: list[Tok], i: int) -> str:
    return toks[i].lower if 0 <= i < len(toks) else ""


def _single(w: str) -> bool:
    return (len(w) == 1 and w.isalpha()) or _is_number_word(w)


def _zero_not_letter(toks: list[Tok], i: int, first: int, last: int) -> bool:
    """Whether an "o" inside a run is the digit zero (a neighbour is a number)."""
    near = [toks[j].lower for j in (i - 1, i + 1) if first <= j <= last]
    return any(_is_number_word(w) and w != "o" for w in near)


def _gap_ok(text: str, left: Tok, right: Tok) -> bool:
    if _GAP_RE.fullmatch(text, left.end, right.start) is not None:
        return True
    dotted = text[left.end:right.start] == "."
    return dotted and left.text.isdigit() and right.text.isdigit()


def find_token_runs(text: str, toks: list[Tok]) -> list[tuple[int, int]]:
    """Index ranges ``[first, last]`` of tokens that form runs."""
    ranges: list[tuple[int, int]] = []
    i = 0
    while i < len(toks):
        w = toks[i].lower  # most words: rejected here without a call
        if (len(w) > 1 and w not in _RUN_WORDS and not w.isdigit()) or not _is_run_token(toks, i):
            i += 1
            continue
        j = i
        while j + 1 < len(toks) and _is_run_token(toks, j + 1) and _gap_ok(
                text, toks[j], toks[j + 1]):
            j += 1
        first, last = i, j
        while first <= last and _is_connector(toks[first].lower) and (
                toks[first].lower not in REPEATERS):
            first += 1
        while last >= first and _is_connector(toks[last].lower):
            last -= 1
        if first <= last:
            ranges.append((first, last))
        i = j + 1
    return ranges


def _is_connector(w: str) -> bool:
    """A word that only joins characters ("double", "and", "dash"): no run ends on it
    (nor starts, but for "double"), so "four double" stays "4 double", never "4double"."""
    return w in REPEATERS or w == "and" or w in SPOKEN_SEPARATORS


def _value_after(toks: list[Tok], i: int, last: int) -> tuple[int, int]:
    """Read a number below 100 starting at ``i`` ("and" allowed): (value, next index)."""
    if i <= last and toks[i].lower == "and":
        i += 1
    if i > last:
        return 0, i
    w = toks[i].lower
    if w in TEENS:
        return TEENS[w], i + 1
    if w in TENS:
        if i + 1 <= last and toks[i + 1].lower in UNITS and UNITS[toks[i + 1].lower]:
            return TENS[w] + UNITS[toks[i + 1].lower], i + 2
        return TENS[w], i + 1
    if w in UNITS and w not in ("oh", "o"):
        return UNITS[w], i + 1
    return 0, i


def _parse_groups(toks: list[Tok], first: int, last: int) -> list[Group]:
    """Turn the tokens of one run into character groups."""
    groups: list[Group] = []
    i = first
    while i <= last:
        t = toks[i]
        w = t.lower
        if w.isdigit():
            groups.append(Group(t.text, t.start, t.end))
            i += 1
        elif w in REPEATERS and i < last:
            nxt = toks[i + 1]
            digit = nxt.text if nxt.text.isdigit() else str(UNITS[nxt.lower])
            groups.append(Group(digit * REPEATERS[w], t.start, nxt.end))
            i += 2
        elif w in SCALES:
            i = _apply_scale(toks, groups, i, last)
        elif w in SPOKEN_SEPARATORS or w == "and":
            i += 1
        elif w in TENS or w in TEENS:
            value, j = _value_after(toks, i, last)
            groups.append(Group(str(value), t.start, toks[j - 1].end))
            i = j
        elif w in UNITS and (w != "o" or _zero_not_letter(toks, i, first, last)):
            groups.append(Group(str(UNITS[w]), t.start, t.end))
            i += 1
        else:
            groups.append(Group(w, t.start, t.end))
            i += 1
    return groups


def _apply_scale(toks: list[Tok], groups: list[Group], i: int, last: int) -> int:
    """Merge "N hundred M" / "N thousand M" into one group; return the next index."""
    t = toks[i]
    scale = SCALES[t.lower]
    prev = groups.pop() if groups and groups[-1].chars.isdecimal() else None
    base = int(prev.chars) if prev else 1
    start = prev.start if prev else t.start
    value, j = _value_after(toks, i + 1, last)
    if scale == 1000 and 0 < value < 10 and j <= last and toks[j].lower == "hundred":
        rest, j = _value_after(toks, j + 1, last)  # "one thousand four hundred twenty six"
        value = value * 100 + rest
    end = toks[j - 1].end if j > i + 1 else t.end
    groups.append(Group(str(base * scale + value), start, end))
    return j


@dataclass(frozen=True, slots=True)
class SpokenView:
    """The normalized view of one text.

    Attributes:
        original: The original text.
        text: The view text.
        starts: For each view character, the first original offset it came from.
        ends: For each view character, one past the last original offset.
        tokens: The original's tokens.
        runs: The runs, in order.
    """

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    tokens: tuple[Tok, ...]
    runs: tuple[Run, ...]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map the view range ``[start, end)`` to original offsets."""
        if start >= end:
            raise ValueError("empty view range")
        return self.starts[start], self.ends[end - 1]


def build_view(text: str) -> SpokenView:
    """Build the normalized view of ``text``."""
    toks = tokenize(text)
    ranges = find_token_runs(text, toks)
    if not ranges:  # most turns: the view is the text, each character its own
        n = len(text)
        return SpokenView(text, text, tuple(range(n)), tuple(range(1, n + 1)), tuple(toks), ())
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    runs: list[Run] = []
    pos = 0
    for first, last in ranges:
        groups = tuple(_parse_groups(toks, first, last))
        if not groups:
            continue
        _copy(text, pos, groups[0].start, parts, starts, ends)
        run = Run(groups, sum(len(p) for p in parts), first, last)
        runs.append(run)
        for g in groups:
            parts.append(g.chars)
            starts.extend([g.start] * len(g.chars))
            ends.extend([g.end] * len(g.chars))
        pos = groups[-1].end
    _copy(text, pos, len(text), parts, starts, ends)
    return SpokenView(text, "".join(parts), tuple(starts), tuple(ends), tuple(toks),
                      tuple(runs))


def _copy(text: str, a: int, b: int, parts: list[str], starts: list[int],
          ends: list[int]) -> None:
    parts.append(text[a:b])
    starts.extend(range(a, b))
    ends.extend(range(a + 1, b + 1))
