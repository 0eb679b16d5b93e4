"""Presidio's phone recognizer, asking libphonenumber only about regions that can match.

``PhoneRecognizer`` runs libphonenumber's ``PhoneNumberMatcher`` once per supported
region (eight by default) over the whole line. Each region's matcher finds the same
candidates (a year, a ZIP, a house number) and parses and validates them again. A
valid number of a region has at least as many digits as the shortest number of its
country code (every region sharing it: "US" also validates Canadian numbers), unless
it is written with its own country code ("+33 ..."), and then it has at least as many
as the shortest country code plus number anywhere (six). ``RegionGatedPhoneRecognizer``
skips a region whose bound exceeds the longest run of digits in the line (counted as
``pattern_gates`` counts them, with the separators libphonenumber accepts): on a line
whose longest number is a year or a ZIP only Germany's matcher runs (four digits).
Results are Presidio's own, in Presidio's order; ``tests/detection/test_phone_regions.py``
checks them against ``PhoneRecognizer`` itself.
"""

from __future__ import annotations

import re
from typing import Any

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

#: A run of digits joined by what libphonenumber accepts inside a number (spaces,
#: dashes of every width, dots, slashes, brackets, tildes, "x", "+").
DIGIT_RUN_RE = re.compile(r"\d(?:[\d\s\-\u2010-\u2015\u2212\u30fc\uff0d\uff0f()\uff08\uff09"
                          r"\uff3b\uff3d.\[\]/~\u2053\u223c\uff5ex+\uff0b]*\d)?")


def longest_digit_run(line: str) -> int:
    """Digits (``str.isdigit``, a superset of ``\\d``) in the longest ``DIGIT_RUN_RE``
    run of ``line``: no phone number in it has more."""
    return max((sum(ch.isdigit() for ch in m.group()) for m in DIGIT_RUN_RE.finditer(line)),
               default=0)


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


def shortest_for(region: str, international: int) -> int:
    """The fewest digits a number valid for ``region``'s matcher can have."""
    cc = phonenumbers.country_code_for_region(region)
    regions = phonenumbers.region_codes_for_country_code(cc) if cc else ()
    if not regions:
        return 0
    national = min(_shortest(PhoneMetadata.metadata_for_region(r)) for r in regions)
    return min(national, international)


class RegionGatedPhoneRecognizer(PhoneRecognizer):
    """``PhoneRecognizer`` (same name, context, score and results) that skips the
    regions whose shortest number does not fit in the line's longest digit run."""

    def __init__(self, **kwargs: Any) -> None:
        """Same arguments as ``PhoneRecognizer``; the name stays "PhoneRecognizer"."""
        kwargs.setdefault("name", PhoneRecognizer.__name__)
        super().__init__(**kwargs)
        international = shortest_international()
        self.min_digits = {r: shortest_for(r, international) for r in self.supported_regions}

    def analyze(self, text: str, entities: list[str],
                nlp_artifacts: NlpArtifacts = None) -> list[RecognizerResult]:  # type: ignore[assignment]
        """Presidio's ``PhoneRecognizer.analyze`` over the regions that can match."""
        longest = longest_digit_run(text)
        regions = [r for r in self.supported_regions if self.min_digits[r] <= longest]
        if len(regions) == len(self.supported_regions):
            full: list[RecognizerResult] = super().analyze(text, entities, nlp_artifacts)
            return full
        # Presidio 2.2's loop, over ``regions`` only. As there, a number that parses
        # sets the region named in the explanations of the next ones that do not.
        results: list[RecognizerResult] = []
        for matcher_region in regions:
            region = matcher_region
            for match in phonenumbers.PhoneNumberMatcher(
                    text, matcher_region, leniency=self.leniency):  # type: ignore[arg-type]
                try:
                    parsed = phonenumbers.parse(text[match.start:match.end])
                    region = phonenumbers.region_code_for_number(parsed)
                except NumberParseException:
                    pass
                results.append(self._get_recognizer_result(  # type: ignore[no-untyped-call]
                    match, text, region, nlp_artifacts))
        deduplicated: list[RecognizerResult] = EntityRecognizer.remove_duplicates(results)
        return deduplicated
