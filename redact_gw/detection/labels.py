"""Speaker labels at line starts ("Customer:", "Agent 2:", "[caller]:").

They name a role, never a person: spans never cover them and they are not context.
"""

from __future__ import annotations

import re

from redact_gw.detection.lexicon import SPEAKER_LABELS

_LABEL_RE = re.compile(
    r"^[ \t]*(?:(?P<word>[A-Za-z]+)(?:[ \t]*\d{1,2})?|\[[^\]\n]{1,20}\])[ \t]*:",
    re.MULTILINE)


def label_ranges(text: str) -> list[tuple[int, int]]:
    """Ranges of role labels ("Customer:", "Agent 2:") at line starts."""
    out = []
    for m in _LABEL_RE.finditer(text):
        word = m.group("word")
        if word is None or word.lower() in SPEAKER_LABELS:
            out.append((m.start(), m.end()))
    return out
