"""Pure helpers for the templates: tokens in text, rate charts as SVG (no script)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from redact_gw.tokens import TOKEN_RE

BAR_W, ROW_H, LABEL_W = 360, 26, 170


def split_tokens(text: str) -> list[tuple[str, str, str | None]]:
    """``text`` as parts: ``("text", s, None)`` and ``("token", token, entity_type)``."""
    parts: list[tuple[str, str, str | None]] = []
    last = 0
    for m in TOKEN_RE.finditer(text):
        if m.start() > last:
            parts.append(("text", text[last:m.start()], None))
        etype = m.group(0)[2:].split(":", 1)[0]
        parts.append(("token", m.group(0), etype))
        last = m.end()
    if last < len(text):
        parts.append(("text", text[last:], None))
    return parts


def svg_rates(by_type: dict[str, Any], key: str, title: str) -> Markup:
    """A horizontal bar per entity type: the rate, its 95% interval as a whisker."""
    rows = [(t, r[key]) for t, r in sorted(by_type.items()) if r[key]["of"]]
    height = max(1, len(rows)) * ROW_H + 30
    out = [f'<svg role="img" aria-label="{escape(title)}" width="{LABEL_W + BAR_W + 90}"'
           f' height="{height}" viewBox="0 0 {LABEL_W + BAR_W + 90} {height}"'
           ' xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(title)}</title>"]
    for i, (etype, rate) in enumerate(rows):
        y = 10 + i * ROW_H
        w = round((rate["rate"] or 0) * BAR_W, 1)
        lo, hi = (round(v * BAR_W, 1) + LABEL_W for v in rate["ci95"])
        out += [
            f'<text x="0" y="{y + 15}" fill="#1a1a1a" font-size="13">{escape(etype)}</text>',
            f'<rect x="{LABEL_W}" y="{y + 3}" width="{BAR_W}" height="16" fill="#e8e8e8"/>',
            f'<rect x="{LABEL_W}" y="{y + 3}" width="{w}" height="16" fill="#1f5fa8"/>',
            f'<line x1="{lo}" y1="{y + 11}" x2="{hi}" y2="{y + 11}" stroke="#000"'
            ' stroke-width="2"/>',
            f'<text x="{LABEL_W + BAR_W + 6}" y="{y + 15}" fill="#1a1a1a" font-size="13">'
            f'{rate["count"]}/{rate["of"]}</text>']
    if not rows:
        out.append('<text x="0" y="20" fill="#1a1a1a" font-size="13">no reviews yet</text>')
    out.append("</svg>")
    # every interpolated string above went through escape(); numbers are ours
    return Markup("".join(out))  # noqa: S704


def svg_counts(counts: dict[str, int], title: str) -> Markup:
    """A horizontal bar per key, scaled to the largest count."""
    rows = sorted(counts.items())
    top = max(counts.values(), default=0) or 1
    height = max(1, len(rows)) * ROW_H + 10
    out = [f'<svg role="img" aria-label="{escape(title)}" width="{LABEL_W + BAR_W + 60}"'
           f' height="{height}" viewBox="0 0 {LABEL_W + BAR_W + 60} {height}"'
           ' xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(title)}</title>"]
    for i, (name, n) in enumerate(rows):
        y = 4 + i * ROW_H
        out += [f'<text x="0" y="{y + 15}" fill="#1a1a1a" font-size="13">{escape(name)}</text>',
                f'<rect x="{LABEL_W}" y="{y + 3}" width="{round(n / top * BAR_W, 1)}"'
                ' height="16" fill="#5a3d00"/>',
                f'<text x="{LABEL_W + BAR_W + 6}" y="{y + 15}" fill="#1a1a1a"'
                f' font-size="13">{n}</text>']
    if not rows:
        out.append('<text x="0" y="20" fill="#1a1a1a" font-size="13">nothing queued</text>')
    out.append("</svg>")
    # every interpolated string above went through escape(); numbers are ours
    return Markup("".join(out))  # noqa: S704


def svg_weeks(by_week: list[dict[str, Any]], title: str) -> Markup:
    """Miss and false-positive rates per ISO week (all types), with their intervals."""
    rows = {}
    for w in by_week[-12:]:  # the last twelve weeks
        rows[f"{w['week']} miss"] = {"v": w["miss"]}
        rows[f"{w['week']} false pos."] = {"v": w["false_positive"]}
    return svg_rates(rows, "v", title)
