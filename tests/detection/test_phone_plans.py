"""The numbering-plan gate never skips a region whose matcher would find a number.

``RegionGate.possible(line)`` is compared, region by region, with libphonenumber's own
``PhoneNumberMatcher`` (Presidio's leniency) run ungated, for Presidio's default regions
and for eight others with unusual plans (Argentina rewrites its national prefix, Australia
and China have international prefixes starting with "1", Russia's is "810"...): on the
example number of every
type of every region and non-geographic code, written nationally, internationally, in
E.164 and in RFC 3966, beside years, cards and dates; and on random lines built from
international and national prefixes, country codes, digit groups in several scripts,
separators, plus signs and extension markers.
"""

from __future__ import annotations

from typing import Any

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

from redact_gw.detection import entities as E
from redact_gw.detection.pattern_gates import possible
from redact_gw.detection.phone_plans import PLUS_CHARS, RegionGate, region_gate

REGIONS = PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS
OTHERS = ("AR", "AU", "JP", "RU", "CN", "KR", "IT", "SG")
GATE = region_gate(REGIONS, 1)
_TYPES = [v for k, v in vars(PhoneNumberType).items() if k.isupper() and isinstance(v, int)]
_FORMATS = (PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL,
            PhoneNumberFormat.E164, PhoneNumberFormat.RFC3966)


def _found_by(line: str, regions: tuple[str, ...]) -> list[str]:
    """The regions whose (ungated) matcher finds a number in ``line``."""
    return [r for r in regions
            if any(True for _ in phonenumbers.PhoneNumberMatcher(line, r, leniency=1))]


def _check(line: str, regions: tuple[str, ...] = REGIONS) -> list[str]:
    found = _found_by(line, regions)
    fresh = RegionGate(regions, 1)  # no answer kept from an earlier line
    assert set(found) <= set(fresh.possible(line)), (line, regions)
    return found


def _examples() -> list[Any]:
    nums = [phonenumbers.example_number_for_type(region, kind)
            for region in sorted(phonenumbers.SUPPORTED_REGIONS) for kind in _TYPES]
    nums += [phonenumbers.example_number_for_non_geo_entity(cc)
             for cc in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS]
    return [n for n in nums if n is not None]


def _written() -> list[str]:
    out = {phonenumbers.format_number(n, f) for n in _examples() for f in _FORMATS}
    return sorted(out)


WRITTEN = _written()


@pytest.mark.parametrize("chunk", range(8))
def test_every_example_number_of_every_region(chunk: int) -> None:
    found = 0
    for number in WRITTEN[chunk::8]:
        found += bool(_check(f"call me on {number} please"))
        no_plus = number.lstrip(PLUS_CHARS)
        _check(f"dial 00{no_plus} or 011 {no_plus} from abroad, born 1984")
    assert found > len(WRITTEN[chunk::8]) // 3  # the check is not vacuous


@pytest.mark.parametrize("chunk", range(4))
def test_every_example_number_for_other_plans(chunk: int) -> None:
    found = 0
    for number in WRITTEN[chunk::4]:
        found += bool(_check(f"call me on {number} please", OTHERS))
    assert found > len(WRITTEN[chunk::4]) // 3


def test_the_gate_skips_what_cannot_be_a_number() -> None:
    assert GATE.possible("I was born in 1984 in Ulm") == ("DE",)
    assert GATE.possible("the address is 5638 Aasa 43") == ()
    assert GATE.possible("Date: 1985-11-18 22:50:23") == ("GB", "DE", "FR", "IL", "IN", "BR")
    assert GATE.possible("Mobile: 606 490 378") == ("DE", "FR", "BR")
    assert GATE.possible("call 212 555 0134") == REGIONS
    assert GATE.possible("call +1 212 555 0134") == REGIONS
    assert GATE.possible("call \uff0b44 20 7946 0958") == REGIONS


def test_a_line_no_region_can_match_does_not_ask_presidio_for_phone_numbers() -> None:
    assert E.PHONE_NUMBER not in possible("PSC 4441, Box 4397", [E.PHONE_NUMBER])
    assert E.PHONE_NUMBER in possible("call 212 555 0134", [E.PHONE_NUMBER])


def test_a_lenient_matcher_is_only_gated_by_length() -> None:
    lenient = RegionGate(REGIONS, 0)  # possible numbers need not be valid ones
    assert lenient.possible("the address is 5638 Aasa 43") == ("DE",)
    assert RegionGate(("US", "ZZ"), 1).possible("12") == ("ZZ",)  # unknown: always asked


_IDD = st.sampled_from(["00", "011", "010", "012", "0015", "0021", "0011", "810", "17900",
                        "+", "\uff0b", "+ ", "(+"])
_CODE = st.sampled_from(["1", "44", "49", "33", "972", "91", "55", "41", "800", "7", "54", "61",
                         "81", "86", "82", "39", "65"])
_GROUP = st.from_regex(r"[0-9]{1,5}", fullmatch=True)
_SCRIPT = st.sampled_from([str.maketrans("0123456789", "\u0660\u0661\u0662\u0663\u0664"
                                         "\u0665\u0666\u0667\u0668\u0669"),
                           str.maketrans("0123456789", "".join(map(chr, range(0xFF10, 0xFF1A)))),
                           str.maketrans("", "")])
_SEP = st.sampled_from([" ", "-", ".", "/", "(", ")", " (0)", "\u2013", "", "", "x", "xx",
                        " ext ", " ext. ", "#", ", ", " and ", ":", "\u00a0"])
_WORD = st.sampled_from(["call", "tel", "phone", "card", "on", "Box", "ext", "born", ""])


@st.composite
def _lines(draw: st.DrawFn) -> str:
    parts: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        parts.append(draw(_WORD))
        if draw(st.booleans()):
            parts.append(draw(_IDD) + draw(_CODE) + draw(_SEP))
        elif draw(st.booleans()):
            parts.append(draw(st.sampled_from(["0", "1", "8", "9", "90", "015 ", "0 11 15 "])))
        groups = draw(st.lists(_GROUP, min_size=1, max_size=5))
        seps = [draw(_SEP) for _ in groups]
        parts.append("".join(g + s for g, s in zip(groups, seps, strict=True)))
    return " ".join(parts).translate(draw(_SCRIPT))


@settings(max_examples=300, deadline=None)
@given(_lines(), st.sampled_from([REGIONS, OTHERS]))
def test_random_numbers_never_lose_a_region(line: str, regions: tuple[str, ...]) -> None:
    _check(line, regions)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789 +-.()/x#", min_size=6, max_size=30),
       st.sampled_from([REGIONS, OTHERS]))
def test_random_digit_soup_never_loses_a_region(line: str, regions: tuple[str, ...]) -> None:
    _check(line, regions)


@pytest.mark.parametrize("sep", ["\u00ad", "\u200b", "\u2060", "\uff0e"])
def test_numbers_split_by_libphonenumbers_invisible_punctuation_keep_their_region(sep: str) -> None:
    # libphonenumber's punctuation holds the soft hyphen, zero-width space, word joiner
    # and fullwidth full stop: a number split by them is still one number to the matcher
    line = f"call me at 212{sep}555{sep}0123"
    assert "US" in _check(line)
    assert "US" in RegionGate(REGIONS, 1).possible(line)
