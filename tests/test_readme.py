"""Every ``sh`` and ``python`` block of README.md runs as pasted, against a live demo.

The demo is what ``make run`` starts (``python -m redact_gw.demo``), in a temp dir holding
copies of ``config/`` and ``examples/``, on free ports (``REDACT_GW_PORT``,
``REDACT_GW_DEMO_PORT``; the blocks' ``localhost:8080`` and ``:8099`` are rewritten to
them, and ``REDACT_GW_UPSTREAM_URL`` is exported as the README tells users who move the
demo port). The blocks run in README order, like a user pasting them into one terminal
where ``make run`` printed its two API keys and ``.venv`` is activated: shell variables
carry from block to block, ``set -e -o pipefail`` holds, and ``curl`` fails the block on
an HTTP error status. A block that cannot run here (docker, a real OpenAI key, the
quickstart itself) carries the marker ``<!-- not run by tests/test_readme.py: REASON -->``
on the line before its fence; every other ``sh``/``python`` block runs, and every fence
names its language, so nothing is skipped silently.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from redact_gw.testing_server import free_port

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
RUN = {"sh", "python"}
SHOWN = {"text", "console", "json", "yaml", "mermaid"}
MARKER = re.compile(r"^<!-- not run by tests/test_readme\.py: (?P<why>\S.*) -->$")
FENCE = re.compile(r"^```(?P<lang>\S*)\s*$")
#: Values the README sends through the proxy: the demo model must never receive them.
SENT_THROUGH_PROXY = ("Maria Garcia", "212-555-0123", "maria@example.com",
                      # the live demo's call (examples/live_call.json): card and email
                      "four one one one", "garcia at example")


@dataclass(frozen=True)
class Block:
    """One fenced code block of the README."""

    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    skip: str | None  # the marker's reason, when marked

    def __str__(self) -> str:
        return f"README.md:{self.line} ({self.lang})"


def readme_blocks(text: str) -> list[Block]:
    """Every top-level fenced block, with the marker on the line before it, if any."""
    lines = text.splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        marker = MARKER.match(lines[i - 1].strip()) if i else None
        out.append(Block(i + 1, m["lang"], "\n".join(lines[i + 1:end]) + "\n",
                         marker["why"] if marker else None))
        i = end + 1
    return out


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))


def test_every_block_is_run_or_marked_on_purpose() -> None:
    unnamed = [str(b) for b in BLOCKS if not b.lang]
    assert not unnamed, f"fences without a language (use text for output): {unnamed}"
    unknown = [str(b) for b in BLOCKS if b.lang not in RUN | SHOWN]
    assert not unknown, f"fence languages this test does not know: {unknown}"
    stale = [str(b) for b in BLOCKS if b.skip and b.lang not in RUN]
    assert not stale, f"'not run' markers on blocks that are never run anyway: {stale}"
    ran = [b for b in BLOCKS if b.lang in RUN and not b.skip]
    assert len(ran) >= 8 and any(b.lang == "python" for b in ran)


LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


@pytest.mark.parametrize("doc", ["README.md", *sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))])
def test_relative_links_point_into_the_repository(doc: str) -> None:
    path = ROOT / doc
    targets = [m["target"].split("#")[0] for m in LINK.finditer(path.read_text())]
    local = [t for t in targets if t and "://" not in t]
    assert doc != "README.md" or "docs/README.md" in local
    for target in local:
        resolved = (path.parent / target).resolve()
        assert resolved.is_relative_to(ROOT), f"{doc} links outside the repository: {target}"
        assert resolved.exists(), f"{doc} links to a missing {target}"


CODE_PATH = re.compile(r"`(?P<path>[\w.-]+(?:/[\w.-]+)*(?:\.(?:py|yaml|md|json|jsonl|txt|csv)|/))`")


def test_files_the_design_notes_name_exist() -> None:
    """The notes describe the code as it is: every file or folder they name is there."""
    names = {(doc.name, m["path"]) for doc in (ROOT / "docs").glob("*.md")
             for m in CODE_PATH.finditer(doc.read_text())}
    assert len(names) > 30
    missing = [f"{doc}: {n}" for doc, n in sorted(names)
               if not any((base / n).exists() for base in (ROOT, ROOT / "redact_gw"))]
    assert not missing, f"the design notes name files that do not exist: {missing}"


# -- the live run ---------------------------------------------------------------------------
@dataclass
class Demo:
    """``make run`` in a temp dir: the demo model and the gateway on free ports."""

    home: Path
    port: int
    model_port: int
    env: dict[str, str]
    log: Path

    def adapt(self, code: str) -> str:
        """The block with the demo's ports in place of the defaults."""
        code = code.replace("localhost:8080", f"localhost:{self.port}")
        return re.sub(r"(localhost|127\.0\.0\.1):8099", rf"\g<1>:{self.model_port}", code)


def _wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the demo stopped:\n{log.read_text()[-3000:]}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the demo never got ready:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    home = tmp_path_factory.mktemp("readme")
    for folder in ("config", "examples"):
        shutil.copytree(ROOT / folder, home / folder)
    shutil.copy(ROOT / "keys.example", home / "keys.example")
    port, model_port = free_port(), free_port()
    bin_dir = Path(sys.executable).parent  # .venv/bin: "source .venv/bin/activate"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDACT_GW_")}
    env.update({"REDACT_GW_PORT": str(port), "REDACT_GW_DEMO_PORT": str(model_port),
                "REDACT_GW_DETECTION_WORKERS": "1",
                "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
                "PYTHONUNBUFFERED": "1"})
    log = home / "make-run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # what `make run` runs
            [sys.executable, "-m", "redact_gw.demo", "--config", "config/redact-gw.yaml"],
            cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(port, proc, log)
        printed = dict(re.findall(r"export (REDACT_GW_\w+_KEY)=(\S+)", log.read_text()))
        assert set(printed) == {"REDACT_GW_DEMO_KEY", "REDACT_GW_ADMIN_KEY"}, printed
        # what a user does in the second shell: the keys make run printed, and the moved
        # demo port for the operator commands that look at the upstream (doctor)
        shell_env = {**env, **printed,
                     "REDACT_GW_UPSTREAM_URL": f"http://127.0.0.1:{model_port}/v1"}
        yield Demo(home, port, model_port, shell_env, log)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


PRELUDE = """set -eo pipefail
source "$README_STATE"
curl() { command curl --fail-with-body "$@"; }  # an HTTP error status fails the block
"""
# Shell variables the block set (exported or not) carry over to the next blocks.
EPILOGUE = """
set +e
for __v in $(compgen -v); do
  case " $README_BASE " in *" $__v "*) ;; *) [[ $__v == __* ]] || declare -p "$__v";; esac
done > "$README_STATE.new" 2>/dev/null
mv "$README_STATE.new" "$README_STATE"
"""


def _run(demo: Demo, block: Block, state: Path, base: str) -> subprocess.CompletedProcess[str]:
    env = {**demo.env, "README_STATE": str(state), "README_BASE": base}
    code = demo.adapt(block.code)
    if block.lang == "sh":
        argv = ["bash", "-c", PRELUDE + code + EPILOGUE]
    else:  # python: with the variables the user exported so far
        dump = subprocess.run(["bash", "-c", 'source "$README_STATE"; env -0'], env=env,
                              capture_output=True, check=True).stdout.decode()
        env = dict(item.split("=", 1) for item in dump.split("\0") if "=" in item)
        argv = [sys.executable, "-c", code]
    return subprocess.run(argv, cwd=demo.home, env=env, capture_output=True, text=True,
                          timeout=180)


@pytest.mark.slow
def test_readme_blocks_run_as_pasted(demo: Demo) -> None:
    state = demo.home / ".readme-shell-state"
    state.write_text("")
    base = subprocess.run(["bash", "-c", "compgen -v"], env={**demo.env, "README_STATE": "",
                                                             "README_BASE": ""},
                          capture_output=True, text=True, check=True).stdout.split()
    base_vars = " ".join(base)
    failures = []
    outputs: dict[int, str] = {}
    for block in (b for b in BLOCKS if b.lang in RUN and not b.skip):
        started = time.monotonic()
        proc = _run(demo, block, state, base_vars)
        print(f"{block}: {time.monotonic() - started:.1f} s")
        outputs[block.line] = proc.stdout
        if proc.returncode != 0:
            failures.append(f"{block} exited {proc.returncode}:\n{demo.adapt(block.code)}\n"
                            f"stdout: {proc.stdout[-1500:]}\nstderr: {proc.stderr[-1500:]}")
    assert not failures, "\n\n".join(failures)
    # the round trip did what the README says: originals back, tokens only upstream
    python_out = "".join(outputs[b.line] for b in BLOCKS if b.lang == "python")
    assert "maria@example.com" in python_out
    received = demo.log.read_text()
    assert "[demo model] POST /v1/chat/completions received" in received
    assert "[[PERSON:" in received
    leaked = [v for v in SENT_THROUGH_PROXY if v in received]
    assert not leaked, f"the demo model received {leaked}"
