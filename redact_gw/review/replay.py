"""Policy preview: replay proposed detection settings on the sealed review sample.

An admin proposes looser or stricter thresholds, or entity types to enable or
disable, for the whole tenant or one route. ``Replay`` opens the tenant's review
copies (newest first, at most ``PREVIEW_ITEMS``) and, for each:

- *newly caught*: runs detection with the proposed settings, and the gateway's own
  detection (today's settings), over the copy's text (segments and answer), with the
  tenant's approved allow/deny lists applied to both as on the request path; reports
  every proposed span outside the existing tokens (values already tokens stay tokens)
  that today's settings do not find: what the proposal would tokenize and today's
  settings would not;
- *would be dropped*: every detector-made token whose type the proposal disables,
  or whose score is below the proposed threshold for its type (reviewers' and
  list-made tokens are kept).

Results are offsets, types, scores and recognizers: never text. Each replay is
audited (``review.preview``) with its counts. The detector for the proposed
settings is built off the event loop (``build_detector``: it loads the spaCy model
into the gateway process) and kept for the next replay of the same settings.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from redact_gw.detection.base import Detector
from redact_gw.detection.entities import ENTITY_DESCRIPTIONS
from redact_gw.errors import InvalidInput
from redact_gw.model import Principal, Segment, Span
from redact_gw.policy.roles import Permission, require
from redact_gw.review.lists import RECOGNIZER as LIST_RECOGNIZER
from redact_gw.review.lists import LiveLists
from redact_gw.review.queue import ReviewService
from redact_gw.settings import DetectionSettings
from redact_gw.tokens import TOKEN_RE
from redact_gw.vault.review_base import ReviewQuery

PREVIEW_ITEMS = 500
#: Tokens no detection setting made: the preview never drops them.
KEPT_RECOGNIZERS = frozenset({"reviewer", "vault", LIST_RECOGNIZER, "DenyList"})
DetectorFactory = Callable[[DetectionSettings], Detector]
#: The gateway's own detection (today's settings), e.g. ``Redactor.detect``.
TodayDetection = Callable[[Sequence[Segment]], Awaitable[list[list[Span]]]]


@dataclass(frozen=True, slots=True)
class Proposal:
    """Detection settings an admin may enable (``parse`` checks a JSON body)."""

    thresholds: dict[str, float] = field(default_factory=dict)
    default_threshold: float | None = None
    enable: frozenset[str] = frozenset()
    disable: frozenset[str] = frozenset()
    route: str | None = None

    def settings(self, current: DetectionSettings) -> DetectionSettings:
        """The current settings with this proposal applied (disabled types are named
        in ``disabled_entities``, as a scoped override does: ``Override.settings``)."""
        entities = current.entities
        if entities is not None:
            entities = sorted(set(entities) | self.enable)
        return current.model_copy(update={
            "thresholds": {**current.thresholds, **self.thresholds},
            "default_threshold": (current.default_threshold if self.default_threshold
                                  is None else self.default_threshold),
            "entities": entities,
            "disabled_entities": (current.disabled_entities - self.enable) | self.disable})

    def preview_reason(self) -> str:
        """The audit ``reason`` of a replay of these settings (any route): a short
        fingerprint that a scoped apply (``rollout.py``) looks for."""
        doc = {k: v for k, v in self.to_dict().items() if k != "route"}
        return "proposal_" + hashlib.sha256(json.dumps(
            doc, sort_keys=True).encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``parse`` reads it back)."""
        return {"thresholds": dict(sorted(self.thresholds.items())),
                "default_threshold": self.default_threshold,
                "entities": {**{t: "enable" for t in sorted(self.enable)},
                             **{t: "disable" for t in sorted(self.disable)}},
                "route": self.route}


def _score(v: Any, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
        raise InvalidInput(f"{name} must be a number from 0 to 1", details={"field": name})
    return float(v)


def _known_map(doc: dict[str, Any], name: str) -> dict[str, Any]:
    v = doc.get(name, {})
    if not isinstance(v, dict) or len(v) > 64 or not all(k in ENTITY_DESCRIPTIONS for k in v):
        raise InvalidInput(f"{name} must map known entity types to values",
                           details={"field": name})
    return v


def parse(doc: dict[str, Any]) -> Proposal:
    """A proposal from a JSON object (``thresholds``: type -> 0..1, ``default_threshold``,
    ``entities``: type -> ``enable`` | ``disable``, ``route``); ``InvalidInput`` naming
    the bad field. An empty proposal replays today's settings (nothing changes)."""
    unknown = set(doc) - {"thresholds", "default_threshold", "entities", "route"}
    if unknown:
        raise InvalidInput("unknown field", details={"field": sorted(unknown)[0]})
    thresholds = {k: _score(v, f"thresholds.{k}")
                  for k, v in _known_map(doc, "thresholds").items()}
    entities = _known_map(doc, "entities")
    if not all(v in ("enable", "disable") for v in entities.values()):
        raise InvalidInput("entities values must be enable or disable",
                           details={"field": "entities"})
    default = doc.get("default_threshold")
    route = doc.get("route")
    if route is not None and (not isinstance(route, str) or not route or len(route) > 64):
        raise InvalidInput("route must be a route template", details={"field": "route"})
    return Proposal(thresholds,
                    None if default is None else _score(default, "default_threshold"),
                    frozenset(k for k, v in entities.items() if v == "enable"),
                    frozenset(k for k, v in entities.items() if v == "disable"), route)


def newly_caught(texts: Sequence[str], spans: Sequence[Sequence[Span]],
                 today: Sequence[Sequence[Span]]) -> list[tuple[int, Span]]:
    """Proposed spans (with their text's index) that touch no token and no span of
    today's settings: values the proposal alone would tokenize."""
    out = []
    for i, (text, found, now) in enumerate(zip(texts, spans, today, strict=True)):
        taken = [(m.start(), m.end()) for m in TOKEN_RE.finditer(text)]
        taken += [(s.start, s.end) for s in now]
        out += [(i, s) for s in found
                if not any(a < s.end and s.start < b for a, b in taken)]
    return out


def dropped(entities: Sequence[dict[str, Any]], proposed: DetectionSettings
            ) -> list[dict[str, Any]]:
    """Detector-made entities the proposed settings would no longer tokenize."""
    return [e for e in entities if e.get("recognizer") not in KEPT_RECOGNIZERS and (
        not proposed.enables(e["entity_type"])
        or e["score"] < proposed.threshold_for(e["entity_type"]))]


class Replay:
    """Replays proposals on the sealed sample; one cached detector of proposed settings."""

    def __init__(self, review: ReviewService, lists: LiveLists, today: TodayDetection,
                 factory: DetectorFactory | None = None) -> None:
        self.review = review
        self.lists = lists
        self.today = today
        self.factory: DetectorFactory = factory or _build
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="preview")
        self._cached: tuple[str, Detector] | None = None
        self._lock = asyncio.Lock()

    def close(self) -> None:
        """Stop the preview thread (app shutdown)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._cached = None

    async def _detector(self, settings: DetectionSettings) -> Detector:
        key = settings.model_dump_json()
        if self._cached is None or self._cached[0] != key:
            self._cached = None  # free the old model before loading another
            loop = asyncio.get_running_loop()
            self._cached = (key, await loop.run_in_executor(self._executor, self.factory,
                                                             settings))
        return self._cached[1]

    async def run(self, principal: Principal, proposal: Proposal) -> dict[str, Any]:
        """Replay ``proposal`` on the tenant's (or the route's) sealed sample."""
        require(principal, Permission.MANAGE_KEYS)
        proposed = proposal.settings(self.review.settings.detection)
        rows = await self.review.store.review_items(ReviewQuery(
            principal.tenant, route=proposal.route, limit=PREVIEW_ITEMS))
        async with self._lock:  # one replay at a time: one model, one thread
            detector = await self._detector(proposed)
            items = [await self._item(detector, proposed, principal.tenant, row)
                     for row in rows]
        totals = _totals(items)
        await self.review.audit.record("review.preview", principal=principal,
                                       outcome="replayed", reason=proposal.preview_reason(),
                                       counts=totals["by_type_caught"] or None)
        return {"proposal": proposal.to_dict(), "items_replayed": len(items),
                **{k: v for k, v in totals.items() if k != "by_type_caught"},
                "items": [i for i in items if i["newly_caught"] or i["dropped"]]}

    async def _item(self, detector: Detector, proposed: DetectionSettings, tenant: str,
                    row: Any) -> dict[str, Any]:
        doc = await self.review.open_copy(row)
        texts = [s["text"] for s in doc["segments"]]
        if doc.get("answer"):
            texts.append(doc["answer"])
        loop = asyncio.get_running_loop()
        spans = await loop.run_in_executor(self._executor, detector.detect,
                                           [Segment(t) for t in texts], [])
        spans = self.lists.apply(tenant, texts, spans, row.route)
        today = self.lists.apply(tenant, texts, await self.today(
            [Segment(t) for t in texts]), row.route)
        n_seg = len(doc["segments"])
        caught = [{"part": "answer" if i >= n_seg else "segments",
                   "segment": None if i >= n_seg else i, "start": s.start, "end": s.end,
                   "entity_type": s.entity_type, "score": round(s.score, 4),
                   "recognizer": s.recognizer}
                  for i, s in newly_caught(texts, spans, today)]
        gone = [{"token": e["token"], "entity_type": e["entity_type"],
                 "score": e["score"], "recognizer": e["recognizer"]}
                for e in dropped(doc["entities"], proposed)]
        return {"item_id": row.item_id, "route": row.route, "newly_caught": caught,
                "dropped": gone}


def _totals(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    by_type: dict[str, dict[str, int]] = {}
    for item in items:
        for key, found in (("newly_caught", item["newly_caught"]),
                           ("dropped", item["dropped"])):
            for f in found:
                t = by_type.setdefault(f["entity_type"], {"newly_caught": 0, "dropped": 0})
                t[key] += 1
    return {"values_newly_caught": sum(len(i["newly_caught"]) for i in items),
            "items_with_new_catches": sum(1 for i in items if i["newly_caught"]),
            "tokens_dropped": sum(len(i["dropped"]) for i in items),
            "items_with_dropped_tokens": sum(1 for i in items if i["dropped"]),
            "by_type": dict(sorted(by_type.items())),
            "by_type_caught": {t: v["newly_caught"] for t, v in by_type.items()
                               if v["newly_caught"]}}


def _build(settings: DetectionSettings) -> Detector:
    from redact_gw.detection import build_detector
    detector = build_detector(settings)
    detector.warm_up()
    return detector

