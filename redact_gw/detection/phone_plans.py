"""Which regions' phone matchers could find a number in a line, from their numbering plans.

Presidio's ``PhoneRecognizer`` runs libphonenumber's ``PhoneNumberMatcher`` once per
region (eight by default) over a line; each run parses and validates every candidate
(a year, a ZIP, a card number) again, for nothing on most lines. ``RegionGate`` answers,
per line, which regions' matchers *can* find something there, from libphonenumber's
public metadata only (``PhoneMetadata``: country code, international prefix, national
prefix rules, and each region's general description, which the metadata documents as
a superset of every number type). The reasoning, for a matcher at leniency ``VALID``
or stricter (each match is a valid number):

* All of a number's digits lie in one run of digits joined by the separators
  libphonenumber accepts (``DIGIT_RUN_RE``). Vanity numbers ("1-800-FLOWERS") are not
  found (``PhoneNumberMatcher``'s documentation), so no digit comes from a letter; a
  run holding three "x" (the only letter a run holds) is not reasoned about.
* Without a plus sign ("+" or its fullwidth form) the country code is the region's own,
  unless the number starts with the region's international prefix ("00", "011"...).
* With the region's own code, the national significant number is a contiguous piece of
  the run's digits (the national prefix, a carrier code, the country code and an
  extension come off its ends), unless the region (or the main region of its code,
  whose rules parse a number written with the code) rewrites the national prefix
  (Brazil's carrier codes): then only the digit count is used. A valid number of the
  code matches the general description of one of the code's regions, so some piece of
  the run matches one of those patterns, and has at least the fewest digits of them.
* After an international prefix come a country code and a number: at least
  ``shortest_international()`` digits.
* A line holding a plus sign may hold any country's number: only the count of digits
  (the shortest number of the region's code or of any code) is used.

Each test is a necessary condition, so a skipped region's matcher would have found
nothing; ``tests/detection/test_phone_regions.py`` checks the gated recognizer against
Presidio's own on libphonenumber's example numbers and on random lines.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import phonenumbers
from phonenumbers import Leniency, PhoneMetadata

#: A run of digits joined by what libphonenumber accepts inside a number (spaces,
#: dashes of every width, dots, slashes, brackets, tildes, "x", "+", and its invisible
#: punctuation: soft hyphen, zero-width space, word joiner, fullwidth full stop).
DIGIT_RUN_RE = re.compile(r"\d(?:[\d\s\-\u2010-\u2015\u2212\u30fc\uff0d-\uff0f()\uff08\uff09"
                          r"\u00ad\u200b\u2060"
                          r"\uff3b\uff3d.\[\]/~\u2053\u223c\uff5ex+\uff0b]*\d)?")
#: The characters that start a number written with its country code.
PLUS_CHARS = "+\uff0b"
_NON_DIGIT_RE = re.compile(r"\D")
#: libphonenumber reads a number holding this many letters as a vanity number.
_VANITY_LETTERS = 3


def _shortest(meta: Any) -> int:
    """Digits in the shortest number of one region's metadata (0 when unknown)."""
    desc = getattr(meta, "general_desc", None)
    lengths = getattr(desc, "possible_length", None)
    return min(lengths) if lengths else 0


def shortest_international() -> int:
    """Digits in the shortest country code plus number, over every region and every
    non-geographic code ("+800" ...)."""
    sizes = [len(str(meta.country_code)) + _shortest(meta)
             for meta in map(PhoneMetadata.metadata_for_region, phonenumbers.SUPPORTED_REGIONS)
             if meta is not None]
    sizes += [len(str(cc)) + _shortest(PhoneMetadata.metadata_for_nongeo_region(cc))
              for cc in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS]
    return min(sizes, default=0)


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a line must hold for one region's matcher to find a number in it.

    Attributes:
        bound: The fewest digits of any number the matcher can find (its code's shortest
            national number, or a country code and number written with "+").
        national: The fewest digits of a national number of the region's code.
        pieces: Searches a run's digits for a piece a valid national number of the code
            can be; None when only ``national`` is known (or, with ``exact`` false, used).
        idd: Searches a run's digits for the region's international prefix followed by
            enough digits for a country code and number; None when the region has none.
        exact: False when only ``bound`` is known (unknown region, lenient matcher).
    """

    bound: int
    national: int
    pieces: re.Pattern[str] | None
    idd: re.Pattern[str] | None
    exact: bool

    def fits(self, digits: str) -> bool:
        """Whether a run with these (ASCII) digits can hold a number the matcher finds
        without a plus sign."""
        if not self.exact:
            return len(digits) >= self.bound
        if len(digits) >= self.national and (self.pieces is None or self.pieces.search(digits)):
            return True
        return self.idd is not None and self.idd.search(digits) is not None


def plan_for(region: str, international: int, valid_only: bool) -> Plan:
    """The plan of ``region``'s matcher; ``valid_only`` when it finds only valid numbers."""
    meta = PhoneMetadata.metadata_for_region(region)
    code = meta.country_code if meta is not None else None
    regions = phonenumbers.region_codes_for_country_code(code) if code else ()
    metas = [PhoneMetadata.metadata_for_region(r) for r in regions]
    if meta is None or not code or not metas or any(m is None for m in metas):
        return Plan(0, 0, None, None, exact=False)
    national = min(_shortest(m) for m in metas)
    bound = min(national, international)
    if not valid_only:
        return Plan(bound, national, None, None, exact=False)
    main = PhoneMetadata.metadata_for_region(phonenumbers.region_code_for_country_code(code))
    patterns = [getattr(getattr(m, "general_desc", None), "national_number_pattern", None)
                for m in metas]
    rewrites = (main is None or bool(meta.national_prefix_transform_rule)
                or bool(main.national_prefix_transform_rule))
    pieces = (None if rewrites or not all(patterns)
              else re.compile("|".join(f"(?:{p})" for p in patterns)))
    idd = (re.compile(f"(?:{meta.international_prefix})\\d{{{international}}}")
           if meta.international_prefix else None)
    return Plan(bound, national, pieces, idd, exact=True)


def _ascii(digits: str) -> str:
    return digits if digits.isascii() else "".join(str(unicodedata.decimal(c)) for c in digits)


class RegionGate:
    """The regions (of a recognizer's, in its order) whose matcher can find a number in
    a line. The last line's answer is kept, under the line's hash and length (not its
    text: a worker keeps no transcript text between batches): the line gates before
    Presidio and the recognizer itself ask about the same line in turn."""

    def __init__(self, regions: Sequence[str], leniency: int | None) -> None:
        international = shortest_international()
        valid_only = leniency is not None and leniency >= Leniency.VALID
        self.regions = tuple(regions)
        self.plans = {r: plan_for(r, international, valid_only) for r in self.regions}
        #: No line with fewer digits in a run can hold a number any of the regions finds.
        self.fewest = min((p.bound for p in self.plans.values()), default=0)
        self._last: tuple[tuple[int, int], tuple[str, ...]] | None = None

    def possible(self, line: str) -> tuple[str, ...]:
        """The regions whose matcher can find a number in ``line``."""
        key = (hash(line), len(line))  # str hashes are keyed per process (SipHash)
        last = self._last
        if last is not None and last[0] == key:
            return last[1]
        runs = [m.group() for m in DIGIT_RUN_RE.finditer(line)]
        digits = [_ascii(_NON_DIGIT_RE.sub("", run)) for run in runs]
        longest = max(map(len, digits), default=0)
        loose = (any(c in line for c in PLUS_CHARS)
                 or any(run.count("x") >= _VANITY_LETTERS for run in runs))
        found = tuple(r for r, plan in self.plans.items() if plan.bound <= longest
                      and (loose or any(plan.fits(d) for d in digits)))
        self._last = (key, found)
        return found


@functools.lru_cache(maxsize=8)
def region_gate(regions: tuple[str, ...], leniency: int | None) -> RegionGate:
    """The gate of these regions at this leniency, shared by everyone asking."""
    return RegionGate(regions, leniency)
