"""A town beside a postcode of its country: both redacted, also when the town is a
common word or a person's name ("Paris", "Nice", "Reading", "Mobile", "Jackson"); and
the look-alikes (a name, a count, a phone label, a score) left in clear."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from redact_gw.detection import Detector, gazetteer, town_postcodes
from redact_gw.detection.nlp import TranscriptNlpEngine
from redact_gw.detection.presidio_detector import PresidioDetector
from redact_gw.detection.view import build_view
from redact_gw.model import Segment

Clear = Callable[[str], str]


@pytest.fixture(scope="module")
def clear(detector: Detector) -> Clear:
    """The text with every redacted character replaced by "#"."""
    def go(text: str) -> str:
        chars = list(text)
        for span in detector.detect([Segment(text, "customer")])[0]:
            chars[span.start:span.end] = "#" * (span.end - span.start)
        return "".join(chars)
    return go


def _left(clear_text: str, original: str, value: str) -> str:
    """The letters and digits of ``value`` (its first occurrence) left in clear."""
    at = original.index(value)
    return re.sub(r"\W", "", clear_text[at:at + len(value)].replace("#", ""))


@pytest.mark.parametrize(("text", "town", "code"), [
    # the issue: a town that is a common word, the code after it, no cue
    ("Paris 75001 is where I live", "Paris", "75001"),
    ("I live in Paris 75001", "Paris", "75001"),
    ("my address is in Paris, 75001", "Paris", "75001"),
    ("Nice 06000", "Nice", "06000"),
    ("I moved to Nice 06000 last year", "Nice", "06000"),
    ("I'm from Reading RG1 1AA", "Reading", "RG1 1AA"),
    ("I live in Reading, RG1 1AA", "Reading", "RG1 1AA"),
    ("Mobile, AL 36602", "Mobile", "36602"),
    ("I live in Mobile 36602", "Mobile", "36602"),
    ("moved to Mobile AL 36602-1234", "Mobile", "36602-1234"),
    ("Buffalo NY 14201", "Buffalo", "14201"),
    ("Phoenix 85001 is home", "Phoenix", "85001"),
    ("Lincoln LN1 1AA", "Lincoln", "LN1 1AA"),
    # the two halves of a lettered code apart by more than one space (a typed form)
    ("My address: Reading RG1  1AA.", "Reading", "RG1  1AA"),
    # a town that is a person's name
    ("Jackson 39201", "Jackson", "39201"),
    ("I'm in Jackson, MS 39201", "Jackson", "39201"),
    ("Florence 50122, Italy", "Florence", "50122"),
    # a town that is a verb, first in its sentence, in an address line
    ("Split 21000, Croatia", "Split", "21000"),
    ("Split 21000", "Split", "21000"),
    ("I loved Split 21000 in May", "Split", "21000"),
    ("Victoria, BC V8W 1P6", "Victoria", "V8W 1P6"),
    ("from Sydney NS B1P 1A1", "Sydney", "B1P 1A1"),
    # the code first, as most of Europe writes it
    ("75001 Paris is where I live", "Paris", "75001"),
    ("06000 Nice", "Nice", "06000"),
    ("10115 Berlin", "Berlin", "10115"),
    ("I live in 75016 Paris", "Paris", "75016"),
    # spoken: a common word needs its place cue, a spoken UK code is letters and digits
    ("paris seven five zero zero one", "paris", "seven five zero zero one"),
    ("i live in paris seven five zero zero one", "paris", "seven five zero zero one"),
    ("i moved to nice zero six zero zero zero last year", "nice", "zero six zero zero zero"),
    ("i'm from jackson three nine two zero one", "jackson", "three nine two zero one"),
    ("i live in reading r g one one a a", "reading", "r g one one a a"),
    ("i live in victoria v eight w one p six", "victoria", "v eight w one p six"),
    ("we moved to buffalo one four two zero one", "buffalo", "one four two zero one"),
    ("i moved to berlin one zero one one five", "berlin", "one zero one one five"),
])
def test_town_and_postcode_are_both_redacted(clear: Clear, text: str, town: str,
                                             code: str) -> None:
    redacted = clear(text)
    assert _left(redacted, text, town) == "", redacted
    assert _left(redacted, text, code) == "", redacted


@pytest.mark.parametrize(("text", "town"), [
    ("I'm from Reading", "Reading"),
    ("we moved to Reading", "Reading"),
    ("I moved to Mobile last year", "Mobile"),
    ("she lives in Sydney", "Sydney"),
    ("I moved to Nice", "Nice"),
])
def test_town_that_is_a_word_after_a_residence_phrase(clear: Clear, text: str,
                                                      town: str) -> None:
    assert _left(clear(text), text, town) == ""


@pytest.mark.parametrize(("text", "kept"), [
    ("Paris Hilton was at the party", "Paris"),  # a name, no postcode
    ("reading 12345 lines of code", "reading 12345 lines"),
    ("Reading 12345 lines of code", "Reading 12345 lines"),
    ("mobile 5 bars", "mobile 5 bars"),
    ("In France 3500 stores closed", "3500 stores"),
    ("score was 12 34 56", "12 34 56"),
    ("Phoenix 20000 people live there", "20000 people"),
    ("Paris 12000 euros", "12000 euros"),
    ("Split 21000 ways", "Split 21000 ways"),
    # a common word and a verb first in its sentence: its capital says nothing
    ("Split 21000 was great", "Split 21000"),
    ("We flew home. Split 21000 was great", "Split 21000"),
    ("Jackson 392 01 is it", "392 01"),  # written apart: no five-digit code
    # the country's postcodes have another shape: Store (Slovenia), Time (Norway)
    ("Store 12345 is closed", "Store 12345"),
    ("Time 12345 is up", "Time 12345"),
    # speech: a common word without a place cue may be praise
    ("nice zero six zero zero zero", "nice zero six zero zero zero"),
    ("reading one two three four five", "reading one two three four five"),
    ("What a nice day", "nice"),
    ("Nice 3 points for that", "Nice 3 points"),
])
def test_look_alikes_stay_in_clear(clear: Clear, text: str, kept: str) -> None:
    redacted = clear(text)
    at = text.index(kept)
    assert redacted[at:at + len(kept)] == kept, redacted


def test_a_phone_after_the_label_mobile_is_no_postcode(detector: Detector) -> None:
    text = "Mobile 36602"
    [spans] = detector.detect([Segment(text, "customer")])
    assert all(s.entity_type != "ZIP_CODE" for s in spans)
    assert all(text[s.start:s.end] != "Mobile" for s in spans)


def test_stop_word_street_suffix_in_lower_case_is_no_address(detector: Detector) -> None:
    """"Is" is Publication 28's abbreviation of Island; in lower case it is the verb."""
    text = "75001 Paris is where I live"
    [spans] = detector.detect([Segment(text, "customer")])
    assert all("is" not in text[s.start:s.end].split() for s in spans)
    assert {text[s.start:s.end] for s in spans} >= {"75001", "Paris"}


@pytest.mark.parametrize(("place", "code", "fits"), [
    ("nice", "06000", True),        # France: five digits
    ("paris", "75001", True),
    ("reading", "RG1 1AA", True),   # Great Britain
    ("victoria", "V8W 1P6", True),  # Canada
    ("mobile", "36602-1234", True),  # US ZIP+4
    ("time", "12345", False),       # Norway: four digits
    ("store", "12345", False),
    ("paris", "SW1A 1AA", False),   # no Paris in Great Britain
    ("nowhere-in-particular", "12345", False),
])
def test_postcode_fits_the_places_country(place: str, code: str, fits: bool) -> None:
    assert gazetteer.load().postcode_fits(place, code) is fits


@pytest.mark.parametrize(("place", "code", "fits"), [
    ("akureyri", "603", True),     # Iceland: three digits
    ("solothurn", "4501", True),   # Switzerland: four digits
    ("london", "1234", False),     # Great Britain and Canada write letters
    ("split", "21000", False),     # a common word: its capitals must tell, not this
    ("boston", "2024", False),
])
def test_rare_town_code_needs_a_rare_town_and_its_countrys_shape(
        place: str, code: str, fits: bool) -> None:
    assert gazetteer.load().rare_town_code(place, code) is fits


@pytest.mark.parametrize(("text", "verbs", "paired"), [
    ("Split 21000 was great", frozenset(), True),
    ("Split 21000 was great", frozenset({"split"}), False),
    ("I loved Split 21000 in May", frozenset({"split"}), True),  # not first: a name
    ("Paris 75001 is where I live", frozenset({"split"}), True),
])
def test_a_verb_first_in_its_sentence_is_no_town(text: str, verbs: frozenset[str],
                                                 paired: bool) -> None:
    got = town_postcodes.candidates(0, build_view(text), gazetteer.load(), verbs)
    assert bool(got) is paired


def test_the_engine_reads_the_models_verbs(detector: Detector) -> None:
    assert isinstance(detector, PresidioDetector)
    engine = detector.analyzer.nlp_engine
    assert isinstance(engine, TranscriptNlpEngine)
    assert "split" in engine.verbs
    assert "paris" not in engine.verbs
