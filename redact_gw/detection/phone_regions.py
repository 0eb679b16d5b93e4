"""Presidio's phone recognizer, asking libphonenumber only about regions that can match.

``PhoneRecognizer`` runs libphonenumber's ``PhoneNumberMatcher`` once per supported
region (eight by default) over the whole line. Each region's matcher finds the same
candidates (a year, a ZIP, a card number) and parses and validates them again.
``RegionGatedPhoneRecognizer`` runs only the regions ``phone_plans.RegionGate`` lets
through: those whose numbering plan fits a run of digits of the line (on a line whose
only number is a year, Germany's; on a card number, none). Results are Presidio's
own, in Presidio's order; ``tests/detection/test_phone_regions.py`` checks them against
``PhoneRecognizer`` itself.
"""

from __future__ import annotations

from typing import Any

import phonenumbers
from phonenumbers import NumberParseException
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

from redact_gw.detection.phone_plans import RegionGate, region_gate


class RegionGatedPhoneRecognizer(PhoneRecognizer):
    """``PhoneRecognizer`` (same name, context, score and results) that skips the
    regions whose numbering plan cannot fit the line."""

    def __init__(self, **kwargs: Any) -> None:
        """Same arguments as ``PhoneRecognizer``; the name stays "PhoneRecognizer"."""
        kwargs.setdefault("name", PhoneRecognizer.__name__)
        super().__init__(**kwargs)
        self.gate: RegionGate = region_gate(tuple(self.supported_regions), self.leniency)

    def analyze(self, text: str, entities: list[str],
                nlp_artifacts: NlpArtifacts = None) -> list[RecognizerResult]:  # type: ignore[assignment]
        """Presidio's ``PhoneRecognizer.analyze`` over the regions that can match."""
        regions = self.gate.possible(text)
        if len(regions) == len(self.supported_regions):
            full: list[RecognizerResult] = super().analyze(text, entities, nlp_artifacts)
            return full
        # Presidio 2.2's loop, over ``regions`` only. As there, a number that parses
        # sets the region named in the explanations of the next ones that do not.
        results: list[RecognizerResult] = []
        for matcher_region in regions:
            region: str | None = matcher_region
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
