"""Quality figures from verdicts (pure): miss and false-positive rates with Wilson
intervals, inter-reviewer agreement, time to review.

Definitions (per reviewed item, so one busy transcript does not weigh more):

- miss rate of a type: reviewed items in which a reviewer marked a missed value of
  that type, over reviewed items;
- false-positive rate of a type: reviewed items in which a token of that type was
  judged "not personal data", over reviewed items holding that type;
- agreement: among items seen by two or more reviewers, the share whose reviewers
  gave the same set of verdicts;
- time to review: from queueing to the first verdict (median, seconds);
- over time (``by_week``): both rates for all types together, per ISO week.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redact_gw.vault.review_base import ReviewItemRow, VerdictRow, unpack

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (``(0, 1)`` when ``n`` is 0)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True, slots=True)
class Rate:
    """A proportion with its 95% Wilson interval."""

    hits: int
    n: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        low, high = wilson(self.hits, self.n)
        return {"count": self.hits, "of": self.n,
                "rate": round(self.hits / self.n, 4) if self.n else None,
                "ci95": [round(low, 4), round(high, 4)]}


def week_of(ts: float) -> str:
    """ISO week, e.g. ``2026-W48``."""
    year, week, _ = datetime.fromtimestamp(ts, UTC).isocalendar()
    return f"{year}-W{week:02d}"


def quality(items: Sequence[ReviewItemRow], verdicts: Iterable[VerdictRow]) -> dict[str, Any]:
    """Every figure of the quality page and ``GET /v1/review/stats``."""
    by_item: dict[str, list[VerdictRow]] = defaultdict(list)
    for v in verdicts:
        by_item[v.item_id].append(v)
    reviewed = [i for i in items if by_item.get(i.item_id)]
    types: set[str] = set()
    for i in reviewed:
        types.update(unpack(i.entity_types))
    for vs in by_item.values():
        types.update(v.entity_type for v in vs if v.entity_type)
    groups: dict[tuple[str, str], list[ReviewItemRow]] = defaultdict(list)
    for i in reviewed:
        groups[(i.route, week_of(i.created_at))].append(i)
    rows = []
    for (route, week), its in sorted(groups.items()):
        for t in sorted(types):
            missed = sum(1 for i in its if _has(by_item[i.item_id], "missed", t))
            holding = [i for i in its if t in unpack(i.entity_types)]
            fps = sum(1 for i in holding if _has(by_item[i.item_id], "not_pii", t))
            if missed == 0 and not holding:
                continue
            rows.append({"route": route, "week": week, "entity_type": t,
                         "miss": Rate(missed, len(its)).to_dict(),
                         "false_positive": Rate(fps, len(holding)).to_dict()})
    return {"reviewed_items": len(reviewed), "queued_items": len(items),
            "volume": _volume(items),
            "verdicts": _verdict_counts(by_item.values()),
            "by_type": _overall(reviewed, by_item, types), "by_route_week": rows,
            "by_week": _by_week(reviewed, by_item),
            "agreement": _agreement(by_item.values()).to_dict(),
            "time_to_review_s": _time_to_review(reviewed, by_item)}


def _by_week(reviewed: Sequence[ReviewItemRow], by_item: dict[str, list[VerdictRow]]
             ) -> list[dict[str, Any]]:
    """All types together, per ISO week of queueing: reviewed items with a missed value,
    and reviewed items holding tokens where one was judged not personal data."""
    weeks: dict[str, list[ReviewItemRow]] = defaultdict(list)
    for i in reviewed:
        weeks[week_of(i.created_at)].append(i)
    out = []
    for week, its in sorted(weeks.items()):
        holding = [i for i in its if unpack(i.entity_types)]
        out.append({"week": week, "reviewed": len(its),
                    "miss": Rate(sum(1 for i in its if any(
                        v.verdict == "missed" for v in by_item[i.item_id])), len(its)).to_dict(),
                    "false_positive": Rate(sum(1 for i in holding if any(
                        v.verdict == "not_pii" for v in by_item[i.item_id])),
                        len(holding)).to_dict()})
    return out


def _volume(items: Sequence[ReviewItemRow]) -> dict[str, dict[str, int]]:
    """Queued items by entity type, risk tier and sampling reason."""
    out: dict[str, dict[str, int]] = {"by_type": {}, "by_tier": {}, "by_reason": {}}
    for i in items:
        for key, names in (("by_type", unpack(i.entity_types)), ("by_tier", [i.tier]),
                           ("by_reason", unpack(i.reasons))):
            for n in names:
                out[key][n] = out[key].get(n, 0) + 1
    return {k: dict(sorted(v.items())) for k, v in out.items()}


def _has(vs: Sequence[VerdictRow], verdict: str, entity_type: str) -> bool:
    return any(v.verdict == verdict and v.entity_type == entity_type for v in vs)


def _overall(reviewed: Sequence[ReviewItemRow], by_item: dict[str, list[VerdictRow]],
             types: set[str]) -> dict[str, Any]:
    out = {}
    for t in sorted(types):
        holding = [i for i in reviewed if t in unpack(i.entity_types)]
        out[t] = {"miss": Rate(sum(1 for i in reviewed if _has(by_item[i.item_id], "missed",
                                                                t)), len(reviewed)).to_dict(),
                  "false_positive": Rate(sum(1 for i in holding if _has(
                      by_item[i.item_id], "not_pii", t)), len(holding)).to_dict()}
    return out


def _verdict_counts(groups: Iterable[list[VerdictRow]]) -> dict[str, int]:
    counts = {"correct": 0, "missed": 0, "not_pii": 0}
    for vs in groups:
        for v in vs:
            counts[v.verdict] = counts.get(v.verdict, 0) + 1
    return counts


def _agreement(groups: Iterable[list[VerdictRow]]) -> Rate:
    agree = n = 0
    for vs in groups:
        per: dict[str, set[tuple[str, str | None]]] = defaultdict(set)
        for v in vs:
            per[v.reviewer].add((v.verdict, v.entity_type))
        if len(per) >= 2:
            n += 1
            agree += len({frozenset(s) for s in per.values()}) == 1
    return Rate(agree, n)


def _time_to_review(reviewed: Sequence[ReviewItemRow],
                    by_item: dict[str, list[VerdictRow]]) -> dict[str, Any]:
    waits = [min(v.created_at for v in by_item[i.item_id]) - i.created_at for i in reviewed]
    if not waits:
        return {"median": None, "max": None, "n": 0}
    return {"median": round(statistics.median(waits), 1), "max": round(max(waits), 1),
            "n": len(waits)}
