"""``redact-gw redact --format``: a vendor's own files, answered in the same format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redact_gw.tokens import TOKEN_RE
from tests.asr_formats import vendors as v
from tests.conftest import Env
from tests.test_cli import fake_detection, run  # noqa: F401  (fixture)

WORDS = ["please", "bill", "4111", "1111", "1111", "1111", "today", ",", "John", "Smith",
    "speaking"]


def test_redact_format_jsonl_of_live_messages(env: Env, tmp_path: Path,
                                              fake_detection: None,  # noqa: F811
                                              capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "deepgram.jsonl"
    msgs = [v.deepgram_live(v.PLAIN, is_final=True), v.deepgram_live(WORDS, is_final=True)]
    src.write_text("\n".join(json.dumps(m) for m in msgs) + "\n")
    code, out, err = run(capsys, "--config", str(env.config_path), "redact", "--tenant",
                         "acme", "--format", "deepgram", str(src))
    assert code == 0, err
    lines = [json.loads(x) for x in out.splitlines()]
    assert len(lines) == 2 and "4111" not in out and "Smith" not in out
    final = lines[1]["transcript"]
    words = final["channel"]["alternatives"][0]["words"]
    tokens = [w for w in words if TOKEN_RE.search(w["punctuated_word"])]
    assert [w["start"] for w in tokens] == [v.times(2)[0], v.times(8)[0]]
    assert [w["end"] for w in tokens] == [v.times(5)[1], v.times(9)[1]]
    assert final["metadata"] == msgs[1]["metadata"]
    assert lines[0]["transcript"] == msgs[0]  # nothing to redact: unchanged


def test_redact_format_refuses_a_foreign_shape(env: Env, tmp_path: Path,
                                               fake_detection: None,  # noqa: F811
                                               capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "x.json"
    src.write_text(json.dumps({"results": {"channels": {"no": "list"}}}))
    code, out, err = run(capsys, "--config", str(env.config_path), "redact", "--tenant",
                         "acme", "--format", "deepgram", str(src))
    assert code == 2 and out == "" and "bad_asr_format" in err and "Traceback" not in err
