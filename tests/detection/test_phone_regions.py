"""The region-gated phone recognizer returns Presidio's own results, region by region.

``RegionGatedPhoneRecognizer`` skips libphonenumber's matcher for regions whose
numbering plan cannot fit the line (``phone_plans``): checked against Presidio's ``PhoneRecognizer``
on libphonenumber's example numbers of every type (national and international
formats, short ones included) and on random lines of digits, separators and words.
"""

from __future__ import annotations

from typing import Any

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from presidio_analyzer import RecognizerResult
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

from redact_gw.detection import phone_regions
from redact_gw.detection.phone_regions import RegionGatedPhoneRecognizer

GATED = RegionGatedPhoneRecognizer()
PRESIDIO = PhoneRecognizer()
_TYPES = [v for k, v in vars(PhoneNumberType).items() if k.isupper() and isinstance(v, int)]


def _examples() -> list[str]:
    out = []
    regions = [*PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS, "AT", "IR", "LU", "NU", "SH", "BS"]
    for region in regions:
        for kind in _TYPES:
            num = phonenumbers.example_number_for_type(region, kind)
            if num is not None:
                for fmt in (PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL):
                    out.append(phonenumbers.format_number(num, fmt))
    for cc in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        num = phonenumbers.example_number_for_non_geo_entity(cc)
        if num is not None:
            out.append(phonenumbers.format_number(num, PhoneNumberFormat.INTERNATIONAL))
    return sorted(set(out))


EXAMPLES = _examples()


def _same(line: str) -> list[tuple[Any, ...]]:
    def key(results: list[RecognizerResult]) -> list[tuple[Any, ...]]:
        return [(r.entity_type, r.start, r.end, r.score,
                 r.analysis_explanation.textual_explanation if r.analysis_explanation else None,
                 (r.recognition_metadata or {}).get(RecognizerResult.RECOGNIZER_NAME_KEY))
                for r in results]
    gated = key(GATED.analyze(line, ["PHONE_NUMBER"]))
    presidio = key(PRESIDIO.analyze(line, ["PHONE_NUMBER"]))
    assert gated == presidio, line
    return gated


def test_same_name_and_context_as_presidio() -> None:
    assert GATED.name == "PhoneRecognizer"
    assert GATED.context == PRESIDIO.context


@pytest.mark.parametrize("number", EXAMPLES)
def test_example_numbers(number: str) -> None:
    for line in (f"call me on {number} please", f"{number}", f"born 1984, tel {number}"):
        _same(line)


def test_the_examples_are_found() -> None:
    found = [n for n in EXAMPLES if _same(f"call me on {n} please")]
    assert len(found) > len(EXAMPLES) // 2
    assert any(len([c for c in n if c.isdigit()]) < 8 for n in found)  # short ones too


def test_a_year_asks_only_the_regions_with_four_digit_numbers_and_a_box_none(
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    real = phonenumbers.PhoneNumberMatcher

    def spy(text: str, region: str, **kw: Any) -> Any:
        asked.append(region)
        return real(text, region, **kw)

    monkeypatch.setattr(phone_regions.phonenumbers, "PhoneNumberMatcher", spy)
    GATED.analyze("I was born in 1984 in Ulm", ["PHONE_NUMBER"])
    assert asked == ["DE"]
    asked.clear()
    assert GATED.analyze("PSC 4441, Box 4397", ["PHONE_NUMBER"]) == []
    assert asked == []
    asked.clear()
    GATED.analyze("call 212 555 0134", ["PHONE_NUMBER"])
    assert asked == list(PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS)


_PIECES = st.sampled_from(["+", "00", "011", "0", "1", "44", "49", "30", "212", "555",
                           "0134", "1234", "98", "7", "(", ")", "-", ".", " ", "/",
                           "ext", "x", "call", "tel", "\u2013"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.from_regex(r"[0-9]{1,6}", fullmatch=True)),
                min_size=1, max_size=10))
def test_random_lines(pieces: list[str]) -> None:
    _same("".join(pieces))
    _same(" ".join(pieces))
