"""The operator CLI, run in-process as ``redact-gw ...`` would."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from redact_gw import cli
from redact_gw.testing import FakeDetector
from tests.conftest import Env

TEXT = "This is John Smith, card 4111 1111 1111 1111, email john.smith@gmail.com."


@pytest.fixture
def fake_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    import redact_gw.detection as detection
    monkeypatch.setattr(detection, "build_detector", lambda _s: FakeDetector(), raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_keys_generate_then_refuse_overwrite(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keys.yaml"
    code, out, _ = run(capsys, "keys", "generate", str(path))
    assert code == 0 and "primary key" in out and os.stat(path).st_mode & 0o777 == 0o600
    code, _, err = run(capsys, "keys", "generate", str(path))
    assert code == 2 and "refusing to overwrite" in err and "Traceback" not in err


def test_check_config_reports_and_refuses(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--config", str(env.config_path), "check-config")
    assert code == 0 and json.loads(out)["principals"] == len(env.keys)
    os.chmod(env.root / "keys.yaml", 0o644)
    code, _, err = run(capsys, "--config", str(env.config_path), "check-config")
    assert code == 2 and "group or others" in err


def test_placeholder_keys_refused_by_serve(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).resolve().parents[1] / "keys.example"
    (env.root / "keys.yaml").write_text(example.read_text())
    os.chmod(env.root / "keys.yaml", 0o600)
    code, _, err = run(capsys, "--config", str(env.config_path), "serve")
    assert code == 2 and "placeholder" in err


def test_apikey_create_prints_once_stores_hash(env: Env,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--config", str(env.config_path), "apikey", "create",
                       "--tenant", "acme", "--role", "supervisor", "--name", "sup1")
    key = out.strip()
    assert code == 0 and key.startswith("rgw_")
    stored = (env.root / "principals.yaml").read_text()
    assert key not in stored and "sup1" in stored


def test_redact_jsonl_then_detokenize_round_trip(env: Env, tmp_path: Path, fake_detection: None,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    docs = [{"text": TEXT, "record_id": "call-1"},
            {"turns": [{"speaker": "customer", "text": TEXT}], "record_id": "call-2"}]
    src.write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    code, out, _ = run(capsys, "--config", str(env.config_path), "redact", "--tenant", "acme",
                       str(src))
    assert code == 0
    lines = [json.loads(x) for x in out.splitlines()]
    assert len(lines) == 2 and "John Smith" not in out and "4111" not in out
    tokenized = tmp_path / "tok.txt"
    tokenized.write_text(lines[0]["text"])
    code, out, _ = run(capsys, "--config", str(env.config_path), "detokenize", "--tenant",
                       "acme", "--record", "call-1", "--purpose", "legal_request",
                       str(tokenized))
    assert code == 0 and out == TEXT
    # a token of call-1 does not open in call-2: refused, as by POST /v1/detokenize
    code, out, err = run(capsys, "--config", str(env.config_path), "detokenize", "--tenant",
                         "acme", "--record", "call-2", "--purpose", "legal_request",
                         str(tokenized))
    assert code == 2 and out == "" and "token_not_found" in err
    code, _, err = run(capsys, "--config", str(env.config_path), "detokenize", "--tenant",
                       "acme", "--record", "nope", "--purpose", "legal_request",
                       str(tokenized))
    assert code == 2 and "record_not_found" in err


def test_keys_rotate_rewraps_and_values_still_open(env: Env, tmp_path: Path,
                                                   fake_detection: None,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.json"
    src.write_text(json.dumps({"text": TEXT, "record_id": "r1"}))
    run(capsys, "--config", str(env.config_path), "redact", "--tenant", "acme", str(src))
    code, out, _ = run(capsys, "--config", str(env.config_path), "keys", "rotate")
    assert code == 0 and json.loads(out)["rewrapped"] == 1
    _, out, _ = run(capsys, "--config", str(env.config_path), "redact", "--tenant", "acme",
                    str(src))
    (tmp_path / "t.txt").write_text(json.loads(out)["text"])
    code, out, _ = run(capsys, "--config", str(env.config_path), "detokenize", "--tenant",
                       "acme", "--record", "r1", "--purpose", "legal_request",
                       str(tmp_path / "t.txt"))
    assert out == TEXT


def test_two_step_rotation_for_mounted_secrets(env: Env, tmp_path: Path, fake_detection: None,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.json"
    src.write_text(json.dumps({"text": TEXT, "record_id": "r1"}))
    run(capsys, "--config", str(env.config_path), "redact", "--tenant", "acme", str(src))
    code, out, _ = run(capsys, "--config", str(env.config_path), "keys", "rotate",
                       "--no-rewrap")
    step1 = json.loads(out)
    assert code == 0 and step1["rewrapped"] == 0
    code, out, _ = run(capsys, "--config", str(env.config_path), "keys", "rewrap")
    step2 = json.loads(out)
    assert code == 0 and step2 == {**step2, "primary": step1["primary"], "rewrapped": 1}
