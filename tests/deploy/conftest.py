"""What the deployment files are checked against: the Dockerfile, the settings, the CLI."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def dockerfile_uid() -> int:
    m = re.search(r"^USER (\d+):(\d+)$", DOCKERFILE, re.M)
    assert m, "Dockerfile has no numeric USER"
    return int(m[1])


def dockerfile_port() -> int:
    m = re.search(r"^EXPOSE (\d+)$", DOCKERFILE, re.M)
    assert m, "Dockerfile has no EXPOSE"
    return int(m[1])


def dockerfile_env() -> dict[str, str]:
    return dict(re.findall(r"(REDACT_GW_\w+)=(\S+?)\s*(?:\\|$)", DOCKERFILE, re.M))
