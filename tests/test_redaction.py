from hypothesis import given
from hypothesis import strategies as st

from redact_gw.model import Revealed, Span
from redact_gw.redaction import apply_tokens, mask, normalize, pending_values, restore
from redact_gw.tokens import format_token


def test_normalize_groups_spellings_of_one_value() -> None:
    assert normalize("PHONE_NUMBER", "(212) 555-0123") == normalize("PHONE_NUMBER", "2125550123")
    assert normalize("EMAIL_ADDRESS", "John@X.com") == normalize("EMAIL_ADDRESS", "john@x.com")
    assert normalize("PERSON", "John  Smith") == normalize("PERSON", "john smith")
    assert normalize("CREDIT_CARD", "four one ...", "4111") == "4111"


@given(st.text(min_size=1, max_size=60), st.data())
def test_apply_tokens_replaces_exactly_the_spans(text: str, data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.sets(st.integers(0, len(text)), max_size=6)))
    pairs = zip(cuts[::2], cuts[1::2], strict=False)
    spans = [Span(a, b, "PERSON", 0.9, "t") for a, b in pairs if a < b]
    values = pending_values([text], [spans])
    tokens = {(v.entity_type, v.key): format_token("PERSON") for v in values}
    out = apply_tokens([text], [spans], tokens)
    assert apply_tokens([text], [spans], tokens, keys=[v.key for v in values]) == out
    revealed = {tokens[(v.entity_type, v.key)]: Revealed(tokens[(v.entity_type, v.key)],
                                                         "PERSON", v.original) for v in values}
    # one token per key: restoring gives back the first spelling of each key
    if len({v.key for v in values}) == len(values):
        assert restore(out.texts[0], revealed, lambda _t: "full").text == text
    for e in out.entities:
        assert out.texts[0][e.location["start"]:e.location["end"]] == e.token


def test_restore_modes_and_counts() -> None:
    t1, t2, t3 = format_token("CREDIT_CARD"), format_token("PERSON"), format_token("PERSON")
    values = {t1: Revealed(t1, "CREDIT_CARD", "4111 1111 1111 4471"),
              t2: Revealed(t2, "PERSON", "Maria Garcia")}
    modes = {"CREDIT_CARD": "masked", "PERSON": "full"}
    r = restore(f"card {t1} name {t2} other {t3}", values, lambda t: modes[t])  # type: ignore
    assert r.text == f"card ************4471 name Maria Garcia other {t3}"
    assert r.revealed == {"PERSON": 1} and r.masked == {"CREDIT_CARD": 1}
    r = restore(f"{t2}", values, lambda _t: "none")
    assert r.text == t2 and r.withheld == {"PERSON": 1}


def test_mask_never_shows_whole_value() -> None:
    assert mask("EMAIL_ADDRESS", "john.smith@gmail.com") == "j***@gmail.com"
    assert mask("PERSON", "Maria Garcia") == "M**** G*****"
    assert mask("US_SSN", "078-05-1120").endswith("1120")
    assert "0780" not in mask("US_SSN", "078-05-1120")
