"""Reveals: the one path from a token back to its value, for HTTP and the CLI alike.

``Reveals.detokenize`` checks the detokenize permission, the purpose, the record id
and the tokens, consumes the principal's hourly quota, restores what the principal's
roles allow (full, masked or withheld per entity type) and audits the reveal, granted
or denied. ``POST /v1/detokenize`` and ``redact-gw detokenize`` both call it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redact_gw.audit import AuditLog
from redact_gw.errors import Gone, InvalidInput, NotFound, RedactGwError, TooManyRequests
from redact_gw.metrics import Metrics
from redact_gw.model import Clock, Principal
from redact_gw.policy.roles import Permission, RolePolicy, require
from redact_gw.redaction import Restored, mask, restore
from redact_gw.streaming.guard import answer_record_id
from redact_gw.tokens import TOKEN_RE, find_tokens
from redact_gw.transcripts.shapes import check_id as _check_id
from redact_gw.vault.base import VaultStore
from redact_gw.vault.service import Vault

MAX_REVEAL_TOKENS = 1000
ANSWERS_SUFFIX = answer_record_id("")

#: Error code of a refused reveal -> its ``redact_gw_reveals_total`` outcome.
_REVEAL_REFUSALS = {
    "forbidden": "forbidden", "purpose_required": "purpose_required",
    "unknown_purpose": "unknown_purpose", "quota_exceeded": "quota_exceeded",
    "not_found": "not_found", "record_not_found": "not_found",
    "token_not_found": "not_found", "purged": "purged", "record_shredded": "purged",
    "invalid_input": "invalid", "malformed_token": "invalid", "bad_request": "invalid",
    "malformed_json": "invalid", "invalid_utf8": "invalid", "empty_body": "invalid",
    "payload_too_large": "invalid",
}


def require_id(value: Any, name: str, *, required: bool = True) -> str:
    """A record id (``<record>~answers`` too: privileged roles may reveal and inspect
    the values the gateway found in AI answers like any record)."""
    if isinstance(value, str) and value.endswith(ANSWERS_SUFFIX):
        return require_id(value.removesuffix(ANSWERS_SUFFIX), name) + ANSWERS_SUFFIX
    checked = _check_id(value, name, required=required)
    assert checked is not None
    return checked


def requested_tokens(doc: dict[str, Any]) -> tuple[str | None, list[str]]:
    """``text`` or ``tokens`` of a reveal request -> (text, distinct tokens)."""
    text, tokens = doc.get("text"), doc.get("tokens")
    if (text is None) == (tokens is None):
        raise InvalidInput("give exactly one of text or tokens", details={"field": "text"})
    if text is not None:
        if not isinstance(text, str):
            raise InvalidInput("text must be a string", details={"field": "text"})
        found = list(dict.fromkeys(m.token for m in find_tokens(text)))
    else:
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise InvalidInput("tokens must be a list of strings", details={"field": "tokens"})
        for i, t in enumerate(tokens):
            if not TOKEN_RE.fullmatch(t):
                raise InvalidInput("not a token", code="malformed_token",
                                   details={"field": f"tokens[{i}]"})
        found = list(dict.fromkeys(tokens))
    if len(found) > MAX_REVEAL_TOKENS:
        raise InvalidInput(f"at most {MAX_REVEAL_TOKENS} tokens per request",
                           details={"field": "tokens"})
    return text, found


def _one(value: Any, mode: Any) -> dict[str, Any]:
    m = mode(value.entity_type)
    out: dict[str, Any] = {"token": value.token, "entity_type": value.entity_type, "mode": m}
    if m == "full":
        out["value"] = value.value
    elif m == "masked":
        out["value"] = mask(value.entity_type, value.value)
    return out


@dataclass(frozen=True, slots=True)
class Reveals:
    """Everything a reveal needs; ``metrics`` is ``None`` outside the gateway."""

    vault: Vault
    store: VaultStore
    roles: RolePolicy
    audit: AuditLog
    clock: Clock
    purposes: tuple[str, ...]
    metrics: Metrics | None = None
    #: Called with (principal, record id, request) when a reveal is refused as
    #: forbidden or over quota (the gateway offers it to the review queue).
    on_refused: Callable[[Principal, str, dict[str, Any]], Awaitable[None]] | None = None

    def _vault_op(self, operation: str) -> contextlib.AbstractContextManager[None]:
        if self.metrics is None:
            return contextlib.nullcontext()
        return self.metrics.vault_operation(operation)

    async def detokenize(self, principal: Principal,
                         load: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        """The answer to a reveal request (``record_id``, ``purpose``, ``text`` or
        ``tokens``) read by ``load``; every refusal is counted and audited."""
        doc: dict[str, Any] = {}
        try:
            require(principal, Permission.DETOKENIZE)
            doc = await load()
            purpose = self.roles.check_purpose(doc.get("purpose"))
            record_id = require_id(doc.get("record_id"), "record_id", required=True)
            text, tokens = requested_tokens(doc)
            return await self._reveal(principal, record_id, purpose, text, tokens)
        except RedactGwError as exc:
            outcome = "error" if exc.status >= 500 else _REVEAL_REFUSALS.get(exc.code, "denied")
            if self.metrics is not None:
                self.metrics.reveals.labels(self.roles.label(principal), outcome).inc()
            rid = doc.get("record_id") if isinstance(doc.get("record_id"), str) else None
            if (self.on_refused is not None and exc.code in ("forbidden", "quota_exceeded")
                    and rid and len(rid) <= 128):
                await self.on_refused(principal, rid, doc)
            if exc.code not in ("quota_exceeded",):  # quota refusals are audited in _reveal
                purpose_in = doc.get("purpose") if isinstance(doc.get("purpose"), str) else None
                await self.audit.record("reveal", principal=principal, outcome="denied",
                                        record_id=rid if rid and len(rid) <= 128 else None,
                                        purpose=purpose_in if purpose_in in self.purposes
                                        else None, reason=exc.code)
            raise

    async def _reveal(self, principal: Principal, record_id: str, purpose: str,
                      text: str | None, tokens: list[str]) -> dict[str, Any]:
        with self._vault_op("read"):
            values = await self.vault.reveal(principal.tenant, record_id, tokens)
        missing = [t for t in tokens if t not in values]
        if missing:
            with self._vault_op("read"):
                removed = await self.vault.removed_tokens(principal.tenant, record_id, missing)
            if len(removed) < len(missing):
                raise NotFound("a token does not belong to this record", code="token_not_found")
            raise Gone()
        def mode(entity_type: str) -> Any:
            return self.roles.reveal_mode(principal, entity_type)
        shown = sum(1 for v in values.values() if mode(v.entity_type) != "none")
        if shown:
            with self._vault_op("write"):
                await self._consume_quota(principal, record_id, purpose, shown)
        if text is not None:
            result = restore(text, values, mode)
            body: dict[str, Any] = {"record_id": record_id, "text": result.text}
        else:
            result = restore(" ".join(tokens), values, mode)
            body = {"record_id": record_id, "values": [_one(values[t], mode) for t in tokens]}
        body.update(revealed=result.revealed, masked=result.masked, withheld=result.withheld)
        counts: dict[str, int] = {}
        for v in values.values():
            counts[v.entity_type] = counts.get(v.entity_type, 0) + 1
        with self._vault_op("write"):
            await self.audit.record("reveal", principal=principal, record_id=record_id,
                                    purpose=purpose, outcome="granted" if shown else "withheld",
                                    counts=counts,
                                    extra_counts={"revealed": result.revealed,
                                                  "masked": result.masked,
                                                  "withheld": result.withheld})
        self._count(principal, result)
        return body

    def _count(self, principal: Principal, result: Restored) -> None:
        """A granted reveal: the request by its most revealing outcome, values by outcome."""
        if self.metrics is None:
            return
        metrics, role = self.metrics, self.roles.label(principal)
        per_outcome = {"revealed": sum(result.revealed.values()),
                       "masked": sum(result.masked.values()),
                       "withheld": sum(result.withheld.values())}
        for outcome, n in per_outcome.items():
            if n:
                metrics.reveal_values.labels(role, outcome).inc(n)
        outcome = next((o for o, n in per_outcome.items() if n), "withheld")
        metrics.reveals.labels(role, outcome).inc()

    async def _consume_quota(self, principal: Principal, record_id: str, purpose: str,
                             amount: int) -> None:
        limit = self.roles.quota_per_hour(principal)
        now = self.clock()
        window = math.floor(now / 3600) * 3600
        granted, used = await self.store.consume_quota(principal.tenant, principal.name,
                                                       window, amount, limit)
        if not granted:
            await self.audit.record("reveal", principal=principal, record_id=record_id,
                                    purpose=purpose, outcome="denied", reason="quota_exceeded",
                                    extra_counts={"quota": {"limit": limit, "used": used,
                                                            "asked": amount}})
            raise TooManyRequests(f"reveal quota of {limit} values per hour exceeded",
                                  details={"retry_after_s": int(window + 3600 - now)})

