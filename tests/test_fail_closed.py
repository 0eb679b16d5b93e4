"""``errors.fail_closed``: what a failing step turns into, and what it logs."""

from __future__ import annotations

import asyncio
import logging

import pytest

from redact_gw.errors import DetectionFailed, NotFound, VaultUnavailable, fail_closed


def test_a_library_error_becomes_the_gateway_error_and_logs_its_type_only(
        caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(VaultUnavailable) as info, fail_closed(VaultUnavailable, "vault write"):
        raise ValueError("row for Jane Doe 555-867-5309 refused")
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "vault write failed: ValueError" in caplog.text
    assert "Jane" not in caplog.text and "555" not in caplog.text


def test_a_gateway_error_passes_as_it_is(caplog: pytest.LogCaptureFixture) -> None:
    raised = NotFound("unknown record", code="record_not_found")
    with pytest.raises(NotFound) as info, fail_closed(DetectionFailed, "detection"):
        raise raised
    assert info.value is raised and caplog.text == ""


def test_cancellation_is_not_turned_into_an_error(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(asyncio.CancelledError), fail_closed(DetectionFailed, "detection"):
        raise asyncio.CancelledError()
    assert caplog.text == ""


def test_a_step_that_succeeds_is_left_alone(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with fail_closed(VaultUnavailable, "vault read") as entered:
        done = 1
    assert (entered, done, caplog.text) == (None, 1, "")
