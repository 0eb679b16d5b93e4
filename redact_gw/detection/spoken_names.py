"""Names in lower-case speech that neither NER nor a trigger phrase finds.

Speech recognition writes "why is zdeňka so tired" and "says thorvaldsson" without a
capital or an introduction. Two signals are left, both read off maintained data:

* A word no English word list holds (``Gazetteer.english``: wordfreq's large list at
  Zipf 2 or more) is, in a recognizer's lower-case output, almost always a name of a
  person or a place: recognizers write dictionary words, and names are what falls
  outside ("wojciechowska", "dobrosław"). Rare spellings of English words are in the list.
* A census name that is not mainly an English word ("kathleen", "marguerite"), judged as
  ``Gazetteer.name_kind`` does: "will", "mark", "grant", "june" and "rose" stay words.

``name_runs`` reads such words (with the name words, initials and particles tight
beside them) as PERSON candidates, unless they name a known place or follow a word
that introduces a place ("in", "from", "the town of"): places are read elsewhere. A
bare "of" introduces people as often as places ("a friend of wojtkowiak").

In written text, where capitals already lead NER and the gazetteer, only two gaps
are filled: the capitalized name after a title ("Mrs. Hale") and a sentence's first
word that no English word list holds or that is a census name rarely used as a word
("Szczygielska started", "Thanks. Gallagher approved it": a first word's capital says
nothing, so the reading of capitals skips it).

``widen`` grows a PERSON candidate found by any recognizer over the whole word it
cuts ("[PERSON]sław"), and over name words tight beside it: the first name NER left
out ("ottilie [PERSON]"), a middle initial, a surname after it ("[PERSON] kowalczyk").
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

from spacy.lang.en.stop_words import STOP_WORDS

from redact_gw.detection import entities as E
from redact_gw.detection.candidates import Candidate
from redact_gw.detection.gazetteer import RARE_WORD, Gazetteer
from redact_gw.detection.lexicon import NAME_PARTICLES, NOT_NAMES
from redact_gw.detection.places import PLACE_CUES
from redact_gw.detection.truecase import SENTENCE_GAP, LineWords, Word, sentence_start

RECOGNIZER = "SpokenNameRecognizer"
#: Score of a run holding a word no English word list knows, or a census name.
UNKNOWN_SCORE = 0.55
#: Score of a run of two or more name words with a first name among them.
FULL_NAME_SCORE = 0.7
_MAX_WORDS = 4
#: Words after which a name-like word is more likely a place ("from skövde").
_PLACE_CUES = frozenset({"in", "from", "at", "near", "via", "around", "outside",
                         "visit", "visited", "flew", "moved", "live", "lives", "lived"})
#: Nouns that make "of" introduce a place ("the town of skövde", "university of
#: jyväskylä"): those of the travel phrases ending in "of" (``places.PLACE_CUES``) and
#: kinds of places. After any other word, "of" introduces people as often as places
#: ("the family of ogrodniczuk", "a friend of wojtkowiak"), and a word no place list
#: knows is read as a name there: redacted either way.
_PLACE_OF = frozenset(c.split()[-2] for c in PLACE_CUES if c.endswith(" of")) | {
    "state", "county", "province", "region", "district", "republic", "kingdom", "island",
    "islands", "port", "capital", "municipality", "parish", "borough", "outskirts",
    "suburbs", "centre", "center", "streets", "north", "south", "east", "west"}
#: Single letters that are words, never a middle initial on their own.
_NOT_INITIALS = frozenset({"a", "i"})
#: Titles that leave no doubt that a name follows ("mister fox", "missus long").
_SURE_TITLES = frozenset({"mr", "mrs", "ms", "mister", "missus"})
#: Titles that are also words ("i miss them", "the doctor said"): a name must follow.
_WORD_TITLES = frozenset({"miss", "dr", "doctor"})
_ANY_TITLE = _SURE_TITLES | _WORD_TITLES
#: How many times more often a census name is a name than an English word, for a
#: word beside a name found already, after a title, or joined to a name by "and"
#: ("jones" 116, "brown" 61, "wood" 16; "little" 0.8, "park" 1.7 stay words).
_NAME_OVER_WORD = 2.0


def strength(word: str, gaz: Gazetteer) -> int:
    """2: a name on its own (no English word, or a census name not mainly a word);
    1: a name only beside another name ("mark", a rare word); 0: not a name."""
    return lowered_strength(word.lower(), gaz)


def lowered_strength(w: str, gaz: Gazetteer) -> int:
    """``strength`` of a word already lower-cased (a line's ``LineWords.lowered``)."""
    if len(w) < 2 or not w.isalpha() or w in STOP_WORDS or w in NOT_NAMES or (
            w in _SURE_TITLES or w in _WORD_TITLES):
        return 0
    if len(w) >= 3 and w not in gaz.english and not gaz.word_freq(w):
        return 2
    return gaz.name_kind(w)


def name_runs(seg: int, line_words: LineWords, gaz: Gazetteer) -> list[Candidate]:
    """PERSON candidates in a lower-case (speech) line; for a written line, only the
    name after a title and a first word no English word list holds (``written``)."""
    offset, line, ws, lowered, spoken = line_words
    if not spoken:
        return written(seg, offset, line, ws, gaz)
    kinds = [lowered_strength(w, gaz) for w in lowered]
    for k in _in_dotted_chains(ws) if "dot" in lowered else ():
        kinds[k] = 0  # "www dot loomandlathe dot com": a web address, never a name
    out: list[Candidate] = []
    i = 0
    while i < len(ws):
        if kinds[i] == 0:
            i += 1
            continue
        j = i + 1
        while j < len(ws) and j - i < _MAX_WORDS and _tight(line, ws[j - 1], ws[j]) and (
                kinds[j] or _joiner(ws, kinds, j)):
            j += 1
        while j > i + 1 and kinds[j - 1] == 0:
            j -= 1  # a trailing particle or initial belongs to no name
        cand = _judge_run(seg, offset, line, ws, kinds, i, j, gaz)
        if cand is not None:
            out.append(cand)
        i = j
    if _ANY_TITLE.isdisjoint(lowered):
        return out  # no title word: no name after one
    return out + _after_titles(seg, offset, line, ws, gaz)


def written(seg: int, offset: int, line: str, ws: Sequence[Word],
            gaz: Gazetteer) -> list[Candidate]:
    """Written text, where capitals already lead NER: the capitalized name after a
    title ("Mrs. Hale", "ms. Ines"), and a sentence's first word that is a name on its
    own (``_sentence_name``). The capital of a sentence's first word says nothing, so
    the gazetteer's reading of capitals skips a lone one ("Szczygielska started",
    "Understood! Gallagher approved it", "Thaddeus had given ...")."""
    out = [c for c in _after_titles(seg, offset, line, ws, gaz, written=True)
           if line[c.start - offset].isupper()]
    for k, (a, b, word) in enumerate(ws):
        if not word[:1].isupper() or word.isupper() or not (k == 0 or (
                line[a - 1] in SENTENCE_GAP and sentence_start(line, a))):
            continue  # most words; a dot right before a word ends no sentence ("www.Knot")
        tight_capital = k + 1 < len(ws) and line[b:ws[k + 1][0]] == " " and (
            ws[k + 1][2][:1].isupper())
        why = _sentence_name(word.lower(), tight_capital, gaz)
        if why:
            out.append(Candidate(seg, offset + a, offset + b, E.PERSON, UNKNOWN_SCORE,
                                 RECOGNIZER, None, why))
    return out


def _sentence_name(w: str, tight_capital: bool, gaz: Gazetteer) -> str | None:
    """Why a sentence's first word (lower-cased) is a name, or None: no English word
    list holds it, or (unless a capitalized word follows it, "Boyle Street": the
    gazetteer judges the two together) it is a census name that is rarely a word
    (under ``RARE_WORD``: "Thaddeus", "Nielsen"; not "Gray", "Dawn" or "Olive", which
    start sentences as words). Known places are left to the place readers."""
    if len(w) < 3 or not w.isalpha() or gaz.place_kind(w):
        return None
    if w not in gaz.english and not gaz.word_freq(w):
        return "a sentence's first word, a name no English word list holds"
    if not tight_capital and gaz.word_freq(w) < RARE_WORD and lowered_strength(w, gaz) == 2:
        return "a sentence's first word, a census name that is rarely a word"
    return None


def _after_titles(seg: int, offset: int, line: str, ws: Sequence[Word],
                  gaz: Gazetteer, written: bool = False) -> list[Candidate]:
    """The census name after "mister", "missus" (any), "miss", "doctor" (one that is
    mainly a name): "mister fox", "miss patel"; not "miss the bus". Written text
    may abbreviate the title ("Mrs. Hale")."""
    out: list[Candidate] = []
    for k in range(len(ws) - 1):
        title = ws[k][2].lower()
        if title not in _ANY_TITLE:
            continue  # most words
        w = ws[k + 1][2].lower()
        gap = line[ws[k][1]:ws[k + 1][0]]
        if gap not in ((" ", ". ") if written else (" ",)):
            continue
        if w in STOP_WORDS or not w.isalpha() or len(w) < 2:
            continue
        sure = title in _SURE_TITLES and gaz.in_census(w)
        if sure or strength(w, gaz) or census_ratio(w, gaz) >= _NAME_OVER_WORD:
            out.append(Candidate(seg, offset + ws[k + 1][0], offset + ws[k + 1][1],
                                 E.PERSON, 0.6, RECOGNIZER, None,
                                 f"census name after the title '{title}'"))
    return out


def census_ratio(word: str, gaz: Gazetteer) -> float:
    """A census name's share among people over its frequency as an English word
    (infinite for a census name no word list holds, 0 for no census name)."""
    share = max(gaz.first.get(word, 0.0), gaz.last.get(word, 0.0)) / 100
    if not share:
        return 0.0
    freq = gaz.word_freq(word)
    return share / freq if freq else float("inf")


def _joiner(ws: Sequence[Word], kinds: Sequence[int], j: int) -> bool:
    """A middle initial ("sue d", "hedda q marttinen") or a particle ("van der")
    between name words."""
    w = ws[j][2].lower()
    nxt = kinds[j + 1] if j + 1 < len(ws) else 0
    if len(w) == 1 and w.isalpha():
        return w not in _NOT_INITIALS or nxt == 2
    return w in NAME_PARTICLES and bool(nxt)


def _judge_run(seg: int, offset: int, line: str, ws: Sequence[Word], kinds: Sequence[int],
               i: int, j: int, gaz: Gazetteer) -> Candidate | None:
    lowered = [w[2].lower() for w in ws[i:j]]
    strong = [k for k in kinds[i:j] if k == 2]
    if not strong or gaz.place_kind(" ".join(lowered)):
        return None
    if i > 0 and ws[i - 1][2].lower() in _PLACE_CUES:
        return None
    if i > 1 and ws[i - 1][2].lower() == "of" and ws[i - 2][2].lower() in _PLACE_OF:
        return None
    full = [w for w in lowered if len(w) > 1 and w not in NAME_PARTICLES]
    first = any(gaz.is_first(w) for w in full)
    if len(full) == 1 and gaz.place_kind(full[0]):
        return None
    score = FULL_NAME_SCORE if len(full) >= 2 and first else UNKNOWN_SCORE
    why = ("first name and name words, lower-case speech" if score == FULL_NAME_SCORE
           else "name word no English word list holds, lower-case speech")
    return Candidate(seg, offset + ws[i][0], offset + ws[j - 1][1], E.PERSON, score,
                     RECOGNIZER, None, why)


def _in_dotted_chains(ws: Sequence[Word]) -> set[int]:
    """Indexes of the words beside a spoken "dot" ("loomandlathe dot ch", "www dot
    x dot com"): parts of a web address or an e-mail, read by the spoken-id steps."""
    out: set[int] = set()
    for k, w in enumerate(ws):
        if w[2].lower() == "dot":
            out.update(i for i in (k - 1, k + 1) if 0 <= i < len(ws))
    return out


def _tight(line: str, a: Word, b: Word) -> bool:
    return line[a[1]:b[0]] == " "


def widen(texts: Sequence[str], cands: Iterable[Candidate], gaz: Gazetteer,
          threshold: float, lines: Sequence[Sequence[LineWords]]) -> list[Candidate]:
    """Wider copies of PERSON candidates at or over ``threshold`` (overlapping
    candidates of one type are merged when spans are resolved). ``lines``: each
    segment's ``truecase.split_lines`` (no word crosses a line, so their words are the
    segment's)."""
    out: list[Candidate] = []
    segments: dict[int, tuple[list[Word], list[int]]] = {}
    for cand in cands:
        if cand.entity_type != E.PERSON or cand.score < threshold:
            continue
        text = texts[cand.seg]
        if cand.seg not in segments:  # words once per segment: long texts hold many names
            ws = [(lw.offset + a, lw.offset + b, w) for lw in lines[cand.seg]
                  for a, b, w in lw.words]
            segments[cand.seg] = (ws, [w[0] for w in ws])
        ws, starts = segments[cand.seg]
        a, b = _whole_words(text, cand.start, cand.end)
        lo = bisect.bisect_left(starts, a)
        hi = bisect.bisect_left(starts, b) - 1
        while hi >= lo and ws[hi][1] > b:
            hi -= 1
        if lo > hi:
            continue
        a, b, lo, hi = _grow(text, ws, a, b, lo, hi, gaz)
        if (a, b) != (cand.start, cand.end):
            out.append(Candidate(cand.seg, a, b, E.PERSON, cand.score, cand.recognizer,
                                 None, f"{cand.explanation or 'name'}, widened over name words"))
        out.extend(_coordinated(cand.seg, text, ws, a, b, lo, hi, gaz))
    return out


def _coordinated(seg: int, text: str, ws: Sequence[Word], a: int, b: int, lo: int, hi: int,
                 gaz: Gazetteer) -> list[Candidate]:
    """A census name joined to a found name (words ``lo`` to ``hi``) by "and"
    ("[PERSON] and jones", "wilson and [PERSON]"), when it is mainly a name (not
    "[PERSON] and little")."""
    lower = text[a:b].islower()
    out: list[Candidate] = []
    for conj, other in ((hi + 1, hi + 2), (lo - 1, lo - 2)):
        if not (0 <= other < len(ws) and 0 <= conj < len(ws)) or ws[conj][2].lower() != "and":
            continue
        w = ws[other][2]
        if _fits(w, lower) and w.lower() not in STOP_WORDS and (
                strength(w, gaz) == 2 or census_ratio(w.lower(), gaz) >= _NAME_OVER_WORD):
            out.append(Candidate(seg, ws[other][0], ws[other][1], E.PERSON, 0.55, RECOGNIZER,
                                 None, "census name joined to a name by 'and'"))
    return out


def _whole_words(text: str, a: int, b: int) -> tuple[int, int]:
    """The span grown to the edges of the words it cuts ("dobro|sław")."""
    while a > 0 and text[a - 1].isalpha() and a < b and text[a].isalpha():
        a -= 1
    while b < len(text) and text[b].isalpha() and b > a and text[b - 1].isalpha():
        b += 1
    return a, b


def _grow(text: str, ws: Sequence[Word], a: int, b: int, lo: int, hi: int,
          gaz: Gazetteer) -> tuple[int, int, int, int]:
    """Grow the span (words ``lo`` to ``hi``) over tight name words on either side, in
    the value's own case."""
    lower = text[a:b].islower()
    for _ in range(2):  # first name (and a middle initial) before
        k = lo - 1
        if k < 0 or not _tight(text, ws[k], ws[lo]) or not _fits(ws[k][2], lower):
            break
        w = ws[k][2].lower()
        initial = len(w) == 1 and w not in _NOT_INITIALS and k > 0 and _tight(
            text, ws[k - 1], ws[k]) and strength(ws[k - 1][2], gaz) > 0
        if not (initial or _first_name(w, gaz) or strength(w, gaz)):
            break
        lo = k
    for _ in range(2):  # surname (or a second surname) after
        k = hi + 1
        if k >= len(ws) or not _tight(text, ws[hi], ws[k]) or not _fits(ws[k][2], lower):
            break
        w = ws[k][2].lower()
        j = k
        while j < len(ws) - 1 and j - k < 2 and ws[j][2].lower() in NAME_PARTICLES and _tight(
                text, ws[j], ws[j + 1]) and _fits(ws[j + 1][2], lower):
            j += 1  # "[PERSON] van der hoeven"
        if j > k and strength(ws[j][2], gaz) == 2:
            hi = j
            continue
        if not (strength(w, gaz) == 2 or (w not in STOP_WORDS
                                          and census_ratio(w, gaz) >= _NAME_OVER_WORD)):
            break
        hi = k
    return min(a, ws[lo][0]), max(b, ws[hi][1]), lo, hi


def _first_name(word: str, gaz: Gazetteer) -> bool:
    """A census first name used as a name at least as often as as a word: beside a
    surname found already, "lily" and "jan" are names ("will" is not)."""
    share = gaz.first.get(word, 0.0) / 100
    return share > 0 and word not in STOP_WORDS and share >= gaz.word_freq(word)


def _fits(word: str, lower: bool) -> bool:
    """A lower-case value grows over lower-case words, a capitalized one over
    capitalized words only (written text: "Eve Magrath said", not "said")."""
    return word.islower() if lower else word[:1].isupper()
