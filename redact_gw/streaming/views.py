"""Encoded views: answer text as detection should read it, mapped back to the raw text.

A *view* decodes percent-, ``\\uXXXX``- and HTML-encoded characters so detection sees
``john%40x.com`` as an email, and maps every view offset back to the raw text.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

_ESCAPES = re.compile(
    r"(?P<pct>(?:%[0-9A-Fa-f]{2})+)|\\u(?P<u>[0-9A-Fa-f]{4})"
    r"|(?P<ent>&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z]{2,8});)")


@dataclass(frozen=True, slots=True)
class View:
    """Decoded text plus, per decoded character, its raw ``[start, end)``."""

    text: str = field(repr=False)
    starts: list[int] | None = field(default=None, repr=False)
    ends: list[int] | None = field(default=None, repr=False)

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Raw offsets covering view characters ``[start, end)``."""
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[end - 1]


def _decode_escape(m: re.Match[str]) -> str | None:
    if m.group("pct"):
        try:
            return unquote_to_bytes(m.group("pct")).decode("utf-8")
        except UnicodeDecodeError:
            return None
    if m.group("u"):
        ch = chr(int(m.group("u"), 16))
        return None if 0xD800 <= ord(ch) <= 0xDFFF else ch
    decoded = html.unescape(m.group("ent"))
    return None if decoded == m.group("ent") else decoded


def decode_view(raw: str) -> View:
    """Decode percent-, ``\\uXXXX``- and HTML-encoded characters, keeping an offset map."""
    if not _ESCAPES.search(raw):
        return View(raw)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    cursor = 0
    for m in _ESCAPES.finditer(raw):
        decoded = _decode_escape(m)
        if decoded is None:
            continue
        for i in range(cursor, m.start()):
            out.append(raw[i])
            starts.append(i)
            ends.append(i + 1)
        out.append(decoded)
        starts.extend([m.start()] * len(decoded))
        ends.extend([m.end()] * len(decoded))
        cursor = m.end()
    for i in range(cursor, len(raw)):
        out.append(raw[i])
        starts.append(i)
        ends.append(i + 1)
    return View("".join(out), starts, ends)
