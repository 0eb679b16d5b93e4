"""Allow/deny-list candidates: promote a missed value, preview a change on the sealed
sample, approve (applied live) or reject. Admins only (``manage_keys``); every
decision is audited. Values are shown masked; they stay sealed under their record.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from redact_gw.errors import InvalidInput, NotFound
from redact_gw.model import Principal
from redact_gw.policy.roles import Permission, require
from redact_gw.redaction import mask, normalize
from redact_gw.review.lists import LiveLists, entry_pattern, open_entry, shape_of
from redact_gw.review.queue import ReviewService
from redact_gw.review.sealing import open_json, seal_json
from redact_gw.tokens import TOKEN_RE
from redact_gw.vault.review_base import ProposalRow, ReviewQuery

PREVIEW_ITEMS = 500


def open_text(doc: dict[str, object] | None) -> str | None:
    """What a candidate holds: its value, or a pattern's shape."""
    text = doc.get("value", doc.get("shape")) if doc is not None else None
    return text if isinstance(text, str) else None


@dataclass(frozen=True, slots=True)
class Preview:
    """What a list change would do on the sealed review sample."""

    items: int
    newly_caught: int
    items_caught: int
    dropped: int
    items_dropped: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form (counts only)."""
        return {"items_replayed": self.items, "values_newly_caught": self.newly_caught,
                "items_with_new_catches": self.items_caught,
                "tokens_dropped": self.dropped, "items_with_dropped_tokens":
                    self.items_dropped}


class Proposals:
    """The admin's side of the review lists."""

    def __init__(self, review: ReviewService) -> None:
        self.review = review

    async def listing(self, principal: Principal) -> list[dict[str, Any]]:
        """Every candidate of the tenant, value masked."""
        require(principal, Permission.MANAGE_KEYS)
        out = []
        for row in await self.review.store.review_proposals(principal.tenant, None):
            doc = await open_entry(self.review.vault, row)
            value = open_text(doc)
            out.append({"proposal_id": row.proposal_id, "kind": row.kind,
                        "entity_type": row.entity_type, "status": row.status,
                        "proposed_by": row.proposed_by,
                        "pattern": doc is not None and "shape" in doc,
                        "route": row.route,
                        "masked": mask(row.entity_type, value) if value else None})
        return out

    async def promote(self, principal: Principal, verdict_id: str,
                      pattern: bool = False) -> str:
        """A missed value (its sealed regression case) becomes a deny-list candidate:
        the value itself, or (``pattern``) its shape, each digit a ``#``, so every
        value written the same way is caught (``ACME-123456`` -> ``ACME-######``)."""
        require(principal, Permission.MANAGE_KEYS)
        v = await self.review.store.get_verdict(principal.tenant, verdict_id)
        if v is None or v.verdict != "missed" or v.sealed_case is None or v.dek_id is None:
            raise NotFound("no missed value with that id", code="review_item_not_found")
        _record, dek = await self.review.vault.data_key(v.tenant, v.record_id)
        case = open_json(dek, "case", v.tenant, v.record_id, v.verdict_id, v.dek_id,
                         v.sealed_case)
        value = case["segment"][case["start"]:case["end"]]
        entry: dict[str, str] = {"value": value}
        if pattern:
            entry = {"shape": shape_of(value)}
            if "#" not in entry["shape"] or len(value.strip()) < 4:
                raise InvalidInput("only a value with digits (4 characters or more) has a"
                                   " pattern; promote the value itself",
                                   details={"field": "pattern"})
        proposal_id = "prp_" + secrets.token_hex(10)
        await self.review.store.add_proposal(ProposalRow(
            v.tenant, proposal_id, "deny", case["entity_type"], v.record_id, v.dek_id,
            seal_json(dek, "candidate", v.tenant, v.record_id, proposal_id, v.dek_id,
                      entry), "pending", principal.name, self.review.clock()))
        return proposal_id

    async def _pending(self, principal: Principal, proposal_id: str
                       ) -> tuple[ProposalRow, dict[str, object]]:
        require(principal, Permission.MANAGE_KEYS)
        rows = await self.review.store.review_proposals(principal.tenant, None)
        row = next((r for r in rows if r.proposal_id == proposal_id), None)
        doc = await open_entry(self.review.vault, row) if row is not None else None
        if row is None or doc is None or open_text(doc) is None:
            raise NotFound("unknown list candidate", code="review_item_not_found")
        return row, doc

    async def preview(self, principal: Principal, proposal_id: str) -> Preview:
        """Replay the change on the tenant's sealed review copies: occurrences a deny
        entry would newly catch, tokens an allow entry would no longer make."""
        row, entry = await self._pending(principal, proposal_id)
        value = open_text(entry) or ""
        pattern = entry_pattern(entry)
        items = await self.review.store.review_items(ReviewQuery(principal.tenant,
                                                                 limit=PREVIEW_ITEMS))
        caught = items_caught = dropped = items_dropped = 0
        key = normalize(row.entity_type, value)
        for item in items:
            doc = await self.review.open_copy(item)
            texts = [s["text"] for s in doc["segments"]] + ([doc["answer"]]
                                                            if doc.get("answer") else [])
            if row.kind == "deny":
                n = sum(1 for t in texts for _ in (pattern.finditer(TOKEN_RE.sub(" ", t))
                                                   if pattern is not None else ()))
                caught += n
                items_caught += n > 0
            else:
                tokens = [e["token"] for e in doc["entities"]
                          if e["entity_type"] == row.entity_type]
                values = await self.review.vault.reveal(item.tenant, item.record_id,
                                                        tokens) if tokens else {}
                n = sum(1 for r in values.values() if normalize(r.entity_type, r.value) == key)
                dropped += n
                items_dropped += n > 0
        return Preview(len(items), caught, items_caught, dropped, items_dropped)

    async def decide(self, principal: Principal, proposal_id: str, approve: bool,
                     lists: LiveLists, route: Any = None,
                     templates: Collection[str] = ()) -> str:
        """Approve (for one ``route`` of ``templates`` first, or every route; applied
        live at once) or reject a pending candidate; widen (approve, no route) or
        withdraw (reject) one approved for a single route. Audited with the route."""
        row, _entry = await self._pending(principal, proposal_id)
        if route == "":
            route = None
        if route is not None and (not isinstance(route, str) or route not in templates):
            raise InvalidInput("route must be a route template of this gateway",
                               details={"field": "route"})
        phased = row.status == "approved" and row.route is not None
        if row.status != "pending" and not phased:
            raise InvalidInput("this candidate was already decided",
                               details={"field": "proposal_id"})
        status = "approved" if approve else "rejected"
        if not await self.review.store.decide_proposal(
                principal.tenant, proposal_id, status, principal.name, self.review.clock(),
                route if approve else None):
            raise InvalidInput("this candidate was already decided",
                               details={"field": "proposal_id"})
        await self.review.audit.record("review.list_change", principal=principal,
                                       record_id=row.record_id, outcome=status,
                                       reason=f"{row.kind}_list",
                                       counts={row.entity_type: 1},
                                       extra_counts={"routes": {route: 1}}
                                       if approve and route else None)
        await lists.refresh(self.review.vault, [principal.tenant])
        return status

    async def preview_threshold(self, principal: Principal, entity_type: str,
                                threshold: float) -> dict[str, Any]:
        """Replay a stricter threshold for one type on the sealed sample: tokens scored
        below it would no longer be made. (A looser one cannot be replayed: spans under
        the current threshold were never kept.)"""
        require(principal, Permission.MANAGE_KEYS)
        items = await self.review.store.review_items(ReviewQuery(
            principal.tenant, entity_type=entity_type, limit=PREVIEW_ITEMS))
        dropped = affected = 0
        for item in items:
            doc = await self.review.open_copy(item)
            n = sum(1 for e in doc["entities"] if e["entity_type"] == entity_type
                    and e["recognizer"] != "reviewer" and e["score"] < threshold)
            dropped += n
            affected += n > 0
        return {"entity_type": entity_type, "threshold": threshold,
                "items_replayed": len(items), "tokens_dropped": dropped,
                "items_with_dropped_tokens": affected}
