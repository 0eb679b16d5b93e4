"""Identifier-shaped numbers, written or spoken, classified by shape and context.

Each all-digit piece of a run in the normalized view ("four one one one ..." ->
"4111...") is classified by its length, checksums (Luhn, ABA, IBAN mod 97) and the
nearest context word before it, which may sit in the previous speaker's turn. In an
identifying context a number is redacted even when a strict validity check rejects it
(an SSN-shaped number in the 9xx range is an ITIN; a card number misheard by one digit
is still a card number after "card"): errors go toward redaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from redact_gw.detection import entities as E
from redact_gw.detection.context import Hint
from redact_gw.detection.lexicon import REPEATERS, UNITS

RECOGNIZER = "SpokenNumberRecognizer"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a number is, how sure, and why (never the value)."""

    entity_type: str
    score: float
    reason: str


def luhn_ok(digits: str) -> bool:
    """Whether ``digits`` passes the Luhn checksum."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def aba_ok(digits: str) -> bool:
    """Whether nine ``digits`` pass the ABA routing checksum."""
    if len(digits) != 9:
        return False
    weights = (3, 7, 1) * 3
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 10 == 0


def iban_ok(value: str) -> bool:
    """Whether ``value`` (letters and digits, no spaces) passes the IBAN mod-97 check."""
    v = value.upper()
    if len(v) < 15 or len(v) > 34 or not (v[:2].isalpha() and v[2:4].isdigit()):
        return False
    rearranged = v[4:] + v[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1


def _ssn_or_itin(digits: str) -> str:
    return E.US_ITIN if digits.startswith("9") else E.US_SSN


def _card(d: str) -> Verdict | None:
    if 12 <= len(d) <= 19:
        return Verdict(E.CREDIT_CARD, 0.95 if luhn_ok(d) else 0.85, "card context")
    if 3 <= len(d) <= 11:
        return Verdict(E.CREDIT_CARD, 0.7, "card context, partial number")
    return None


def _ssn(d: str) -> Verdict | None:
    if len(d) == 9:
        return Verdict(_ssn_or_itin(d), 0.9, "social security context")
    if len(d) == 4:
        return Verdict(E.US_SSN, 0.7, "social security context, partial number")
    return None


def _tax(d: str) -> Verdict | None:
    if len(d) == 9:
        return Verdict(_ssn_or_itin(d) if d[0] == "9" else E.US_ITIN, 0.9, "tax id context")
    if len(d) == 4:
        return Verdict(E.US_ITIN, 0.7, "tax id context, partial number")
    return None


def _phone(d: str) -> Verdict | None:
    if 7 <= len(d) <= 15:
        return Verdict(E.PHONE_NUMBER, 0.9, "phone context")
    if len(d) in (5, 6):  # short national numbers: "phone: 61 12 61"
        return Verdict(E.PHONE_NUMBER, 0.7, "phone context, short number")
    if len(d) == 4:
        return Verdict(E.PHONE_NUMBER, 0.6, "phone context, partial number")
    return None


def _routing(d: str) -> Verdict | None:
    if len(d) == 9:
        return Verdict(E.ROUTING_NUMBER, 0.9, "routing context")
    return _account(d)


def _account(d: str) -> Verdict | None:
    if len(d) == 9 and aba_ok(d):
        return Verdict(E.ROUTING_NUMBER, 0.75, "account context, ABA checksum")
    if 6 <= len(d) <= 20:
        return Verdict(E.US_BANK_NUMBER, 0.85, "account context")
    return None


def _zip(d: str) -> Verdict | None:
    if len(d) in (5, 6, 9, 10):
        return Verdict(E.ZIP_CODE, 0.85, "zip context")
    return None


def _dob(d: str) -> Verdict | None:
    if len(d) in (4, 6, 8):
        return Verdict(E.DATE_OF_BIRTH, 0.8, "birth date context")
    return None


def _member(d: str) -> Verdict | None:
    if 5 <= len(d) <= 20:
        return Verdict(E.ACCOUNT_NUMBER, 0.7, "identifier context")
    return None


_PARTIAL_TYPES: dict[str, str] = {
    "card": E.CREDIT_CARD, "ssn": E.US_SSN, "tax": E.US_ITIN, "phone": E.PHONE_NUMBER,
    "account": E.US_BANK_NUMBER, "routing": E.ROUTING_NUMBER, "member": E.ACCOUNT_NUMBER,
}

_BY_FAMILY: dict[str, Callable[[str], Verdict | None]] = {
    "card": _card, "ssn": _ssn, "tax": _tax, "phone": _phone, "routing": _routing,
    "account": _account, "zip": _zip, "dob": _dob, "member": _member,
}


def _shape_only(d: str, surface: str) -> Verdict | None:
    """Classify a number with no context word, from its shape alone."""
    n = len(d)
    if d.startswith("0") and _looks_like_phone(d, surface, cued=False):
        return Verdict(E.PHONE_NUMBER, 0.6, "phone-shaped number")  # no card starts with 0
    if 13 <= n <= 19 and luhn_ok(d):
        return Verdict(E.CREDIT_CARD, 0.8, "Luhn-valid card-length number")
    if n == 16:
        return Verdict(E.CREDIT_CARD, 0.5, "card-length number")
    if n == 9 and _looks_like_ssn(surface):
        return Verdict(_ssn_or_itin(d), 0.7, "ssn-shaped number")
    if n == 10 or (n == 11 and d[0] in "01") or _looks_like_phone(d, surface, cued=False):
        return Verdict(E.PHONE_NUMBER, 0.6, "phone-length number")
    if n == 9:
        return Verdict(_ssn_or_itin(d), 0.45, "nine-digit number")
    if n >= 7:
        return Verdict(E.ACCOUNT_NUMBER, 0.45, "identifier-length number")
    if n == 6 and _one_by_one(surface):  # "three three double four four eight"
        return Verdict(E.ACCOUNT_NUMBER, 0.45, "six digits read one by one")
    return None


def _looks_like_phone(d: str, surface: str, cued: bool = True) -> bool:
    """A number dialled with an international "00" or a national "0" (10 or 11 digits:
    "07700 900461", "(0) 20 7946 0958"), or a local number written "555-0182" or in
    pairs ("84 58 94"). Three pairs that read as a time of day with dots ("12.30.45")
    make a phone only after a phone word (``cued``); a score or a count says so before
    it ("the score was 12 34 56": ``lexicon`` "negative" words)."""
    if (d.startswith("00") and 10 <= len(d) <= 15) or (d[:1] == "0" and len(d) in (10, 11)):
        return True
    pairs = _PAIRS_RE.fullmatch(surface.strip())
    return ([len(p) for p in re.split(r"[^0-9]+", surface) if p] == [3, 4]
            or (pairs is not None and (cued or len(d) > 6 or not _clock(surface.strip()))))


def _clock(surface: str) -> bool:
    """Three dotted pairs that make a time of day ("12.30.45")."""
    parts = surface.split(".")
    return (len(parts) == 3 and int(parts[0]) <= 23 and int(parts[1]) <= 59
            and int(parts[2]) <= 59)


#: A number written in pairs, as many countries write phone numbers: "84 23 30",
#: "28-64-27-85", "02.64.62.52.37".
_PAIRS_RE = re.compile(r"\d\d(?:([ .-])\d\d)(?:\1\d\d){1,3}")


def _one_by_one(surface: str) -> bool:
    """Whether a number was read aloud digit by digit ("three three double four four
    eight"), as identifiers are; a quantity is read "three hundred thirty four"."""
    words = re.findall(r"[a-z]+|\d+", surface.lower())
    return bool(words) and all(w in UNITS or w in REPEATERS for w in words)


#: A phone number's written shape: "(555)301-2299", "555.301.2299" ("+" is seen by the caller).
_DIALLED_RE = re.compile(r"\(?\d{3}\)\s*\d{3}[-. ]\d{4}|\d{3}([-.])\d{3}\1\d{4}")


def _dialled(d: str, surface: str) -> bool:
    """Whether a number is unmistakably a phone number by how it is written or read:
    strong enough to outweigh a quantity word before it ("order desk", "ticket line")."""
    if (d.startswith("00") and 11 <= len(d) <= 15) or (d[:1] == "0" and len(d) in (10, 11)):
        return True
    return _DIALLED_RE.fullmatch(surface.strip()) is not None


def _phone_length(d: str, surface: str) -> bool:
    """A number with a phone number's length: ten digits of a North American number
    (no area code starts with 0 or 1), eleven after a "1", or a shape
    ``_looks_like_phone`` knows. "line 4410" is an extension or a quantity, not this."""
    return ((len(d) == 10 and d[0] not in "01") or (len(d) == 11 and d[0] == "1")
            or _looks_like_phone(d, surface))


def _looks_like_ssn(surface: str) -> bool:
    parts = [p for p in surface.replace(" ", "-").split("-") if p]
    return [len(p) for p in parts] == [3, 2, 4]


def classify(digits: str, surface: str, hint: Hint | None,
             partial: bool = False) -> Verdict | None:
    """Classify one number.

    Args:
        digits: The number's digits (from the view).
        surface: The original characters, used for shape ("123-45-6789").
        hint: Nearest context family before the number, if any.
        partial: The number is announced as a part ("ending in", "last four").

    Returns:
        The verdict, or ``None`` when the number is not personal data.
    """
    if partial and hint is not None and hint.family in _PARTIAL_TYPES and 3 <= len(digits) <= 6:
        return Verdict(_PARTIAL_TYPES[hint.family], 0.75,
                       f"last digits of an identifier ('{hint.word}')")
    if hint is not None and hint.family == "negative":
        if _dialled(digits, surface):  # "ticket line: 555.301.2299" is still a phone
            return Verdict(E.PHONE_NUMBER, 0.6, f"written as a phone number ('{hint.word}')")
        if hint.service and _phone_length(digits, surface):  # "order line 3035550147"
            return Verdict(E.PHONE_NUMBER, 0.6, f"phone-length number ('{hint.service}')")
        strong = 13 <= len(digits) <= 19 and luhn_ok(digits) and digits[0] != "0"
        return Verdict(E.CREDIT_CARD, 0.8, "Luhn-valid card-length number") if strong else None
    if hint is not None and hint.family in _BY_FAMILY:
        verdict = _BY_FAMILY[hint.family](digits)
        if verdict is not None:
            return Verdict(verdict.entity_type, verdict.score,
                           f"{verdict.reason} ('{hint.word}')")
    return _shape_only(digits, surface)
