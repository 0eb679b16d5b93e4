"""``check_work`` counts runs of digits across every text of a request."""

from __future__ import annotations

import pytest

from redact_gw.errors import PayloadTooLarge
from redact_gw.proxy.admission import check_work


def test_the_limit_counts_runs_across_texts() -> None:
    check_work(["call 212 555", "0123 or 9"], 4)
    with pytest.raises(PayloadTooLarge) as err:
        check_work(["call 212 555", "0123 or 9", "x1"], 4)
    assert err.value.code == "too_many_numbers"
    check_work(["no digits", ""], 0)
