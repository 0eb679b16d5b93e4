"""The gates before the per-turn patterns of the transcript recognizers skip scans,
never a value.

Each gate claims: when it fails, its pattern has no match (or every match would be
dropped). Checked against the patterns on random texts of the words they look for, in
any case, with characters ``IGNORECASE`` folds onto ASCII letters; and the recognizers
still find values those characters make.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from redact_gw.detection import dates, spoken, spoken_ids
from redact_gw.detection.context import TranscriptContext
from redact_gw.detection.view import build_view

_WORDS = sorted({
    "january", "May", "MAR", "sept", "dec", "the", "of", "fourth", "twenty", "first",
    "3", "12", "1984", "4/2/1937", "2000-11-13", "12.03.99", "3-4", "7th", "21st", ",",
    "password", "pass", "word", "pin", "PIN", "api", "key", "api_key", "secret", "access",
    "token", "is", ":", "=", "hunter2", "pwd", "one", "nine", "two", "dot", "point",
    "period", ".", "Dot", "192", "168", "1", "20", "oh", "\u017fept", "\u017fecret",
    "ma\u0131", "pa\u017f\u017fword", "po\u0131nt", "\u212aey", "é", "-", "\n",
})
_text = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=12).map(" ".join)


@settings(max_examples=500, deadline=None)
@given(_text)
def test_date_gates_never_skip_a_match(text: str) -> None:
    if not dates.may_name_month(text):
        assert dates.MONTH_DAY_RE.search(text) is None
    if dates._WRITTEN_HINT.search(text) is None:
        assert dates.WRITTEN_RE.search(text) is None
    two = spoken._TWO_DIGITS_RE.search(text) is not None
    if not (two and (spoken._NUMERIC_DATE_RE.search(text)
                     or spoken._may_name(text, spoken._MONTH_NAMES))):
        assert spoken.DATE_RE.search(text) is None


@settings(max_examples=500, deadline=None)
@given(_text)
def test_password_gate_never_skips_a_match(text: str) -> None:
    if not spoken._may_name(text, spoken._PASSWORD_PIECES):
        assert spoken.PASSWORD_RE.search(text) is None


@settings(max_examples=300, deadline=None)
@given(_text)
def test_ip_gate_skips_only_matches_that_are_dropped(text: str) -> None:
    view = build_view(text)
    low = view.text.lower()
    if "dot" not in low and "point" not in low and "period" not in low:
        for m in spoken_ids.IPV4_RE.finditer(view.text):
            word = m.group().lower()
            assert "dot" not in word and "point" not in word and "period" not in word


@settings(max_examples=300, deadline=None)
@given(_text)
def test_ipv6_number_count_is_the_kind_count(text: str) -> None:
    toks = build_view(text).tokens
    every = [spoken_ids._hex_kind(t) for t in toks]
    assert spoken_ids.number_words(toks) == every.count(1)


def _recognized(text: str) -> list[str]:
    view = build_view(text)
    ctx = TranscriptContext([text], [view.tokens])
    cands = [*dates.date_candidates(0, view, ctx), *spoken.date_candidates(0, view, ctx),
             *spoken.password_candidates(0, view)]
    return [text[c.start:c.end] for c in cands]


def test_values_still_found() -> None:
    assert _recognized("born on 4/2/1937") == ["4/2/1937"]
    assert _recognized("it was may 21st") == ["may 21st"]
    assert _recognized("my password is hunter22") == ["hunter22"]


def test_non_ascii_text_is_scanned_as_before() -> None:
    # IGNORECASE reads the long s as "s": a str.lower gate would have skipped both
    assert _recognized("my pa\u017f\u017fword is hunter22") == ["hunter22"]
    assert _recognized("on \u017feptember third") == ["\u017feptember third"]
    assert _recognized("born \u017fept 3rd 1999") == ["\u017fept 3rd 1999"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abc xyz,.'-\n\té4", max_size=60))
def test_a_view_without_runs_is_the_text_itself(text: str) -> None:
    view = build_view(text)
    if not view.runs:
        assert view.text == text
        assert view.starts == tuple(range(len(text)))
        assert view.ends == tuple(range(1, len(text) + 1))
        if text:
            assert view.to_original(0, len(text)) == (0, len(text))
