"""Allow and deny lists approved from reviews, applied live (no restart), per tenant.

Entries are proposals an admin approved (``review_proposals``); their values stay
sealed under the record they came from and are opened into this process's memory
only. Erasing or shredding that record drops the entry at the next refresh. The
detector's own configured lists are untouched: these adjust its spans afterwards,
in the gateway process, for requests tokenized through ``Redactor.redact``.

- allow: a span whose (type, normalized value) is approved is not tokenized;
- deny: every whole-word, case-insensitive occurrence of an approved value, or of an
  approved pattern (a missed value's shape: ``#`` for each digit), is tokenized as
  its type unless a detected span already covers it.

An entry approved for one route (phased rollout) applies only to requests of that
route template (``ROUTE``, set per request by the proxy's outermost middleware); the
admin widens it to every route, or withdraws it, later.
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from redact_gw.errors import RedactGwError
from redact_gw.model import Span
from redact_gw.redaction import normalize
from redact_gw.review.sealing import open_json
from redact_gw.vault.review_base import ProposalRow
from redact_gw.vault.service import Vault

log = logging.getLogger(__name__)
RECOGNIZER = "ReviewDenyList"
#: The route template of the request being handled (``None`` outside requests).
ROUTE: contextvars.ContextVar[str | None] = contextvars.ContextVar("lists_route",
                                                                  default=None)


@dataclass(slots=True)
class TenantLists:
    """One tenant's approved entries; each with the one route it applies to, or
    ``None`` for every route."""

    allow: dict[tuple[str, str], set[str | None]] = field(default_factory=dict)
    deny: list[tuple[str, re.Pattern[str], str | None]] = field(default_factory=list)

    def for_route(self, route: str | None) -> TenantLists:
        """The entries that apply to requests of ``route``."""
        return TenantLists(
            {k: {None} for k, scopes in self.allow.items() if None in scopes
             or route in scopes},
            [(t, p, None) for t, p, r in self.deny if r is None or r == route])


def deny_pattern(value: str) -> re.Pattern[str]:
    """Whole-word, case-insensitive, any run of spaces between words."""
    words = [re.escape(w) for w in value.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def shape_of(value: str) -> str:
    """A missed value generalized to a pattern: each digit becomes ``#``, the rest is
    kept (``ACME-123456`` -> ``ACME-######``, ``MX 88 413`` -> ``MX ## ###``)."""
    return "".join("#" if ch.isdigit() else ch for ch in value)


def shape_pattern(shape: str) -> re.Pattern[str]:
    """Whole-word matches of a shape: ``#`` is any digit, other characters literal
    (letters in any case). Linear: no repetition an input could blow up."""
    parts = [r"\d" if ch == "#" else re.escape(ch) for ch in shape.strip()]
    return re.compile(r"(?<!\w)" + "".join(parts) + r"(?!\w)", re.IGNORECASE)


def entry_pattern(doc: dict[str, object]) -> re.Pattern[str] | None:
    """The deny pattern of an approved entry: its value, or its shape."""
    shape, value = doc.get("shape"), doc.get("value")
    if isinstance(shape, str) and "#" in shape:
        return shape_pattern(shape)
    if isinstance(value, str) and value.strip():
        return deny_pattern(value)
    return None


def adjust(lists: TenantLists | None, texts: Sequence[str],
           spans: Sequence[Sequence[Span]], route: str | None = None) -> list[list[Span]]:
    """Apply one tenant's lists, as they stand for ``route``, to detected spans (pure)."""
    if lists is not None:
        lists = lists.for_route(route)
    if lists is None or (not lists.allow and not lists.deny):
        return [list(s) for s in spans]
    out = []
    for text, found in zip(texts, spans, strict=True):
        kept = [s for s in found if (s.entity_type, normalize(
            s.entity_type, text[s.start:s.end], s.normalized)) not in lists.allow]
        for etype, pattern, _route in lists.deny:
            for m in pattern.finditer(text):
                if not any(s.start < m.end() and m.start() < s.end for s in kept):
                    kept.append(Span(m.start(), m.end(), etype, 1.0, RECOGNIZER,
                                     explanation="on the deny list approved from reviews"))
        out.append(sorted(kept, key=lambda s: s.start))
    return out


class LiveLists:
    """Approved entries of every tenant, refreshed from the store."""

    def __init__(self) -> None:
        self.tenants: dict[str, TenantLists] = {}

    def apply(self, tenant: str, texts: Sequence[str], spans: Sequence[Sequence[Span]],
              route: str | None = None) -> list[list[Span]]:
        """The tenant's lists over detected spans, for ``route`` (default: the route of
        the request being handled)."""
        return adjust(self.tenants.get(tenant), texts, spans, route or ROUTE.get())

    async def refresh(self, vault: Vault, tenants: Sequence[str]) -> None:
        """Re-open every approved entry of the given tenants (replaces their lists)."""
        for tenant in tenants:
            fresh = TenantLists()
            for row in await vault.store.review_proposals(tenant, "approved"):
                doc = await open_entry(vault, row)
                value = doc.get("value") if doc is not None else None
                if doc is None:
                    continue
                if row.kind == "allow" and isinstance(value, str):
                    fresh.allow.setdefault((row.entity_type, normalize(
                        row.entity_type, value)), set()).add(row.route)
                elif row.kind == "deny" and (pattern := entry_pattern(doc)) is not None:
                    fresh.deny.append((row.entity_type, pattern, row.route))
            self.tenants[tenant] = fresh


async def open_entry(vault: Vault, row: ProposalRow) -> dict[str, object] | None:
    """A candidate's sealed document (``value``, or ``shape`` for a pattern), or
    ``None`` once its record was erased or shredded."""
    try:
        _record, dek = await vault.data_key(row.tenant, row.record_id)
        doc = open_json(dek, "candidate", row.tenant, row.record_id, row.proposal_id,
                        row.dek_id, row.sealed)
    except RedactGwError as exc:
        log.info("review list entry unavailable (%s)", exc.code)
        return None
    return doc if isinstance(doc, dict) else None

