"""Throughput measures that must not change what is found.

Batching several transcripts into one ``nlp.pipe``, the NER-only pipeline and the
line filter in front of Presidio's pattern recognizers are speed-ups only: these
tests hold them to "same spans as before". Plus the detection fixes found while
measuring (a number before an IBAN, letters glued to an identifier).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from redact_gw.detection import Detector
from redact_gw.detection.presidio_detector import PresidioDetector
from redact_gw.model import KnownValue, Segment

TRANSCRIPTS = [
    [Segment("Agent: can i have your name and card number", "agent"),
     Segment("Customer: sure its rebecca jones and the card is four one one one one one one"
             " one one one one one one one one one", "customer"),
     Segment("Agent: thanks ms jones", "agent")],
    [Segment("Email me at maria.garcia@example.com or call (415) 555-0199.", "customer")],
    [Segment("My SSN is 078-05-1120, IBAN GB29 NWBK 6016 1331 9268 19.\nI live in Boston.")],
    [Segment("server 10.44.203.17 has mac 00:1A:2B:3C:4D:5E, see https://example.org/x")],
    [Segment("thanks for calling how can i help you today"), Segment("just checking in")],
    [Segment("john dot smith at gmail dot com is my email and i was born march third"
             " nineteen eighty four")],
]


def test_a_batch_finds_what_each_transcript_finds_alone(detector: Detector) -> None:
    assert isinstance(detector, PresidioDetector)
    known = [KnownValue("PERSON", "Rebecca Jones")]
    jobs = [(t, known if i == 4 else []) for i, t in enumerate(TRANSCRIPTS)]
    alone = [detector.detect(t, k) for t, k in jobs]
    assert detector.detect_many(jobs) == alone
    assert all(alone[i] for i in (0, 1, 2, 3, 5))  # and they do find things


def test_only_the_components_ner_needs_are_loaded(detector: Detector) -> None:
    assert isinstance(detector, PresidioDetector)
    engine = detector.analyzer.nlp_engine
    pipeline = engine.pipeline  # type: ignore[attr-defined]
    assert pipeline.pipe_names == ["ner"]
    assert {"parser", "tagger", "lemmatizer"} <= set(engine.removed)  # type: ignore[attr-defined]


def test_the_line_filter_never_drops_a_presidio_result(detector: Detector) -> None:
    """Presidio with every recognizer, against Presidio behind the filter, line by line."""
    assert isinstance(detector, PresidioDetector)
    analyzer = detector.analyzer
    engine = analyzer.nlp_engine
    lines = [
        "card 4111 1111 1111 1111 exp 12/27", "ssn 078-05-1120", "itin 912-73-4481",
        "account 7730194428 routing 011000015", "passport A12345678",
        "IBAN GB29 NWBK 6016 1331 9268 19", "ip 10.44.203.17 and fe80::1ff:fe23:4567:890a",
        "mac 00:1A:2B:3C:4D:5E or 001a.2b3c.4d5e", "wallet 1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
        "call +44 20 7946 0958 or 030 1234567 or 212-555-0123", "mail bob@example.co.uk",
        "see www.example.com/path", "John Smith flew to Paris on March 3rd", "nothing here",
    ]
    for line in lines:
        doc = next(iter(engine.pipeline.pipe([line])))  # type: ignore[attr-defined]
        everything = analyzer.analyze(text=line, language="en",
                                      nlp_artifacts=engine.artifacts(doc))  # type: ignore[attr-defined]
        doc = next(iter(engine.pipeline.pipe([line])))  # type: ignore[attr-defined]
        wanted = detector._entities_for(line, doc)
        filtered = analyzer.analyze(text=line, language="en", entities=wanted,
                                    nlp_artifacts=engine.artifacts(doc))  # type: ignore[attr-defined]
        key = sorted((r.entity_type, r.start, r.end, r.score) for r in everything)
        assert sorted((r.entity_type, r.start, r.end, r.score) for r in filtered) == key, line


@pytest.mark.parametrize(("text", "value"), [
    ("My ITIN is 912-73-4481.\nIBAN GB29 NWBK 6016 1331 9268 19", "912-73-4481"),
    ("my passport number is 483920176. IBAN GB29 NWBK 6016 1331 9268 19", "483920176"),
])
def test_a_number_before_an_iban_is_not_taken_for_a_quantity(
        run: Callable[..., list[list[tuple[str, str]]]], text: str, value: str) -> None:
    found = run(text)[0]
    assert value in [v for _, v in found]
    assert ("IBAN_CODE", "GB29 NWBK 6016 1331 9268 19") in found


def test_a_quantity_word_right_after_a_number_still_counts(
        run: Callable[..., list[list[tuple[str, str]]]]) -> None:
    assert run("the plan gives you 16 gb of data")[0] == []


@pytest.mark.parametrize(("text", "value"), [
    ("member id XK4471229 please", "XK4471229"),
    ("policy PL-88213-7734 thanks", "PL-88213-7734"),
    ("passport A12345678 ok", "A12345678"),
    ("call (503) 555-0147 now", "(503) 555-0147"),
])
def test_letters_glued_to_an_identifier_are_inside_its_token(
        run: Callable[..., list[list[tuple[str, str]]]], text: str, value: str) -> None:
    assert value in [v for _, v in run(text)[0]]


def test_detect_each_answers_utterances_in_the_order_given_then_calls_shortest_first(
        detector: Detector) -> None:
    # the pool hands a batch over longest-waiting first: an utterance keeps its place
    # (a long one is not always last); transcripts of calls come after, shortest first
    assert isinstance(detector, PresidioDetector)
    call = [Segment("Agent: thanks for calling, how can i help you today. " * 25, "agent")]
    longer_call = [*call, Segment("Customer: my name is rebecca jones. " * 20, "customer")]
    jobs = [(longer_call, [])] + [(t, []) for t in TRANSCRIPTS] + [(call, [])]
    order = [i for i, _ in detector.detect_each(jobs)]
    assert order == [*range(1, len(TRANSCRIPTS) + 1), len(jobs) - 1, 0]
    sizes = [sum(len(s.text) for s in t) for t in TRANSCRIPTS]
    assert sizes != sorted(sizes)  # shortest first would answer them in another order
