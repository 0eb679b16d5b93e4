"""The pure hold-back rules of live partials."""

from __future__ import annotations

from redact_gw.live.holdback import diff, digit_runs, hold_from, render, safe_cut
from redact_gw.model import Span


def _held(text: str) -> str:
    return text[hold_from(text):]


def test_trailing_word_and_value_chains_are_held() -> None:
    assert _held("we are about") == "about"
    assert _held("my card is four one one one") == "four one one one"
    assert _held("my card is 4111 1111 12") == "4111 1111 12"
    assert _held("call me on five five okay") == "five five okay"
    assert _held("this is Maria Garc") == "Maria Garc"
    # both sides of a connector: parts of a spoken email
    assert _held("my email is jane dot doe at example d") == "jane dot doe at example d"
    assert _held("my email is jane d") == "jane d"  # "d" may become "dot"
    assert _held("look at this thing") == "look at this thing"
    assert _held("look at this thing here") == "here"
    assert _held("done") == "done"
    assert hold_from("anything at all", final=True) == len("anything at all")


def test_value_crossing_the_cut_is_held_whole() -> None:
    text = "mail jane@x.com now please"
    span = Span(5, 15, "EMAIL_ADDRESS", 0.9, "t")
    assert safe_cut(10, [span]) == 5
    assert render(text, [span], len("mail jane@x.com now ")) == "mail [[EMAIL_ADDRESS]] now "


def test_digit_runs_are_masked_in_partials_even_when_undetected() -> None:
    text = "it is four one one one well five and 12 34 ok "
    assert [text[r.start:r.end] for r in digit_runs(text)] == ["four one one one", "12 34"]
    assert render(text, [], len(text)) == "it is [[NUMBER]] well five and [[NUMBER]] ok "


def test_diff_says_what_it_replaces_and_never_splits_a_mask() -> None:
    assert diff("hello ", "hello there ") == (6, "there ")
    assert diff("we want to by ", "we want to buy ") == (12, "uy ")
    assert diff("is [[PERSON]] ", "is [[PERSON:abc]] ") == (3, "[[PERSON:abc]] ")
    assert diff("same", "same") == (4, "")
