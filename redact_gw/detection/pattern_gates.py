"""Which of Presidio's pattern recognizers can possibly match a line (issue 20).

Presidio runs every recognizer it is asked for over the whole line: a regular
expression per pattern, a checksum per hit, libphonenumber's matcher for phone
numbers, then the context enhancer over every result. Most transcript lines cannot
hold most of those values, so ``PresidioDetector`` asks only for the entity types whose
gate passes here. Each gate is a *necessary* condition read off the recognizer's own
patterns (Presidio 2.2, see the comments), so skipping a recognizer whose gate fails
never changes a result; a gate may pass on a line no pattern matches (the recognizer
then runs and finds nothing).

``possible(line)`` is one pass of cheap scans: the digit count, then a few compiled
searches, each only when an earlier test did not already settle it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from presidio_analyzer.predefined_recognizers import PhoneRecognizer

from redact_gw.detection import entities as E
from redact_gw.detection.phone_plans import region_gate

#: (line, number of digits in it) -> whether the recognizer can match the line.
LineTest = Callable[[str, int], bool]

_DIGIT_RE = re.compile(r"\d")
# Presidio compiles its patterns with IGNORECASE (all but IBAN), and ``\d`` matches
# every Unicode digit there as here.
#: Card: four digits (``4\d{3}``, ``5[0-5]\d{2}``...), an optional "-" or " ", three more.
_CARD_RE = re.compile(r"\d{4}[- ]?\d{3}")
#: SSN: every pattern starts with three digits, an optional separator, two digits.
_SSN_RE = re.compile(r"[0-9]{3}[- .]?[0-9]{2}")
#: ITIN: "9", two digits, an optional "-" or " ", two digits.
_ITIN_RE = re.compile(r"9\d{2}[- ]?\d{2}")
#: Bank account ``[0-9]{8,17}``; passport ``[0-9]{9}`` or a letter and ``[0-9]{8}``.
_EIGHT_DIGITS_RE = re.compile(r"[0-9]{8}")
#: IBAN (case-sensitive): two capitals then two digits.
_IBAN_RE = re.compile(r"[A-Z]{2}[0-9]{2}")
#: Crypto: ``(bc1|[13])`` then 25 or more of a letters-and-digits class: 26 in a row.
_CRYPTO_RE = re.compile(r"[a-z0-9]{26}", re.IGNORECASE)
_MAC_HINT_RE = re.compile(r"[0-9a-f]{2}[:-][0-9a-f]{2}|[0-9a-f]{4}\.[0-9a-f]{4}", re.I)
_DOMAIN_HINT_RE = re.compile(r"\.[a-z]", re.I)
#: IPv4 (also mapped or embedded in IPv6): four numbers joined by dots.
_IPV4_HINT_RE = re.compile(r"\d\.\d")
#: IPv6: "::" or a colon between hex digits in every form.
_IPV6_HINT_RE = re.compile(r"::|[0-9a-f]:[0-9a-f]", re.I)


#: The gate of the registry's phone recognizer (Presidio's default regions and leniency,
#: as ``engine.transcript_registry`` builds it); the recognizer shares it, and with it
#: the answer for the line asked about last.
_PHONE_GATE = region_gate(PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS, 1)


def _phone_possible(line: str, ndigits: int) -> bool:
    """A line can hold a phone number only if some region's numbering plan fits a run
    of digits in it (``phone_plans``)."""
    return ndigits >= _PHONE_GATE.fewest and bool(_PHONE_GATE.possible(line))


def _search(pattern: re.Pattern[str], min_digits: int) -> LineTest:
    return lambda line, ndigits: ndigits >= min_digits and pattern.search(line) is not None


#: What a line must hold for each of Presidio's pattern recognizers to possibly match.
NEEDS: dict[str, LineTest] = {
    E.CREDIT_CARD: _search(_CARD_RE, 12),
    E.US_SSN: _search(_SSN_RE, 9),
    E.US_ITIN: _search(_ITIN_RE, 9),
    E.US_BANK_NUMBER: _search(_EIGHT_DIGITS_RE, 8),
    E.US_PASSPORT: _search(_EIGHT_DIGITS_RE, 8),
    E.IBAN_CODE: _search(_IBAN_RE, 2),
    E.CRYPTO: _search(_CRYPTO_RE, 1),
    E.PHONE_NUMBER: _phone_possible,
    E.IP_ADDRESS: lambda line, ndigits: ((ndigits >= 4 and _IPV4_HINT_RE.search(line) is not None)
                                         or _IPV6_HINT_RE.search(line) is not None),
    E.MAC_ADDRESS: lambda line, ndigits: _MAC_HINT_RE.search(line) is not None,
    E.EMAIL_ADDRESS: lambda line, ndigits: "@" in line,
    E.URL: lambda line, ndigits: _DOMAIN_HINT_RE.search(line) is not None,
}


#: The digits each test above needs at least (it is false with fewer): compared before
#: the test is called, most lines have no digit and need four of the twelve calls.
MIN_DIGITS: dict[str, int] = {
    E.CREDIT_CARD: 12, E.US_SSN: 9, E.US_ITIN: 9, E.US_BANK_NUMBER: 8, E.US_PASSPORT: 8,
    E.IBAN_CODE: 2, E.CRYPTO: 1, E.PHONE_NUMBER: _PHONE_GATE.fewest,
}


#: On a line without digits only the tests without a digit minimum can pass (IP, MAC,
#: email, URL): each is a search for one of these, or "@".
_DIGIT_FREE_HINT_RE = re.compile(
    "|".join(p.pattern for p in (_IPV6_HINT_RE, _MAC_HINT_RE, _DOMAIN_HINT_RE)) + "|@", re.I)


def possible(line: str, entities: list[str]) -> list[str]:
    """The entity types of ``entities`` (all in ``NEEDS``) that ``line`` may hold."""
    ndigits = len(_DIGIT_RE.findall(line))
    if not ndigits and _DIGIT_FREE_HINT_RE.search(line) is None:
        return []  # most lines: one scan instead of four tests
    return [e for e in entities
            if ndigits >= MIN_DIGITS.get(e, 0) and NEEDS[e](line, ndigits)]
