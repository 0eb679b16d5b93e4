"""Render a labeled sentence the way a speech recognizer would write it, moving its gold spans.

``render_spoken(text, spans, rng)`` returns the spoken text and, for each gold span, its
new ``(start, end)`` (``None`` when nothing of it is left, e.g. a span of punctuation).

The rendering is driven by the *shape* of the text, never by the gold labels, the way a
recognizer hears a sentence without knowing what is personal:

* lower case, no punctuation, ``-`` and ``/`` become spaces, ``it's`` keeps its apostrophe;
* numbers as words: a lone group of up to four digits as a speaker says it ("sixty seven
  fifty", "twelve oh five", "twenty three"); longer numbers and grouped numbers (phones,
  cards, SSNs, postcodes with leading zeros) digit by digit, with "oh" for zero and
  "double"/"triple" for runs; ``+44`` is "plus four four";
* e-mails "maria dot garcia at example dot com" (camel case split into words, digits read);
* IPv4 "one ninety two dot one sixty eight dot one dot ten" (octets as a speaker reads them);
* IBANs letter by letter and digit by digit ("g b eight two w e s t ...");
* dates "march twelfth nineteen eighty five", times "ten fifteen a m", ordinals in words;
* a few unambiguous written abbreviations a recognizer would not produce (``Apt.``,
  ``Blvd``), and two-letter US state codes as the state's name.

Gold spans are mapped exactly: the text is cut at every gold boundary and each piece is
rendered on its own, so a span's new range covers precisely the words its characters became.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Sequence

UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
         "seventeen", "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                 "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
ABBREVIATIONS = {"apt": "apartment", "ste": "suite", "ave": "avenue", "blvd": "boulevard",
                 "rd": "road", "ln": "lane", "hwy": "highway", "mr": "mister",
                 "mrs": "missus", "ms": "miss", "jr": "junior", "sr": "senior"}
US_STATES = {
    "AL": "alabama", "AK": "alaska", "AZ": "arizona", "AR": "arkansas", "CA": "california",
    "CO": "colorado", "CT": "connecticut", "DE": "delaware", "FL": "florida",
    "GA": "georgia", "HI": "hawaii", "ID": "idaho", "IL": "illinois", "IN": "indiana",
    "IA": "iowa", "KS": "kansas", "KY": "kentucky", "LA": "louisiana", "ME": "maine",
    "MD": "maryland", "MA": "massachusetts", "MI": "michigan", "MN": "minnesota",
    "MS": "mississippi", "MO": "missouri", "MT": "montana", "NE": "nebraska",
    "NV": "nevada", "NH": "new hampshire", "NJ": "new jersey", "NM": "new mexico",
    "NY": "new york", "NC": "north carolina", "ND": "north dakota", "OH": "ohio",
    "OK": "oklahoma", "OR": "oregon", "PA": "pennsylvania", "RI": "rhode island",
    "SC": "south carolina", "SD": "south dakota", "TN": "tennessee", "TX": "texas",
    "UT": "utah", "VT": "vermont", "VA": "virginia", "WA": "washington",
    "WV": "west virginia", "WI": "wisconsin", "WY": "wyoming", "DC": "d c",
}

_TOKEN = re.compile(r"""
    (?P<email>[A-Za-z0-9][\w.+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)
  | (?P<url>(?:https?://|www\.)[^\s]+)
  | (?P<ip>(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.]*\d))
  | (?P<iban>\b[A-Za-z]{2}\d{2}(?:\ ?[A-Za-z0-9]{4}){2,7}(?:\ ?[A-Za-z0-9]{1,3})?\b)
  | (?P<date>\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b)
  | (?P<time>\b\d{1,2}:\d{2}(?::\d{2})?(?:\ ?[AaPp]\.?[Mm]\b\.?)?)
  | (?P<ordinal>\b\d+(?:st|nd|rd|th)\b)
  | (?P<money>\$\d+(?:,\d{3})*(?:\.\d\d)?)
  | (?P<number>\+?\(?\d+\)?(?:[-.\ ]?\(?\d+\)?)*)
  | (?P<word>[^\W\d_]+(?:['\u2019][^\W\d_]+)*)
  | (?P<attached>['\u2019][^\W\d_]+)
  | (?P<mixed>\w+)
  | (?P<symbol>[&%@+\#])
""", re.VERBOSE)
_SYMBOLS = {"&": "and", "%": "percent", "@": "at", "+": "plus", "#": "number"}


# ------------------------------------------------------------------------- numbers
def cardinal(n: int) -> str:
    """0..999999 in words: 1205 -> "one thousand two hundred five"."""
    if n < 10:
        return UNITS[n]
    if n < 20:
        return TEENS[n - 10]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + UNITS[n % 10])
    if n < 1000:
        rest = n % 100
        return f"{UNITS[n // 100]} hundred" + (f" {cardinal(rest)}" if rest else "")
    rest = n % 1000
    return f"{cardinal(n // 1000)} thousand" + (f" {cardinal(rest)}" if rest else "")


def ordinal(n: int) -> str:
    """1 -> "first", 22 -> "twenty second", 40 -> "fortieth"."""
    words = cardinal(n).split()
    last = words[-1]
    if last in ORDINAL_WORDS:
        words[-1] = ORDINAL_WORDS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def digit_by_digit(digits: str, rng: random.Random) -> str:
    """ "0775" -> "oh double seven five" (zero as "oh" or "zero"; runs as double/triple)."""
    out: list[str] = []
    i = 0
    while i < len(digits):
        ch = digits[i]
        word = rng.choice(["oh", "oh", "zero"]) if ch == "0" else UNITS[int(ch)]
        if digits[i:i + 3] == ch * 3 and rng.random() < 0.3:
            out.append(f"triple {word}")
            i += 3
        elif digits[i:i + 2] == ch * 2 and rng.random() < 0.3:
            out.append(f"double {word}")
            i += 2
        else:
            out.append(word)
            i += 1
    return " ".join(out)


def pair_words(two: str) -> str:
    """The second half of a number read in pairs: "05" -> "oh five", "00" -> "hundred"."""
    n = int(two)
    if n == 0:
        return "hundred"
    return f"oh {UNITS[n]}" if n < 10 else cardinal(n)


def spoken_number(digits: str, rng: random.Random) -> str:
    """A lone number of up to four digits as a speaker says it."""
    n = int(digits)
    if digits.startswith("0") and len(digits) > 1:
        return digit_by_digit(digits, rng)
    if len(digits) <= 2:
        return cardinal(n)
    if len(digits) == 3:
        if rng.random() < 0.3:
            return cardinal(n)
        return f"{UNITS[n // 100]} {pair_words(digits[1:])}"
    if 2000 <= n < 2010 or rng.random() < 0.1:
        return cardinal(n)
    return f"{cardinal(int(digits[:2]))} {pair_words(digits[2:])}"


def _year(digits: str, rng: random.Random) -> str:
    if len(digits) == 2:
        return pair_words(digits) if digits != "00" else "oh oh"
    if len(digits) != 4 or 2000 <= int(digits) < 2010:
        return spoken_number(digits, rng)
    return f"{cardinal(int(digits[:2]))} {pair_words(digits[2:])}"


def _number_group(text: str, rng: random.Random) -> str:
    groups = re.findall(r"\d+", text)
    words = ["plus"] if text.startswith("+") else []
    if len(groups) == 1 and len(groups[0]) <= 4 and not words:
        return spoken_number(groups[0], rng)
    return " ".join([*words, *(digit_by_digit(g, rng) for g in groups)])


# ------------------------------------------------------------------------- shapes
def _email(text: str, rng: random.Random) -> str:
    local, _, domain = text.partition("@")
    out: list[str] = []
    for part in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+|[._+-]", local):
        if part in "._+-":
            out.append({".": "dot", "_": "underscore", "-": "dash", "+": "plus"}[part])
        elif part.isdigit():
            out.append(_number_group(part, rng))
        elif part.isupper() and len(part) == 1:
            out.append(part.lower())
        else:
            out.append(part.lower())
    domain_words = " dot ".join(p.lower() for p in domain.split("."))
    return " ".join([*out, "at", domain_words])


def _url(text: str) -> str:
    body = re.sub(r"^https?://", "", text).rstrip("/.,")
    parts = [p for p in re.split(r"([./])", body) if p]
    return " ".join({".": "dot", "/": "slash"}.get(p, p.lower()) for p in parts)


def _ip(text: str, rng: random.Random) -> str:
    octets = []
    for octet in text.split("."):
        if len(octet) == 3 and rng.random() < 0.7:
            octets.append(spoken_number(octet, rng))
        elif len(octet) == 3:
            octets.append(digit_by_digit(octet, rng))
        else:
            octets.append(cardinal(int(octet)))
    return " dot ".join(octets)


def _iban(text: str, rng: random.Random) -> str:
    out = []
    for group in re.findall(r"[A-Za-z]+|\d+", text):
        if group.isdigit():
            out.append(digit_by_digit(group, rng))
        else:
            out.append(" ".join(group.lower()))
    return " ".join(out)


def _date(text: str, rng: random.Random) -> str:
    if "-" in text:
        y, m, d = text.split("-")
    else:
        m, d, y = text.split("/")
    if not 1 <= int(m) <= 12 or not 1 <= int(d) <= 31:
        return " ".join(digit_by_digit(p, rng) for p in (m, d, y))
    return f"{MONTHS[int(m) - 1]} {ordinal(int(d))} {_year(y, rng)}"


def _time(text: str) -> str:
    match = re.match(r"(\d{1,2}):(\d{2})(?::\d{2})?\s?([AaPp])?", text)
    assert match is not None
    hour, minute, half = int(match[1]), int(match[2]), match[3]
    words = [cardinal(hour) if hour else "twelve"]
    if minute:
        words.append(pair_words(match[2]))
    elif not half:
        words.append("o'clock")
    if half:
        words += [half.lower(), "m"]
    return " ".join(words)


def _word(text: str, prev: str, nxt: str) -> str:
    low = text.lower()
    if text in US_STATES and (prev[:1].isupper() or prev == "," or not prev):
        return US_STATES[text]
    if low == "st":  # "Main St." / "St. Louis"
        return "street" if prev[:1].isupper() or prev[:1].isdigit() else "saint"
    if low == "dr":
        return "doctor" if nxt[:1].isupper() else "drive"
    return ABBREVIATIONS.get(low, low)


def _mixed(text: str, rng: random.Random) -> str:
    out = []
    for part in re.findall(r"[^\W\d_]+|\d+", text):
        if part.isdigit():
            out.append(_number_group(part, rng))
        elif len(part) <= 3 or part.isupper():
            out.append(" ".join(part.lower()))
        else:
            out.append(part.lower())
    return " ".join(out)


def render_piece(text: str, rng: random.Random) -> list[tuple[str, bool]]:
    """The spoken words of one piece of text, each with "attaches to the previous word"."""
    out: list[tuple[str, bool]] = []
    matches = list(_TOKEN.finditer(text))
    for i, m in enumerate(matches):
        kind, tok = m.lastgroup, m[0]
        prev = matches[i - 1][0] if i else ""
        between = text[matches[i - 1].end():m.start()] if i else ""
        prev = "," if "," in between else prev
        nxt = matches[i + 1][0] if i + 1 < len(matches) else ""
        nxt = "" if "," in text[m.end():matches[i + 1].start() if nxt else None] else nxt
        if kind == "email":
            words = _email(tok, rng)
        elif kind == "url":
            words = _url(tok)
        elif kind == "ip":
            words = _ip(tok, rng)
        elif kind == "iban":
            words = _iban(tok, rng)
        elif kind == "date":
            words = _date(tok, rng)
        elif kind == "time":
            words = _time(tok)
        elif kind == "ordinal":
            words = ordinal(int(re.sub(r"\D", "", tok)))
        elif kind == "money":
            words = _number_group(tok.split(".")[0].replace(",", "")[1:], rng) + " dollars"
        elif kind == "number":
            words = _number_group(tok, rng)
        elif kind == "word":
            words = _word(tok, prev, nxt)
        elif kind == "attached":  # "'s" right after a word (cut at a gold boundary)
            glued = m.start() == (matches[i - 1].end() if i else 0)
            word = tok.lower().replace("\u2019", "'")
            out.append((word if glued else word[1:], glued))
            continue
        elif kind == "mixed":
            words = _mixed(tok, rng)
        else:
            words = _SYMBOLS[tok]
        out.append((words, False))
    return out


def render_spoken(text: str, spans: Sequence[tuple[int, int]],
                  rng: random.Random) -> tuple[str, list[tuple[int, int] | None]]:
    """Render ``text`` spoken; return it and each gold span's new range (or ``None``)."""
    cuts = sorted({0, len(text), *(p for span in spans for p in span)})
    parts: list[str] = []
    size = 0
    piece_range: dict[int, tuple[int, int]] = {}
    for a, b in itertools.pairwise(cuts):
        first = None
        for words, attached in render_piece(text[a:b], rng):
            if size and not attached:
                parts.append(" ")
                size += 1
            if first is None:
                first = size
            parts.append(words)
            size += len(words)
        if first is not None:
            piece_range[a] = (first, size)
    mapped: list[tuple[int, int] | None] = []
    for start, end in spans:
        inside = [r for a, r in piece_range.items() if start <= a < end]
        mapped.append((min(r[0] for r in inside), max(r[1] for r in inside)) if inside
                      else None)
    return "".join(parts), mapped
