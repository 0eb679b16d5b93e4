"""Emails, written and spoken; offline domain validation."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from redact_gw.detection import build_detector, spoken_email
from redact_gw.model import Segment
from redact_gw.settings import DetectionSettings

One = Callable[[str], list[tuple[str, str]]]


@pytest.mark.parametrize(("text", "value"), [
    ("my email is john dot smith at gmail dot com thanks", "john dot smith at gmail dot com"),
    ("it's j o h n underscore smith eighty four at yahoo dot co dot uk",
     "j o h n underscore smith eighty four at yahoo dot co dot uk"),
    ("send it to mary dash jane at my dash company dot org",
     "mary dash jane at my dash company dot org"),
    ("email john.doe at gmail.com", "john.doe at gmail.com"),
    ("you can email me at g dot ibarra at proton mail dot com",
     "g dot ibarra at proton mail dot com"),
    ("Write to John.Smith@example.com.", "John.Smith@example.com"),
])
def test_emails(one: One, text: str, value: str) -> None:
    assert ("EMAIL_ADDRESS", value) in one(text)


def test_spoken_email_is_normalized(detector: object) -> None:
    text = "it's john dot smith double seven at gmail dot com"
    (spans,) = detector.detect([Segment(text)])  # type: ignore[attr-defined]
    (span,) = [s for s in spans if s.entity_type == "EMAIL_ADDRESS"]
    assert span.normalized == "john.smith77@gmail.com"


def test_meeting_at_is_not_an_email(one: One) -> None:
    assert one("let's meet at the office at noon") == []


def test_no_network_and_no_cache_in_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("TLDEXTRACT_CACHE", raising=False)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    spoken_email.offline_tld.cache_clear()
    det = build_detector(DetectionSettings())
    text = "mail jane.roe@example.org or jane dot roe at example dot org"
    (spans,) = det.detect([Segment(text)])
    emails = [text[s.start:s.end] for s in spans if s.entity_type == "EMAIL_ADDRESS"]
    assert emails == ["jane.roe@example.org", "jane dot roe at example dot org"]
    assert not any(tmp_path.rglob("*tldextract*"))
    assert not (tmp_path / ".cache").exists()


@pytest.mark.parametrize(("text", "value"), [
    ("leave it with marta ruiz at fastmail dot com and go", "marta ruiz at fastmail dot com"),
    ("pay for dgreen forty at example dot org", "dgreen forty at example dot org"),
])
def test_spoken_email_starts_after_the_preposition(one: One, text: str, value: str) -> None:
    assert ("EMAIL_ADDRESS", value) in one(text)


@pytest.mark.parametrize(("text", "value"), [
    ("it is r t okafor at example dot com now", "r t okafor at example dot com"),
    ("reach sean o brien at gmail dot com soon", "sean o brien at gmail dot com"),
    ("contact is mei lin zhou seventy at qq dot com", "mei lin zhou seventy at qq dot com"),
])
def test_spoken_email_keeps_initials_and_three_part_names(one: One, text: str,
                                                          value: str) -> None:
    assert ("EMAIL_ADDRESS", value) in one(text)
