"""Case restoration for lower-case speech, and names read off the gazetteer.

spaCy's NER leans on capital letters: in "john campbell lives at ..." it finds
nothing. ``restore`` gives a lower-case line the capitals a writer would have used
for words the gazetteer knows as names or places, keeping every character at its
offset (only single letters are upper-cased), so NER results map back unchanged.
A token that is mainly a word ("will", "grant", "june") keeps its case; one that is
a name only beside another name ("mark", "rose") is capitalized only there.

``name_candidates`` reads names off a line's capitals (written, or restored):
a first name with a capitalized surname, middle initials included, or two tokens
that are no English words ("Katsuko Koku").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from spacy.lang.en.stop_words import STOP_WORDS

from redact_gw.detection import entities as E
from redact_gw.detection.candidates import Candidate
from redact_gw.detection.gazetteer import RARE_WORD, Gazetteer

GAZETTEER_RECOGNIZER = "GazetteerNameRecognizer"
PLACE_RECOGNIZER = "GazetteerPlaceRecognizer"
_WORD_RE = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
_MAX_PLACE_WORDS = 3
#: Words that are capitalized in names but never start one on their own.
_NOT_NAME_START = frozenset({"i", "the", "a", "an", "dear"})
#: Titles before a name, left out of the span ("Mister Tobias Lindqvist").
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "mister", "missus", "dr", "doctor", "prof",
                     "sir", "madam", "dame", "lord", "lady"})

#: Words before a one-word city that make it a place ("from antelope" vs "lemurs,
#: antelope, camels").
_PLACE_CUES = frozenset({"in", "from", "to", "at", "near", "of", "visit", "visited",
                         "left", "leave", "around", "outside", "and", "then", "or", "via"})

Word = tuple[int, int, str]


def words(line: str) -> list[Word]:
    """(start, end, text) of every word; a possessive "'s" is left out of the word."""
    out = [(m.start(), m.end(), m.group()) for m in _WORD_RE.finditer(line)]
    if "'" not in line:
        return out  # no letter lower-cases to an apostrophe: no word ends in "'s"
    return [(a, b - 2, w[:-2]) if w.lower().endswith("'s") else (a, b, w) for a, b, w in out]


def recased(ws: list[Word], text: str) -> list[Word]:
    """``words(text)`` for ``text`` made of the line ``ws`` was read from by upper-casing
    first letters of its words (``restore``), without reading ``text`` again.

    A letter upper-cased into one character is a letter, so no word boundary moves, and
    a word's possessive "'s" lies past its first letter. Checked against ``words``
    (every code point, and ``restore``) in ``tests/detection/test_truecase_recased.py``.
    """
    return [(a, b, text[a:b]) for a, b, _w in ws]


def is_lowercase(line: str) -> bool:
    """Whether a line has no capital letter after its first word (speech style)."""
    first = _WORD_RE.search(line)
    rest = line[first.end():] if first else line
    # islower() is true only when no character is upper (or title) case: one C call
    # answers most speech lines
    return rest.islower() or not any(map(str.isupper, rest))


class LineWords(NamedTuple):
    """One line of a segment with its words, read once and shared by the layers that
    read words per line (places, spoken names, names read off capitals)."""

    #: Offset of the line in its segment.
    offset: int
    text: str
    words: list[Word]
    #: The words lower-cased.
    lowered: list[str]
    #: ``is_lowercase(text)``: speech style.
    spoken: bool


def split_lines(text: str) -> list[LineWords]:
    """Every line of ``text`` (split at ``\\n``, blank lines included) with its words."""
    out: list[LineWords] = []
    pos = 0
    for chunk in text.split("\n"):
        ws = words(chunk)
        out.append(LineWords(pos, chunk, ws, [w[2].lower() for w in ws], is_lowercase(chunk)))
        pos += len(chunk) + 1
    return out


def _tight(line: str, a: Word, b: Word) -> bool:
    return line[a[1]:b[0]].strip(" ") == ""


def _cap(chars: list[str], start: int) -> None:
    upper = chars[start].upper()
    if len(upper) == 1:
        chars[start] = upper


def restore(line: str, gaz: Gazetteer) -> str:
    """The line with names and places capitalized, same length, same offsets.

    Lines that already carry capitals are returned as they are.
    """
    if not is_lowercase(line):
        return line
    ws = words(line)
    if not ws:
        return line
    chars = list(line)
    lowered = [w[2].lower() for w in ws]
    kinds = [0 if w in STOP_WORDS else gaz.name_kind(w) for w in lowered]
    initials = [len(w) == 1 and w not in ("a", "i") and 0 < i < len(ws) - 1
                and bool(kinds[i - 1] and kinds[i + 1]) for i, (_a, _b, w) in enumerate(ws)]
    for i, (a, _b, w) in enumerate(ws):
        if w == "i":
            chars[a] = "I"
            continue
        if kinds[i] == 2 or initials[i] or (
                kinds[i] == 1 and _near_name(line, ws, kinds, initials, i, gaz)):
            _cap(chars, a)
    for i, j in _place_spans(lowered, gaz):
        if gaz.place_kind(" ".join(lowered[i:j])) == 2 or (
                i > 0 and lowered[i - 1] in _PLACE_CUES):
            for a, _b, _w in ws[i:j]:
                _cap(chars, a)
    return "".join(chars)


def _near_name(line: str, ws: list[Word], kinds: list[int], initials: list[bool],
               i: int, gaz: Gazetteer) -> bool:
    """Whether a name-like word stands tight beside a census name, or two words no
    English word list holds stand together (past an initial): "aslakhanov" after
    "murat" is, "teruyoshi miyoshi" is, "lemurs" beside "camels" is not."""
    own = ws[i][2].lower()
    for step in (-1, 1):
        k = i + step
        if 0 <= k < len(ws) and initials[k]:
            k += step
        other = ws[k][2].lower() if 0 <= k < len(ws) else ""
        census = bool(other) and (kinds[k] == 2 or (kinds[k] == 1 and (
            gaz.in_census(other) or not (gaz.word_freq(other) or gaz.word_freq(own)))))
        if census and all(
                _tight(line, ws[x], ws[x + 1]) for x in range(min(i, k), max(i, k))):
            return True
    return False


def _place_spans(lowered: list[str], gaz: Gazetteer) -> Iterator[tuple[int, int]]:
    """Index ranges of known places, longest first, not overlapping."""
    i = 0
    while i < len(lowered):
        n = _place_at(lowered, i, gaz)
        if n:
            yield i, i + n
            i += n
        else:
            i += 1


def _place_at(lowered: list[str], i: int, gaz: Gazetteer) -> int:
    """Words in the longest known place starting at ``i`` (0 when none); a place of
    several words is looked up only after a word that starts one."""
    word = lowered[i]
    if word in gaz.phrase_starts:
        for n in range(min(_MAX_PLACE_WORDS, len(lowered) - i), 1, -1):
            if gaz.place_kind(" ".join(lowered[i:i + n])):
                return n
    return 1 if word not in STOP_WORDS and gaz.place_kind(word) else 0


def _may_start_place(word: str, gaz: Gazetteer) -> bool:
    """Whether ``_place_at`` can find a place starting with ``word`` (lower-cased): a
    place of several words starts with a phrase start, one of one word is a place."""
    return word in gaz.phrase_starts or (word not in STOP_WORDS and bool(gaz.place_kind(word)))


def name_candidates(seg: int, offset: int, line: str, gaz: Gazetteer,
                    ws: list[Word] | None = None) -> list[Candidate]:
    """Capitalized name sequences in a (written or restored) line.

    A sequence is up to four tight capitalized words and single-letter initials
    ("Jennifer H. Metcalfe"). Two or more words are a name when the first and last
    are name-like and either the first is a census first name, one is a name on its
    own, or two are different rare words ("Katsuko Koku", not "billing billing"). One
    word alone is a name when it is a census name that is not mainly a word, or no
    English word at all, and names no known place ("said Ellinore to Hunter"); at a
    sentence start only when a comma or colon follows ("Cintia, can I ...", "Peggy: ...").
    ``ws``: ``words(line)`` when the caller has them.
    """
    ws = words(line) if ws is None else ws
    if not any(len(w) > 1 and _capitalized(w) for _a, _b, w in ws):
        return []  # both judges need a capitalized word of two letters or more
    return _name_sequences(seg, offset, line, gaz, ws)


def _name_sequences(seg: int, offset: int, line: str, gaz: Gazetteer,
                    ws: list[Word]) -> list[Candidate]:
    """``name_candidates`` without its gate (tests compare the two)."""
    out: list[Candidate] = []
    i = 0
    while i < len(ws):
        j = i
        while j < len(ws) and j - i < 4 and _capitalized(ws[j][2]) and (
                j == i or _tight_or_initial(line, ws[j - 1], ws[j])):
            j += 1
        if j - i >= 2:
            out.extend(_judge(seg, offset, line, ws[i:j], gaz))
        elif j > i and (not sentence_start(line, ws[i][0])
                        or line[ws[i][1]:ws[i][1] + 1] in (",", ":")):
            out.extend(_judge_one(seg, offset, ws[i], gaz))
        i = max(j, i + 1)
    return out


def _capitalized(w: str) -> bool:
    return w[:1].isupper() and (len(w) == 1 or not w.isupper() or len(w) <= 3)


#: What may stand between a sentence's end and its first word.
SENTENCE_GAP = frozenset(" \t\"'(")


def sentence_start(line: str, pos: int) -> bool:
    """Whether the word at ``pos`` starts the line or a sentence (after ".", "!", "?",
    ":", ";", past spaces, quotes and an opening parenthesis)."""
    k = pos - 1
    while k >= 0 and line[k] in SENTENCE_GAP:
        k -= 1  # not line[:pos].rstrip(): a copy of the line so far for every word
    return k < 0 or line[k] in ".!?:;\n"


def _tight_or_initial(line: str, a: Word, b: Word) -> bool:
    gap = line[a[1]:b[0]]
    return gap == " " or (a[1] - a[0] == 1 and gap == ". ")


def _judge(seg: int, offset: int, line: str, seq: list[Word],
           gaz: Gazetteer) -> list[Candidate]:
    while seq and seq[0][2].lower() in _TITLES:
        seq = seq[1:]
    if len(seq) == 1:
        return _judge_one(seg, offset, seq[0], gaz)
    if not seq:
        return []
    lowered = [w[2].lower() for w in seq]
    full = [w for w in lowered if len(w) > 1]
    if len(full) < 2 or lowered[0] in _NOT_NAME_START or len(lowered[0]) == 1:
        return []
    if any(w in STOP_WORDS for w in full) or gaz.place_kind(" ".join(full)) == 2:
        return []
    kinds = [gaz.name_kind(w) for w in full]
    if not (kinds[0] and kinds[-1]):
        return []
    first = gaz.is_first(full[0])
    # two different rare words: a repeated one is a stutter ("billing billing")
    rare = len({w for w in full if gaz.word_freq(w) < RARE_WORD}) >= 2
    if not (first or rare or 2 in kinds):
        return []
    score = 0.7 if first else 0.6
    why = "first name and surname (census)" if first else "name-like words (gazetteer)"
    return [Candidate(seg, offset + seq[0][0], offset + seq[-1][1], E.PERSON, score,
                      GAZETTEER_RECOGNIZER, None, why)]


def _judge_one(seg: int, offset: int, word: Word, gaz: Gazetteer) -> list[Candidate]:
    w = word[2].lower()
    if word[2].isupper() or (len(w) < 3 or w in STOP_WORDS or w in _NOT_NAME_START or w in _TITLES
            or gaz.place_kind(w)):
        return []
    if not (gaz.name_kind(w) == 2 or (gaz.looks_like_name(w) and not gaz.word_freq(w))):
        return []
    return [Candidate(seg, offset + word[0], offset + word[1], E.PERSON, 0.5,
                      GAZETTEER_RECOGNIZER, None, "capitalized name word (gazetteer)")]


def place_candidates(seg: int, offset: int, line: str, gaz: Gazetteer,
                     ws: list[Word] | None = None,
                     lowered: list[str] | None = None) -> list[Candidate]:
    """Countries, US states and cities, capitalized (or all capitals) in the line, with
    the two-letter state code that follows a city (``ws``: ``words(line)``, and
    ``lowered`` their lower-case forms, if known)."""
    ws = words(line) if ws is None else ws
    if lowered is None:
        lowered = [w[2].lower() for w in ws]
    if not any(_may_start_place(lowered[k], gaz) for k, w in enumerate(ws)
               if _capitalized(w[2]) or w[2].isupper()):
        return []  # a place kept below starts with a capitalized word ``_place_at`` takes
    return _capitalized_places(seg, offset, line, gaz, ws, lowered)


def _capitalized_places(seg: int, offset: int, line: str, gaz: Gazetteer, ws: list[Word],
                        lowered: list[str]) -> list[Candidate]:
    """``place_candidates`` without its gate (tests compare the two)."""
    out: list[Candidate] = []
    for i, j in _place_spans(lowered, gaz):
        if not all(_capitalized(w[2]) or w[2].isupper() for w in ws[i:j]):
            continue
        phrase = " ".join(lowered[i:j])
        kind = gaz.place_kind(phrase)
        a, b = ws[i][0], ws[j - 1][1]
        if j < len(ws) and ws[j][2] in gaz.state_codes and line[b:ws[j][0]] in (" ", ", "):
            b = ws[j][1]  # "Portland ME", "Boise, ID": a state code after a city
        out.append(Candidate(seg, offset + a, offset + b, E.LOCATION,
                             0.75 if kind == 2 else 0.55, PLACE_RECOGNIZER, None,
                             "known place (GeoNames)"))
    return out
