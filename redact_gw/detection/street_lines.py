"""Street lines in the order most of the world writes them, street corners, postcodes by cue.

``addresses`` finds US-order lines ("12 Main Street"). This module adds, on the same
normalized view (spoken numbers are digits there):

* a street name followed by its house number, the street type being vocabulary, not
  personal data: a type word before the name ("Via Roma 131", "ul. Miła 53", "Rue de
  Piétrain 371", "Avenida Paris 95"), a type word after it ("Nyár utca 75.",
  "Rákóczi út 66."), or a one-word street ending in a type ("Koenigstrasse 51",
  "Västerviksgatan 2", "C. Beerninckstraat 88"); an optional building number before it
  ("974 Via Roma 131") joins the line; in lower-case text (speech, chat) the
  abbreviations "ul", "r", "c" count before a name that is no common word ("ul cicha
  58"), the single letters only after an address cue or "on", "at", "to";
* without type vocabulary, a capitalized name and a number ("Parmova 110",
  "Ellenö 58 Apt. 128") only after an address cue ("lives on", "address is") or with a
  unit after it;
* "the corner of X and Y" as one span;
* a postcode after a postcode cue ("my zip code is 3215", "postal code 8062").

Each finding is ``(start, end, why, score)`` in the coordinates of the text scanned; the
caller extends street lines over the city, region and postcode after them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from spacy.lang.en.stop_words import STOP_WORDS

from redact_gw.detection.lexicon import (
    COUNTED_NOUNS,
    CURRENCY_WORDS,
    DEPARTURE_VERBS,
    MONTHS,
    NUMBERING_WORDS,
    PHONE_LABELS,
    QUANTITY_WORDS,
    WEEKDAYS,
)

Found = tuple[int, int, str, float]
WordTest = Callable[[str], bool]
#: Whether an address cue ("lives", "address") precedes a position of the scanned text.
CueTest = Callable[[int], bool]

def _fold(word: str) -> str:
    """Lowercase without accents: the detector may read "út" as "ut", "vägen" as "vagen"."""
    if word.isascii():
        return word.lower()  # ASCII is its own NFKD form, without combining marks
    return "".join(ch for ch in unicodedata.normalize("NFKD", word.lower())
                   if not unicodedata.combining(ch))


def _folded(words: set[str]) -> frozenset[str]:
    return frozenset(_fold(w) for w in words)


#: Street types written before the name (Romance, Slavic, German, Hungarian...).
TYPES_BEFORE: frozenset[str] = _folded({
    "via", "viale", "vicolo", "piazza", "piazzale", "corso", "largo", "strada", "contrada",
    "rue", "avenue", "avenida", "avda", "boulevard", "bd", "blvd", "chemin", "allée",
    "impasse", "quai", "cours", "calle", "carrer", "camino", "paseo", "plaza", "ronda",
    "travesía", "rua", "travessa", "praça", "estrada", "alameda", "ulica", "ul", "aleja",
    "al", "osiedle", "os", "plac", "pl", "calea", "bulevardul", "odos", "leoforos",
    "jalan", "jl", "rruga", "ulitsa", "prospekt", "bulevar", "trg", "náměstí", "nám",
    "rambla", "avinguda", "passeig", "im", "am", "an", "auf", "r", "c", "av", "ctra",
    "carretera", "cl", "rúa", "praceta", "sq", "pza", "pso",
})
#: Short or everyday ones among them count only capitalized in writing ("Im Wingert").
_WEAK_BEFORE: frozenset[str] = _folded({
    "im", "am", "an", "auf", "r", "c", "av", "al", "os", "pl", "bd", "jl", "ul", "nám",
    "plaza", "cours", "corso", "largo", "quai",
})
#: Abbreviations among them that are no English word nor a first name ("ul." ulica,
#: "R." rua, "C/" calle): in lower-case text (speech, chat) they still open a street
#: before a name that is no common word ("ul cicha 58"; not "c block 12"); a single
#: letter also needs an address cue or "on", "at", "to" before it ("lives at r
#: calvário 39"; not "vitamin c tablets 500", whose plural is rare to the word list).
_LOWER_CASE_BEFORE: frozenset[str] = frozenset({"ul", "r", "c"})
#: Street types written after the name as a word of their own ("Nyár utca 75.").
TYPES_AFTER: frozenset[str] = _folded({
    "utca", "u", "út", "útja", "tér", "körút", "sor", "köz", "strasse", "straße", "str",
    "gasse", "weg", "platz", "allee", "straat", "laan", "vej", "gade", "gata", "gatan",
    "vägen", "väg", "veien", "vei", "vegen", "katu", "tie", "kuja", "tee", "iela",
    "gatvė", "cesta", "ulice", "sokak", "caddesi", "aqq", "street", "avenue",
    "road", "rd", "st", "ave", "drive", "dr", "lane", "boulevard", "way", "court",
})
#: One-word street names end in a type ("Linzer Strasse" is two words, "Koenigstrasse" one).
COMPOUND_ENDINGS: tuple[str, ...] = tuple(sorted(_folded({
    "strasse", "straße", "gasse", "weg", "platz", "allee", "ring", "damm", "ufer",
    "steig", "pfad", "graben", "markt", "chaussee", "straat", "laan", "gracht", "kade",
    "singel", "plein", "dijk", "steeg", "strook", "vej", "gade", "allé", "plads", "gata",
    "gatan", "vägen", "väg", "gränd", "gränden", "stigen", "backe", "backen", "torget",
    "veien", "vegen", "gaten", "katu", "tie", "kuja", "polku", "väylä", "rinne", "kaari",
    "iela", "utca", "ulica", "sokak", "pad", "steg", "stieg",
})))
#: Particles inside street names ("Rua Treze de Maio", "Via delle Viole").
PARTICLES: frozenset[str] = _folded({
    "de", "del", "della", "delle", "dei", "degli", "di", "da", "do", "dos", "das", "du",
    "des", "la", "le", "les", "los", "van", "von", "der", "den", "y", "e", "i", "el",
    "z", "ze", "u", "nad", "pod", "na", "op", "aan", "ter", "ten", "zu", "zum", "zur", "d'",
})
#: Words after a number that make it a quantity, a time or an age, not a house number
#: (nor a postcode, ``place_postcodes``): the shared ``QUANTITY_WORDS``, and "month",
#: singular after a number as short as a house number ("a 12 month lease"; never in
#: ``address_parts``' list, whose numbers have four digits or more), and "units"
#: ("shipped to Bergen 5000 units"); currencies ("1500 kroner"); and the verbs after a
#: train's number ("Solothurn 4501 departs").
_NOT_HOUSE_AFTER: frozenset[str] = (QUANTITY_WORDS | {"month", "units"} | CURRENCY_WORDS
                                    | DEPARTURE_VERBS)
#: Unit designators: "Apt. 268" is a unit, not a street with its number.
_UNIT_WORDS: frozenset[str] = frozenset({
    "apt", "apartment", "suite", "ste", "unit", "flat", "floor", "fl", "room", "rm", "box",
    "psc", "cmr", "bldg", "building", "no", "number", "lot", "space", "dept", "pier",
})
POSTCODE_CUES: frozenset[str] = frozenset({"zip", "zipcode", "postcode", "postal", "plz"})
_UNIT_AFTER = re.compile(
    r"[ \t]*,?[ \t]*(?:apt|apartment|suite|ste|unit|flat|floor|fl|room|rm|#)\b\.?[ \t]*\#?\d",
    re.IGNORECASE)
_TOKEN = re.compile(r"\d+(?:[a-z](?![^\W\d_]))?|[^\W\d_][\w'\u2019-]*\.?|\S", re.IGNORECASE)
_NUMBER = re.compile(r"\d{1,5}[a-z]?")
#: A house or building number right before a street (same line).
HOUSE_BEFORE = re.compile(r"(?<![\d.:/-])\d{1,8}[a-z]?[ \t]*$", re.IGNORECASE)
_YEAR = re.compile(r"(?:19|20)\d\d")
_BEFORE_YEAR = frozenset({"in", "since", "by", "until", "from", "of", "before", "after"})
#: Phone labels that end a street corner's second street ("Extension" is a street type).
_PHONE_WORDS = PHONE_LABELS - {"x", "ext", "extn", "extension"}
#: "(the) corner of": the only street finding without a digit (``corners``).
CORNER = re.compile(r"\b(?:the[ \t]+)?corner[ \t]+of[ \t]+", re.IGNORECASE)
#: The code after a postcode cue; a UK code read in letter pairs leaves spaces in the
#: digit view ("dl six one uh": "dl 61 uh").
_CUED_POSTCODE = re.compile(
    r"[ \t]*(?:code[ \t]*)?(?:is|was|:|of|=)?[ \t]*(?:it'?s[ \t]+)?"
    r"(?P<code>\d{3,6}(?:[ -]\d{2,4})?|[A-Z]{1,2}[ \t]?\d[A-Z\d]?[ \t]*\d[ \t]?[A-Z]{2}"
    r"|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d)\b", re.IGNORECASE)


def no_capitals(text: str) -> bool:
    """Whether no character of ``text`` is upper case (speech): ``islower()``, one C
    call, is true only then, and answers for most spoken lines."""
    return text.islower() or not any(map(str.isupper, text))


def _word(tok: str) -> str:
    return _fold(tok.rstrip("."))


def _is_type_word(low: str) -> bool:
    return low in TYPES_AFTER or (low.endswith(COMPOUND_ENDINGS) and any(
        low.endswith(e) and len(low) >= len(e) + 3 for e in COMPOUND_ENDINGS))


def _line_tokens(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    return [(start + m.start(), start + m.end(), m.group())
            for m in _TOKEN.finditer(text[start:end])]


Tokens = list[list[tuple[int, int, str]]]


def line_tokens(text: str) -> Tokens:
    """Each line's tokens, as (start, end, token) with offsets in ``text``: made once
    per text and given to ``street_lines``, ``number_first`` and ``place_postcodes``."""
    out: Tokens = []
    start = 0
    for line in text.split("\n"):
        out.append(_line_tokens(text, start, start + len(line)))
        start += len(line) + 1
    return out


def street_lines(text: str, cued: CueTest, is_common: WordTest,
                 address_cued: CueTest, lines: Tokens | None = None) -> list[Found]:
    """Non-US street lines: name words, then the house number (see the module doc).

    ``cued`` also accepts "at", "on", "to" right before; ``address_cued`` only address
    words ("lives", "address"): a spoken word and a number ("on covid 19") need one."""
    out: list[Found] = []
    spoken = no_capitals(text)
    for toks in line_tokens(text) if lines is None else lines:
        for i, (_a, _b, tok) in enumerate(toks):
            if _NUMBER.fullmatch(tok) and i > 0:
                found = _street_before(text, toks, i, spoken, (cued, address_cued), is_common)
                if found is not None:
                    out.append(found)
    return out


_DOTTED_ON = re.compile(r"\.\d")


def _street_before(text: str, toks: list[tuple[int, int, str]], i: int, spoken: bool,
                   cues: tuple[CueTest, CueTest], is_common: WordTest) -> Found | None:
    """The street whose house number is ``toks[i]``, or ``None``."""
    cued, address_cued = cues
    nxt = _word(toks[i + 1][2]) if i + 1 < len(toks) else ""
    if nxt in _NOT_HOUSE_AFTER or nxt in (":", "%", "/") or text[toks[i][1]:].startswith(
            (":", "/", "%", "-")) or _DOTTED_ON.match(text, toks[i][1]):
        return None  # "ping 124.169.166.36": a dotted number (an IP) is no house number
    starts: list[int] = []  # name words, nearest first
    typed_at, before, j = -1, -1, i - 1  # nearest type word after the name; type before it
    abbreviated = ""  # the type before, when a lower-case abbreviation ("ul")
    while j >= 0 and len(starts) < 4:
        a, _b, tok = toks[j]
        low = _word(tok)
        if not tok[:1].isalpha():
            break
        if low in TYPES_BEFORE and starts and (low not in _WEAK_BEFORE or (
                not spoken and (tok[:1].isupper() or tok.endswith(".")))
                or (spoken and low in _LOWER_CASE_BEFORE)):
            before = a
            abbreviated = low if spoken and low in _LOWER_CASE_BEFORE else ""
            break
        j -= 1
        if low in PARTICLES and starts:
            continue
        if low in STOP_WORDS or tok.endswith(":") or low in _UNIT_WORDS:
            break
        is_type = _is_type_word(low)
        if not spoken and not tok[:1].isupper() and not is_type and not (
                typed_at >= 0 and len(starts) == 1):  # "Árpád fejedelem útja 62."
            break
        if is_type and typed_at < 0:
            typed_at = len(starts)
        starts.append(a)
    if not starts:
        return None
    typed = before >= 0 or typed_at >= 0
    if before >= 0:
        start = before
    elif spoken:  # no capitals to tell the name: one word before the type word at most
        start = starts[min(typed_at + 1, len(starts) - 1)] if typed else starts[0]
    else:
        start = starts[-1]
    end = toks[i][1]
    name = text[start:toks[i][0]].lower().split()
    rare = not all(is_common(_word(w)) or _word(w) in PARTICLES for w in name)
    nxt_raw = toks[i + 1][2] if i + 1 < len(toks) else ""
    if not typed and (nxt in TYPES_BEFORE or (
            nxt_raw[:1].isupper() and nxt not in _UNIT_WORDS and nxt not in TYPES_AFTER)):
        return None  # "Anna Moser 3482 Via Franscini 71": the number starts the next street
    k = next((k for k, t in enumerate(toks) if t[0] == start), 0)  # start is a token's
    year = _YEAR.fullmatch(toks[i][2]) and not (k and toks[k - 1][2][:1].isdigit())
    if not typed and (year or _counted(nxt_raw) or _numbered(toks, k)):
        # "moved to Zurich 2019", "Bergen 5000 units", "train to Bern 4501"; a date
        # names the street in "43 Rue 9 Avril 1938"
        return None
    if abbreviated:
        if rare and (len(abbreviated) > 1 or cued(start)):
            why, score = "street name with its type and house number", 0.9
        else:
            return None
    elif typed and (rare or not spoken or cued(start)):
        why, score = "street name with its type and house number", 0.9
    elif not spoken and rare and (cued(start) or _UNIT_AFTER.match(text, end)):
        why, score = "street name and house number, address context", 0.86
    elif spoken and len(name) == 1 and rare and address_cued(start):
        why, score = "street name and house number, address context", 0.86  # "on parmova 110"
    else:
        return None
    house = HOUSE_BEFORE.search(text, max(0, start - 16), start)
    if house is not None and "\n" not in text[house.start():start]:
        start = house.start()
    if text[end:end + 1] == "." and text[end + 1:end + 2] in ("", " ", "\n", ","):
        end += 1  # "Nyár utca 75."
    return start, end, why, score


def number_first(text: str, is_common: WordTest, lines: Tokens | None = None) -> list[Found]:
    """"63 Avenue du Golf Arabe", "26 rue des Lilas", "12 Via Roma": the number, a
    street type, then the name."""
    out: list[Found] = []
    spoken = no_capitals(text)
    for toks in line_tokens(text) if lines is None else lines:
        for i in range(len(toks) - 2):
            a, _b, num = toks[i]
            if not (_NUMBER.fullmatch(num) or num.isdigit()):
                continue  # the line starts with its house number
            kind = toks[i + 1][2]
            low = _word(kind)
            if low not in TYPES_BEFORE or (
                    low in _WEAK_BEFORE and (spoken or not kind[:1].isupper())):
                continue
            if (a > 0 and text[a - 1] in ".:/-") or not HOUSE_BEFORE.search(
                    text[a:toks[i + 1][0]]):
                continue
            if _YEAR.fullmatch(num) and i > 0 and _word(toks[i - 1][2]) in _BEFORE_YEAR:
                continue  # "in 2019 Via Rail carried..."
            end, rare, names = -1, False, 0
            for k in range(i + 2, min(i + 7, len(toks))):
                y, tok = toks[k][1], toks[k][2]
                w = _word(tok)
                if w in PARTICLES and names < 4:
                    continue
                if not tok[:1].isalpha() or w in STOP_WORDS or tok.endswith(":") or (
                        spoken and names >= 3) or w in _UNIT_WORDS:
                    break
                common = is_common(w)
                if not spoken and not tok[:1].isupper() and (
                        common or _word(toks[k - 1][2]) not in PARTICLES):
                    break  # lower case only after a particle: "26 rue des lilas"
                rare, names, end = rare or not common, names + 1, y
            if names and (rare or not spoken):
                out.append((a, end, "house number, street type and name", 0.9))
    return out


def corners(text: str) -> list[Found]:
    """"(the) corner of X and Y": both streets and the phrase as one span."""
    out: list[Found] = []
    for m in CORNER.finditer(text):
        line_end = text.find("\n", m.end())
        line_end = len(text) if line_end < 0 else line_end
        toks = _line_tokens(text, m.end(), line_end)
        k = next((k for k, t in enumerate(toks[:10]) if t[2].lower() == "and"), -1)
        if k < 1:
            continue
        end = toks[k - 1][1]
        for _a, b, tok in toks[k + 1:k + 6]:
            low = _word(tok)
            if not tok[:1].isalnum() or (low in STOP_WORDS and low not in PARTICLES) or (
                    low in _PHONE_WORDS and not tok[:1].isupper()):  # "... mobile 997..."
                break
            if tok.endswith(":") or (not tok[:1].isupper() and any(
                    ch.isupper() for ch in text) and not tok[:1].isdigit()):
                break
            end = b
        if end > toks[k][1]:
            out.append((m.start(), end, "street corner", 0.85))
    return out


def cued_postcodes(text: str) -> list[Found]:
    """A postcode right after "zip code is", "postal code", "postcode:"."""
    out: list[Found] = []
    for m in re.finditer(r"\b(?:zip|postal|post)[ \t]*code\b|\bpostcode\b|\bzip\b", text,
                         re.IGNORECASE):
        c = _CUED_POSTCODE.match(text, m.end())
        if c is not None and c.group("code").split()[0].lower() not in STOP_WORDS:
            # "zip code is on 12 st": a word, no area letters
            out.append((c.start("code"), c.end("code"), "postcode after a postcode cue", 0.85))
    return out


_MONTHS_DAYS = frozenset(MONTHS) | frozenset(WEEKDAYS) | {
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "q1", "q2", "q3", "q4"}
_PLACE_PREPOSITIONS = frozenset({"in", "at", "from", "to", "near"})
_POSTCODE_SHAPE = re.compile(r"\d{4,6}|\d{2}-\d{3}")
#: Held by every token of ``_POSTCODE_SHAPE``.
_POSTCODE_HINT = re.compile(r"\d{4}|\d{2}-\d{3}")


def _counted(tok: str) -> bool:
    """Whether ``tok`` is a plural a number before it counts ("3500 stores")."""
    return tok.islower() and _word(tok) in COUNTED_NOUNS


def _quantity(toks: list[tuple[int, int, str]], i: int) -> bool:
    """Whether the number ``toks[i]`` is a quantity ("4000 people", "3500 stores") or
    part of a longer token ("1234.5", "2020-21")."""
    if i + 1 >= len(toks):
        return False
    nxt = toks[i + 1][2]
    glued = i + 2 < len(toks) and toks[i + 2][0] == toks[i + 1][1]
    return _word(nxt) in _NOT_HOUSE_AFTER or _counted(nxt) or (
        nxt in (".", ":", "%", "/", "-") and glued)


def _numbered(toks: list[tuple[int, int, str]], j: int) -> bool:
    """Whether a flight, route or score word is among the three tokens before
    ``toks[j]`` ("the flight from Zurich 1234")."""
    return any(_word(t[2]) in NUMBERING_WORDS for t in toks[max(0, j - 3):j])


def place_postcodes(text: str, is_place: WordTest, is_common: WordTest,
                    lines: Tokens | None = None) -> list[Found]:
    """A postcode after a town: "in Independence 44131", "in København K 1421", "in
    Valverde de Valdelacasa 37791" (a lower-case particle inside the name)."""
    out: list[Found] = []
    if _POSTCODE_HINT.search(text) is None:
        return out  # no token can have a postcode's shape
    spoken = no_capitals(text)
    for toks in line_tokens(text) if lines is None else lines:
        for i, (a, b, num) in enumerate(toks):
            if not _POSTCODE_SHAPE.fullmatch(num) or _YEAR.fullmatch(num) or _quantity(toks, i):
                continue
            words: list[str] = []
            for j in range(i - 1, max(i - 5, -1), -1):
                tok = toks[j][2]
                w = _word(tok)
                if w in _PLACE_PREPOSITIONS and words:
                    break
                if words and tok.islower() and w in PARTICLES:
                    continue  # inside the town's name: "in Valverde de Valdelacasa 37791"
                if not tok[:1].isalpha() or w in STOP_WORDS or w in _MONTHS_DAYS or (
                        not spoken and not tok[:1].isupper()):
                    words = []
                    break
                words.append(w)
            else:
                continue
            if words and any(is_place(w) or not is_common(w) for w in words) and not all(
                    len(w) == 1 for w in words) and not _numbered(toks, j):
                out.append((a, b, "postcode after a town", 0.8))
    return out
