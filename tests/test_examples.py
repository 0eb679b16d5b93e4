"""examples/: sample files for every command that takes one, synthetic and well-formed."""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path

from redact_gw.tokens import find_tokens
from redact_gw.transcripts import parse_transcript

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_transcripts_are_one_transcript_per_line() -> None:
    lines = (EXAMPLES / "transcripts.jsonl").read_text().splitlines()
    assert len(lines) >= 3
    ids = [parse_transcript(json.loads(line)).record_id for line in lines]
    assert len(set(ids)) == len(ids) and "call-1001" in ids  # the README's detokenize record


def test_answer_quotes_tokens() -> None:
    tokens = find_tokens((EXAMPLES / "answer.txt").read_text())
    assert {t.entity_type for t in tokens} >= {"PERSON", "PHONE_NUMBER"}


def test_optouts_have_the_import_header() -> None:
    with (EXAMPLES / "optouts.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert rows and set(rows[0]) == {"subject_id", "no_ai_processing", "no_retention", "reason"}


def test_the_personal_data_is_obviously_fake() -> None:
    text = " ".join((EXAMPLES / name).read_text() for name in ("transcripts.jsonl",
                                                                 "optouts.csv"))
    for email in re.findall(r"[\w.]+@[\w.]+", text):
        assert email.rsplit("@", 1)[1] in ("example.com", "example.org"), email
    for phone in re.findall(r"\d{3}[ -]555[ -]\d{4}", text):
        assert re.search(r"555[ -]01\d\d$", phone), phone  # 555-0100..0199: fictional


def test_jsonl_outside_examples_is_git_ignored() -> None:
    root = EXAMPLES.parent

    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", "--no-index", path],
                              cwd=root).returncode == 0
    assert not ignored("examples/transcripts.jsonl")
    assert ignored("transcripts.jsonl") and ignored("bench/calls.jsonl")
    assert ignored("deploy/secrets/redact-gw-keys.yaml")
