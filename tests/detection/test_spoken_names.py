"""Names in lower-case speech without an introduction (``detection/spoken_names.py``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

One = Callable[[str], list[tuple[str, str]]]


def _people(found: list[tuple[str, str]]) -> list[str]:
    return [value for entity, value in found if entity == "PERSON"]


@pytest.mark.parametrize(("text", "name"), [
    ("why is wojciechowska always so quiet", "wojciechowska"),
    ("why is zdeňka so tired today", "zdeňka"),
    ("that is what brzęczyszczykiewicz told the team", "brzęczyszczykiewicz"),
    ("it was kasumi's idea from the start", "kasumi"),
])
def test_lone_words_no_english_word_list_holds_are_redacted(one: One, text: str,
                                                            name: str) -> None:
    """Whole, as a name or (where spaCy's NER says so) as a place: never in clear."""
    assert name in [value for _entity, value in one(text)]


@pytest.mark.parametrize(("text", "name"), [
    ("i think ottilie kwiatkowska should get the refund", "ottilie kwiatkowska"),
    ("the account is for hedda q marttinen", "hedda q marttinen"),
    ("the van der hoeven plan covers marijke van der hoeven", "marijke van der hoeven"),
])
def test_names_no_english_word_list_holds(one: One, text: str, name: str) -> None:
    assert name in _people(one(text))


def test_a_name_is_never_cut_inside_a_word(one: One) -> None:
    """Letters outside ASCII do not end a span: nothing of the name stays in clear."""
    people = _people(one("friends call me dobrosław most days"))
    assert people == ["dobrosław"]


@pytest.mark.parametrize(("text", "name"), [
    ("mister fox will call you back", "fox"),
    ("i spoke to missus long this morning", "long"),
])
def test_census_names_after_a_title(one: One, text: str, name: str) -> None:
    assert name in _people(one(text))


def test_a_census_surname_joined_by_and_to_a_found_name(one: One) -> None:
    people = " ".join(_people(one("the shop was started by grzegorczyk and jones in a garage")))
    assert "grzegorczyk" in people and "jones" in people


@pytest.mark.parametrize("text", [
    "will you mark the date in june and grant them access",
    "i miss the bus and the doctor said rest",
    "we are speaking to bots about the orchestra and the salesperson",
    "bill me for the rose bushes and the long hose",
    "the little park and the white house",
])
def test_words_that_are_also_names_stay_words(one: One, text: str) -> None:
    assert _people(one(text)) == []


def test_written_names_do_not_grow_over_lower_case_words(one: One) -> None:
    people = _people(one("Yesterday Eulalia Brzozowska said sorry"))
    assert people == ["Eulalia Brzozowska"]


@pytest.mark.parametrize(("text", "name"), [
    ("Please put it through to Mrs. Fields today.", "Fields"),
    ("Szczygielska started the project in March.", "Szczygielska"),
])
def test_written_title_names_and_first_words(one: One, text: str, name: str) -> None:
    assert name in _people(one(text))


@pytest.mark.parametrize("text", [
    "Dr. Strange is showing at the cinema tonight.",
    "Yesterday the parcel arrived.",
    "Kubernetes runs the containers.",
])
def test_written_words_after_titles_and_first_words_stay(one: One, text: str) -> None:
    assert _people(one(text)) == []


def test_a_name_recurs_whole_with_letters_outside_ascii() -> None:
    from redact_gw.detection import recurrence
    from redact_gw.detection.view import build_view
    from redact_gw.model import KnownValue

    needles = recurrence.collect([], [], [KnownValue("PERSON", "Åsa Lindström")])
    text = "then åsa said lindström would call"
    hits = recurrence.find(0, build_view(text), needles)
    assert sorted(text[c.start:c.end] for c in hits) == ["lindström", "åsa"]


@pytest.mark.parametrize("text", [
    "write to us at kestrelbrook dot net any time",
    "the shop is www dot quillonmere dot co dot uk now",
])
def test_words_of_a_spoken_web_address_are_no_names(one: One, text: str) -> None:
    """A domain word beside a spoken "dot" is no name, however unknown the word."""
    assert _people(one(text)) == []


@pytest.mark.parametrize(("text", "name"), [
    ("i'm calling on behalf of wojtkowiak about the refund", "wojtkowiak"),
    ("we booked it for the family of ogrodniczuk last week", "ogrodniczuk"),
])
def test_a_name_after_of(one: One, text: str, name: str) -> None:
    """"of" introduces people as often as places: a word no English word list or
    place list holds is not left in clear after it."""
    assert name in _people(one(text))


def test_of_after_a_place_noun_still_introduces_a_place(one: One) -> None:
    """"the town of brzeszcze": no name reading competes with the place."""
    from redact_gw.detection import spoken_names, truecase
    from redact_gw.detection.gazetteer import load

    text = "she grew up in the town of brzeszcze near the river"
    [line] = truecase.split_lines(text)
    assert spoken_names.name_runs(0, line, load()) == []
    assert ("LOCATION", "brzeszcze") in one(text)


@pytest.mark.parametrize(("text", "name"), [
    ("Thanks. Meredith will call you back tomorrow.", "Meredith"),
    ("Understood! Gallagher approved the refund yesterday.", "Gallagher"),
])
def test_written_name_starting_a_sentence_inside_a_line(one: One, text: str,
                                                        name: str) -> None:
    """A sentence's capital says nothing, wherever the sentence starts: a census name
    that is rarely a word, or a word no English word list holds, is a name there."""
    assert name in _people(one(text))


@pytest.mark.parametrize("text", [
    "It rained. Gray clouds stayed all day. Olive oil is on the list.",
    "Just visit www.KnotFinder.com today.",
])
def test_written_sentence_starts_that_are_words_stay(one: One, text: str) -> None:
    """A census name that is also a common word ("Gray", "Olive") starts sentences as a
    word; a dot inside a web address ends no sentence."""
    assert _people(one(text)) == []
