"""Names and places in lowercase speech, spelled names, speaker labels."""

from __future__ import annotations

from collections.abc import Callable

import pytest

One = Callable[[str], list[tuple[str, str]]]
Run = Callable[..., list[list[tuple[str, str]]]]


@pytest.mark.parametrize(("text", "name"), [
    ("hi my name is rebecca okonkwo and i have a question", "rebecca okonkwo"),
    ("am i speaking with mister tobias lindqvist", "tobias lindqvist"),
    ("this is sarah speaking how can i help", "sarah"),
    ("my last name is przybylski", "przybylski"),
    ("yes it's hiroshi van der berg", "hiroshi van der berg"),
])
def test_introduced_lowercase_names(one: One, text: str, name: str) -> None:
    assert ("PERSON", name) in one(text)


def test_spelled_name_and_the_name_it_confirms(one: One) -> None:
    got = one("hey yolanda villanueva, v i l l a n u e v a")
    assert ("PERSON", "yolanda villanueva") in got
    assert ("PERSON", "v i l l a n u e v a") in got


@pytest.mark.parametrize("text", [
    "i'm calling about my bill", "this is great news", "i'm fine thanks",
    "thanks, ticket number is ready", "it is what it is",
])
def test_trigger_words_before_ordinary_words(one: One, text: str) -> None:
    assert [e for e, _ in one(text) if e == "PERSON"] == []


def test_answer_to_a_name_question(run: Run) -> None:
    got = run("Agent: can i have your full name please", "Customer: yeah imani thistlewood",
              speakers=["agent", "customer"])
    assert got[1] == [("PERSON", "imani thistlewood")]


def test_place_after_trigger(one: One) -> None:
    assert ("LOCATION", "santa fe") in one("i'm calling from santa fe about my order")


def test_street_address(one: One) -> None:
    got = one("ship it to seven four two evergreen terrace apartment four b")
    assert ("ADDRESS", "seven four two evergreen terrace apartment four b") in got


def test_speaker_label_is_never_swallowed(run: Run) -> None:
    text = "Agent: may i have your first name\nCustomer: rebecca\nCustomer: hi there"
    (got,) = run(text)
    assert got == [("PERSON", "rebecca")]


def test_name_before_a_speaker_label_on_the_next_line(detector: object) -> None:
    from redact_gw.model import Segment
    text = "Agent: who am i speaking with\nCustomer: it's Rebecca Jones\nCustomer: hi"
    (spans,) = detector.detect([Segment(text)])  # type: ignore[attr-defined]
    for s in spans:
        assert "\n" not in text[s.start:s.end] and "Customer" not in text[s.start:s.end]
    assert ("PERSON", "Rebecca Jones") in [(s.entity_type, text[s.start:s.end]) for s in spans]


def test_name_on_the_account(one: One) -> None:
    assert one("yeah so uh the name on the account is gonzalo ibarra") == [
        ("PERSON", "gonzalo ibarra")]


@pytest.mark.parametrize(("text", "name"), [
    ("my wife priscilla called about the bill", "priscilla"),
    ("my husband john has the card", "john"),
    ("My daughter Emma is on the account", "Emma"),
    ("my brother dmitri okonkwo lives there", "dmitri okonkwo"),
])
def test_a_name_after_a_relation_word_is_found(run: Run, text: str, name: str) -> None:
    assert ("PERSON", name) in run(text)[0]


@pytest.mark.parametrize("text", [
    "my wife wants to cancel", "my son just moved out", "my mom said it was fine",
    "my partner paid it", "my husband thinks so", "my wife called yesterday",
    "i need to add my wife to the account", "my son xbox live subscription",
    "my daughter iphone is broken", "my husband amazon account got hacked",
])
def test_a_verb_or_a_thing_after_a_relation_word_is_not_a_name(run: Run, text: str) -> None:
    assert [v for t, v in run(text)[0] if t == "PERSON"] == []
