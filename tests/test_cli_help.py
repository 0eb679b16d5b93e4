"""A CLI that explains itself (issue 19): help for every command and argument with its
default, no markup, ``--version``, bad JSONL lines by number, progress on a terminal."""

from __future__ import annotations

import argparse
import io
import json
import re
from pathlib import Path

import pytest

from redact_gw import __version__, cli
from redact_gw.testing import FakeDetector
from tests.conftest import Env
from tests.test_cli import TEXT


@pytest.fixture(autouse=True)
def fake_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    import redact_gw.detection as detection
    monkeypatch.setattr(detection, "build_detector", lambda _s: FakeDetector(), raising=False)


def commands(parser: argparse.ArgumentParser,
             path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path: (), ("serve",), ("apikey", "create"), ..."""
    found = [path]
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            assert action.help, f"{' '.join(path)}: {action.dest} has no help"
        if isinstance(action, argparse._SubParsersAction):
            listed = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                assert listed.get(name), f"{' '.join((*path, name))} has no help line"
                found += commands(sub, (*path, name))
    return found


def test_every_command_and_argument_explains_itself(
        capsys: pytest.CaptureFixture[str]) -> None:
    paths = commands(cli.build_parser())
    assert ("apikey", "rotate") in paths and ("audit", "list") in paths and len(paths) > 25
    for path in paths:
        with pytest.raises(SystemExit) as exc:
            cli.main([*path, "--help"])
        out = capsys.readouterr().out
        assert exc.value.code == 0 and out.startswith("usage: redact-gw"), path
        assert not re.search(r"`|\*\*|:class:|:func:", out), (path, out)
    out = run_help(capsys, "audit", "list")
    assert "(default: 1000)" in out and "(default: 0)" in out
    assert "(default: 24h)" in run_help(capsys, "apikey", "rotate")
    assert "(default: None)" not in run_help(capsys, "purge")


def run_help(capsys: pytest.CaptureFixture[str], *path: str) -> str:
    with pytest.raises(SystemExit):
        cli.main([*path, "--help"])
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out == f"redact-gw {__version__}\n"


def test_bad_jsonl_line_is_named_by_its_line_in_the_file(
        env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    good = json.dumps({"text": TEXT, "record_id": "call-1"})
    src.write_text(f"{good}\n\n{good}\n{{\"text\": oops}}\n")
    code, out, err = run(capsys, env, "redact", "--tenant", "acme", str(src))
    assert code == 2 and out == ""  # nothing written before the whole file is read
    assert "error: malformed_json: line 4: not valid JSON (column 10)" in err
    src.write_text(f"{good}\n{json.dumps({'turns': 'nope'})}\n")
    code, out, err = run(capsys, env, "redact", "--tenant", "acme", str(src))
    assert code == 2 and len(out.splitlines()) == 1 and "line 2: " in err


def run(capsys: pytest.CaptureFixture[str], env: Env, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["--config", str(env.config_path), *argv])
    out, err = capsys.readouterr()
    return code, out, err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("tty", [True, False])
def test_progress_on_a_terminal_only(env: Env, tmp_path: Path, tty: bool,
                                     monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"text": TEXT, "record_id": f"r{i}"}) + "\n"
                           for i in range(5)))
    stderr = Terminal() if tty else io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    code, out, _ = run(capsys, env, "redact", "--tenant", "acme", str(src))
    assert code == 0 and len(out.splitlines()) == 5
    code, out, _ = run(capsys, env, "keys", "rotate")
    assert code == 0 and json.loads(out)["rewrapped"] == 5
    shown = stderr.getvalue()
    if tty:
        assert "\rredacting [" in shown and "5/5\n" in shown
        assert "\rre-wrapping [##############################] 5/5\n" in shown
    else:
        assert "redacting" not in shown and "re-wrapping" not in shown
