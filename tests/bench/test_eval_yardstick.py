"""The external evaluation's yardstick: spoken rendering, gold-span mapping, metrics, split.

These need neither presidio-evaluator nor a model: they test the arithmetic that every
number of ``bench/eval_external.py`` rests on.
"""

from __future__ import annotations

import random

from bench.eval_metrics import Labeled, Tally, coverage, leak, pooled, score
from bench.eval_sources import broken, stratified_split, template_key, unescape_newlines
from bench.eval_spoken import render_spoken


def spoken(text: str, spans: list[tuple[int, int]], seed: int = 0) -> tuple[str, list[str]]:
    out, moved = render_spoken(text, spans, random.Random(seed))
    return out, [out[m[0]:m[1]] if m else "" for m in moved]


def test_spoken_sentence_is_lower_case_without_punctuation_or_digits() -> None:
    out, _ = spoken("Hi, I'm Dr. Ann Lee; I live at 6750 Main St., Boston, MA!", [])
    assert out == ("hi i'm doctor ann lee i live at sixty seven fifty main street "
                   "boston massachusetts")


def test_gold_spans_follow_the_rendering() -> None:
    text = ("Djevad R. Mitnjek's e-mail is john.smith@example.com, IP 10.0.0.1, "
            "IBAN GB82WEST12345698765432.")
    spans = [(0, 17), (30, 52), (57, 65), (72, 94)]
    assert [text[a:b] for a, b in spans] == [
        "Djevad R. Mitnjek", "john.smith@example.com", "10.0.0.1", "GB82WEST12345698765432"]
    out, values = spoken(text, spans)
    assert values == [
        "djevad r mitnjek",
        "john dot smith at example dot com",
        "ten dot zero dot zero dot one",
        "g b eight two w e s t one two three four five six nine eight seven six five four "
        "three two",
    ]
    assert out.startswith("djevad r mitnjek's e mail is john dot smith")
    assert spoken("Otavio is from Plc 'K'", [(0, 6)])[0] == "otavio is from plc k"


def read_digits(words: str) -> str:
    """Digits read one by one back to digits ("double five oh" -> "550")."""
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    out, times = "", 1
    for word in words.split():
        if word in ("double", "triple"):
            times = 2 if word == "double" else 3
        elif word != "plus":
            out += str(0 if word == "oh" else names.index(word)) * times
            times = 1
    return out


def test_spoken_numbers_keep_their_digits_countable() -> None:
    _, values = spoken("Call +44 20 7946 0958 or ZIP 02139, born 2/16/1942, 192.168.1.10",
                       [(5, 21), (29, 34), (41, 50), (52, 64)], seed=3)
    phone, zipcode, born, ip = values
    assert phone.startswith("plus ") and read_digits(phone) == "442079460958"
    assert read_digits(zipcode) == "02139"
    assert born == "february sixteenth nineteen forty two"
    assert ip.endswith("dot one dot ten") and " dot " in ip
    for value in values:
        assert not any(ch.isdigit() for ch in value)


def test_a_span_with_nothing_to_say_maps_to_none() -> None:
    out, moved = render_spoken("Address: -- none", [(9, 11), (12, 16)], random.Random(0))
    assert moved[0] is None
    assert moved[1] is not None and out[moved[1][0]:moved[1][1]] == "none"


def test_leak_any_and_leak_full_on_a_hand_built_sentence() -> None:
    text = "John Smith lives at 12 Main Street in Boston"
    gold = [Labeled(0, 10, "PERSON"), Labeled(20, 34, "ADDRESS"), Labeled(38, 44, "LOCATION")]
    tally = Tally()
    # "John" and "Boston" redacted, and the word "lives" by mistake.
    score(text, gold, [(0, 4), (11, 16), (38, 44)], tally)
    person, address, place = (tally.cells[e] for e in ("PERSON", "ADDRESS", "LOCATION"))
    assert (person.leak_any, person.leak_full) == (1, 0)  # "Smith" stays
    assert (address.leak_any, address.leak_full) == (1, 1)  # nothing redacted
    assert (place.leak_any, place.leak_full) == (0, 0)
    assert (tally.spans, tally.spans_on_gold) == (3, 2)
    assert (tally.tokens, tally.tokens_replaced) == (3, 1)  # lives, at, in
    assert (tally.pii_free, tally.pii_free_flagged) == (0, 0)
    both = pooled(tally, ["PERSON", "ADDRESS"])
    assert (both.values, both.leak_any, both.leak_full) == (2, 2, 1)


def test_only_letters_and_digits_count_and_unscored_labels_are_ignored() -> None:
    text = "Card: 4111-1111 at Acme Inc."
    mask = coverage(len(text), [(6, 10), (11, 15)])  # the dash stays, digits are covered
    assert leak(text, 6, 15, mask) == (False, False)
    assert leak(text, 4, 6, mask) is None  # ": " has nothing to leak
    tally = Tally()
    score(text, [Labeled(6, 15, "CREDIT_CARD"), Labeled(19, 27, None)], [(19, 23)], tally)
    assert tally.cells["CREDIT_CARD"].leak_any == 1
    assert set(tally.cells) == {"CREDIT_CARD"}
    assert (tally.spans, tally.spans_on_gold) == (1, 1)
    # "Card" and "at": the organization's words are not counted as non-PII words
    assert (tally.tokens, tally.tokens_replaced) == (2, 0)


def test_pii_free_sentences_flagged_when_anything_is_redacted() -> None:
    tally = Tally()
    score("How do I check my balance?", [], [], tally)
    score("Please restart the app.", [], [(7, 14)], tally)
    assert (tally.pii_free, tally.pii_free_flagged) == (2, 1)
    assert (tally.spans, tally.spans_on_gold) == (1, 0)


def test_template_split_is_stratified_by_rarest_type_and_fixed() -> None:
    assert template_key("My card {{CREDIT_CARD}} expires soon \u05df\u00bf\u00bd when?") == \
        template_key("My card {{CREDIT_CARD}} expires soon \ufffd when?")
    templates = [f"my iban is {{{{IBAN_CODE}}}} version {i}" for i in range(3)] + [
        "I'm {{PERSON}}, my IP is {{IP_ADDRESS}}", "{{PERSON}} was here",
        "Call {{PERSON}} at {{PHONE_NUMBER}}", "Thanks!"]
    split = stratified_split(templates)
    assert len(split) == 7
    iban = [split[template_key(t)] for t in templates[:3]]
    assert sorted(iban) == ["dev", "dev", "test"]  # a third of the group, at least one dev
    # Alone in their group (rarest type IP, phone; no type): dev, so tuning can see them.
    assert split[template_key(templates[3])] == "dev"
    assert split[template_key("Thanks!")] == "dev"
    # Changing the key or the hash moves templates between dev and test: it must not.
    assert iban == ["dev", "test", "dev"]


def test_generator_literal_newlines_become_line_breaks_with_spans_moved() -> None:
    text = "Name:\\nAmber Lee\\n0681 Main St"
    spans = [(7, 16, "PERSON"), (18, 30, "STREET_ADDRESS")]
    assert [text[a:b] for a, b, _ in spans] == ["Amber Lee", "0681 Main St"]
    new, moved = unescape_newlines(text, spans)
    assert new == "Name:\nAmber Lee\n0681 Main St"
    assert [new[a:b] for a, b, _ in moved] == ["Amber Lee", "0681 Main St"]


def test_templates_with_unfilled_single_brace_placeholders_are_broken() -> None:
    assert broken("The corner of {street_name} and {street_name}")
    assert not broken("The corner of {{street_name}} and {{street_name}}")
    assert not broken("My card {{CREDIT_CARD}} expires")


def test_render_maps_labels_and_targets_compare_pooled_leaks() -> None:
    from bench.eval_external import TARGETS, render, target_value
    from bench.eval_sources import Gold, Sample

    text = "Mr. Ole Berg, 4 Elm St, Oslo, card 4111 1111 1111 1111, age 40"
    gold = (Gold(4, 12, "PERSON"), Gold(14, 22, "STREET_ADDRESS"), Gold(24, 28, "GPE"),
            Gold(35, 54, "CREDIT_CARD"), Gold(60, 62, "AGE"), Gold(0, 3, "TITLE"))
    written, = render([Sample(text, gold, "t")], "written", "s")
    assert [(g.entity, text[g.start:g.end]) for g in written.gold] == [
        ("PERSON", "Ole Berg"), ("ADDRESS", "4 Elm St"), ("LOCATION", "Oslo"),
        ("CREDIT_CARD", "4111 1111 1111 1111"), (None, "40"), (None, "Mr.")]
    spoken_item, = render([Sample(text, gold, "t")], "spoken", "s")
    assert [spoken_item.text[g.start:g.end] for g in spoken_item.gold][:3] == [
        "ole berg", "four elm street", "oslo"]

    tally = Tally()
    card = (35, 54)
    score(written.text, written.gold, [(4, 12), card], tally)  # address and city leak
    by_name = {(t.name, t.renderings): t for t in TARGETS}
    structured = by_name[("structured identifiers", ("written", "spoken"))]
    assert target_value(tally, structured) == 0.0  # the card: at the 0% limit, a pass
    places = by_name[("addresses+postcodes", ("written",))]
    assert target_value(tally, places) == 1.0
    assert target_value(tally, by_name[("PII-free sentences flagged", ("written", "spoken"))]
                        ) is None  # no PII-free sentence: nothing to compare
