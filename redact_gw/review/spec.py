"""OpenAPI operations of ``/v1/review/*`` (merged into ``/openapi.json``).

The console's HTML pages are not API operations and are not documented here.
"""

from __future__ import annotations

from typing import Any

from redact_gw.detection.entities import ENTITY_DESCRIPTIONS
from redact_gw.proxy.spec import (
    _BODY_CODES,
    _body,
    _errors,
    _obj,
    _ok,
    _op,
    _path_param,
    _query,
    _ref,
)
from redact_gw.review.sampling import REASONS
from redact_gw.settings import Settings

ITEM_ID_PATTERN = "^rvw_[0-9a-f]{20}$"
TYPE_PATTERN = "^[A-Z][A-Z0-9_]{0,63}$"
_VAULT = ("vault_unavailable", "integrity_error")
#: A NUL in the path or query is refused before any handler (proxy middleware).
_NUL = ("nul_character",)
_BODY = (*_BODY_CODES, *_NUL)

_SUMMARY = _obj({
    "item_id": {"type": "string", "pattern": ITEM_ID_PATTERN},
    "record_id": {"type": "string"}, "route": {"type": "string"},
    "tier": {"enum": ["low", "medium", "high"]},
    "reasons": {"type": "array", "items": {"enum": list(REASONS)}},
    "entity_types": {"type": "array", "items": {"type": "string"}},
    "status": {"enum": ["open", "reviewed"]},
    "created_at": {"type": "string"}}, extra=True)


def operations(settings: Settings) -> dict[str, dict[str, Any]]:
    """The review API's paths."""
    purposes = list(settings.access.purposes)
    types = sorted(ENTITY_DESCRIPTIONS)
    item = _path_param("item_id", {"type": "string", "pattern": ITEM_ID_PATTERN},
                       "rvw_0123456789abcdef0123")
    proposal = _path_param("proposal_id", {"type": "string", "minLength": 1,
                                           "maxLength": 64}, "prp_0123456789abcdef0123")
    verdict = {"oneOf": [
        _obj({"verdict": {"const": "correct"}}, ["verdict"]),
        _obj({"verdict": {"const": "missed"},
              "part": {"const": "segments", "description": "A segment of what was sent"
                                                          " (the default)"},
              "segment": {"type": "integer", "minimum": 0},
              "start": {"type": "integer", "minimum": 0},
              "end": {"type": "integer", "minimum": 1},
              "entity_type": {"type": "string", "pattern": TYPE_PATTERN}},
             ["verdict", "segment", "start", "end", "entity_type"]),
        _obj({"verdict": {"const": "missed"},
              "part": {"const": "answer", "description": "The AI service's answer"},
              "start": {"type": "integer", "minimum": 0},
              "end": {"type": "integer", "minimum": 1},
              "entity_type": {"type": "string", "pattern": TYPE_PATTERN}},
             ["verdict", "part", "start", "end", "entity_type"]),
        _obj({"verdict": {"const": "not_pii"},
              "token": _ref("Token"),
              "purpose": {"enum": purposes or [""]}},
             ["verdict", "token", "purpose"])]}
    return {
        "/v1/review/items": {"get": _op(
            "review_items", "The review queue of the caller's tenant, newest first",
            _ok("Queued items (metadata only)", _obj({
                "items": {"type": "array", "items": _SUMMARY}}, ["items"])),
            params=[
                _query("route", {"type": "string", "maxLength": 64}, "Route template"),
                _query("tier", {"enum": ["", "low", "medium", "high"]}, "Risk tier"),
                _query("type", {"type": "string", "pattern": f"^({TYPE_PATTERN[1:-1]})?$"},
                       "Holds this entity type"),
                _query("reason", {"enum": ["", *REASONS]}, "Sampled for this reason"),
                _query("max_age_h", {"type": "string", "pattern": "^([1-9][0-9]{0,3})?$"},
                       "Queued at most this many hours ago"),
                _query("status", {"enum": ["", "open", "reviewed"]}, "Review status"),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 500},
                       "Page size (default 100)")],
            tag="review", errors=_errors(400, 403, 422, 503, only={
                400: _NUL, 422: ("invalid_input",), 503: _VAULT}))},
        "/v1/review/items/{item_id}": {"get": _op(
            "review_item", "One item: the tokenized copy the AI service saw, tokens"
                           " explained (type, score, recognizer); never a value",
            _ok("The item", _obj({
                "segments": {"type": "array", "items": {"type": "object"}},
                "answer": {"type": ["string", "null"]},
                "entities": {"type": "array", "items": {"type": "object"}}},
                ["segments", "entities"], extra=True)),
            params=[item], tag="review", errors=_errors(400, 403, 404, 410, 503, only={
                400: _NUL, 404: ("review_item_not_found",), 410: ("record_shredded",),
                503: _VAULT}))},
        "/v1/review/items/{item_id}/verdicts": {"post": _op(
            "review_verdict", "Record a verdict: correct, missed (the value is sealed as"
                              " a token) or not personal data (an audited reveal)",
            _ok("Recorded", _obj({"verdict": {"enum": ["correct", "missed", "not_pii"]},
                                  "token": _ref("Token"),
                                  "verdict_id": {"type": "string"},
                                  "proposal_id": {"type": "string"}}, ["verdict"])),
            params=[item], body=_body(verdict, example={"verdict": "correct"}),
            tag="review", errors=_errors(400, 403, 404, 410, 413, 422, 429, 503, only={
                400: _BODY, 404: ("review_item_not_found", "token_not_found"),
                410: ("purged", "record_shredded"), 413: ("payload_too_large",),
                422: ("invalid_input", "purpose_required", "unknown_purpose",
                      "malformed_token"), 503: _VAULT}))},
        "/v1/review/stats": {"get": _op(
            "review_stats", "Miss and false-positive rates per entity type, route and"
                            " week (Wilson 95% intervals), agreement, time to review",
            _ok("Quality figures", _obj({
                "reviewed_items": {"type": "integer"}, "queued_items": {"type": "integer"},
                "volume": {"type": "object"},
                "verdicts": {"type": "object"}, "by_type": {"type": "object"},
                "by_route_week": {"type": "array"}, "by_week": {"type": "array"},
                "agreement": {"type": "object"},
                "time_to_review_s": {"type": "object"}},
                ["reviewed_items", "by_type", "by_route_week"], extra=True)),
            tag="review", errors=_errors(403, 503, only={503: _VAULT}))},
        "/v1/review/preview/threshold": {"get": _op(
            "review_preview_threshold", "Replay a stricter threshold for one entity type on"
                                        " the sealed review sample (tokens it would drop);"
                                        " admins",
            _ok("Counts", _obj({
                "entity_type": {"type": "string"}, "threshold": {"type": "number"},
                **{k: {"type": "integer", "minimum": 0} for k in (
                    "items_replayed", "tokens_dropped", "items_with_dropped_tokens")}})),
            params=[{**_query("entity_type", {"type": "string", "pattern": TYPE_PATTERN},
                              "Entity type"), "required": True},
                    {**_query("threshold", {"type": "number", "minimum": 0, "maximum": 1},
                              "Proposed threshold"), "required": True}],
            tag="review", errors=_errors(400, 403, 422, 503, only={
                400: _NUL, 422: ("invalid_input",), 503: _VAULT}))},
        "/v1/review/preview/detection": {"post": _op(
            "review_preview_detection", "Replay proposed thresholds (looser or stricter) and"
                                        " entity types to enable or disable on the sealed"
                                        " review sample, tenant-wide or for one route:"
                                        " values newly caught and tokens dropped, per item"
                                        " and in totals (offsets and types, never text);"
                                        " audited; admins",
            _ok("What would change", _obj({
                "proposal": {"type": "object"},
                **{k: {"type": "integer", "minimum": 0} for k in (
                    "items_replayed", "values_newly_caught", "items_with_new_catches",
                    "tokens_dropped", "items_with_dropped_tokens")},
                "by_type": {"type": "object"},
                "items": {"type": "array", "items": {"type": "object"}}},
                ["items_replayed", "values_newly_caught", "tokens_dropped", "items"],
                extra=True)),
            body=_body(_obj({
                **_settings_change(types, {"enum": ["enable", "disable"]}),
                "route": {"type": ["string", "null"], "minLength": 1, "maxLength": 64,
                          "description": "Replay only this route's items"}}, []),
                example={"thresholds": {"PERSON": 0.3}, "entities": {"URL": "disable"},
                         "route": "/v1/redact"}),
            tag="review", errors=_errors(400, 403, 413, 422, 503, only={
                400: _BODY, 413: ("payload_too_large",), 422: ("invalid_input",),
                503: (*_VAULT, "not_ready", "detection_failed", "detection_timeout",
                      "detection_overloaded")}))},
        **_rollout(types),
        "/v1/review/proposals": {
            "get": _op(
                "review_proposals", "Allow/deny-list candidates (values masked); admins",
                _ok("Candidates", _obj({"proposals": {"type": "array", "items": _obj({
                    "proposal_id": {"type": "string"}, "kind": {"enum": ["allow", "deny"]},
                    "entity_type": {"type": "string"},
                    "status": {"enum": ["pending", "approved", "rejected"]},
                    "proposed_by": {"type": "string"},
                    "masked": {"type": ["string", "null"]}}, extra=True)}},
                    ["proposals"])),
                tag="review", errors=_errors(403, 503, only={503: _VAULT})),
            "post": _op(
                "review_promote", "Promote a missed value (by its verdict), or its shape,"
                                  " to a deny-list candidate; admins",
                _ok("The candidate", _obj({"proposal_id": {"type": "string"},
                                           "kind": {"const": "deny"},
                                           "status": {"const": "pending"}},
                                          ["proposal_id"])),
                body=_body(_obj({"verdict_id": {"type": "string", "minLength": 1,
                                                "maxLength": 128},
                                 "pattern": {"type": "boolean", "description":
                                             "Promote the value's shape (each digit a #)"
                                             " instead of the value"}}, ["verdict_id"]),
                           example={"verdict_id": "vdt_0123456789abcdef0123"}),
                tag="review", errors=_errors(400, 403, 404, 410, 413, 422, 503, only={
                    400: _BODY, 404: ("review_item_not_found",),
                    410: ("record_shredded",), 413: ("payload_too_large",),
                    422: ("invalid_input",), 503: _VAULT}))},
        "/v1/review/proposals/{proposal_id}/preview": {"get": _op(
            "review_preview", "Replay a candidate on the sealed review sample: values"
                              " newly caught, tokens dropped (counts only); admins",
            _ok("Counts", _obj({k: {"type": "integer", "minimum": 0} for k in (
                "items_replayed", "values_newly_caught", "items_with_new_catches",
                "tokens_dropped", "items_with_dropped_tokens")})),
            params=[proposal], tag="review", errors=_errors(400, 403, 404, 503, only={
                400: _NUL, 404: ("review_item_not_found",), 503: _VAULT}))},
        "/v1/review/proposals/{proposal_id}/decision": {"post": _op(
            "review_decide", "Approve (applied at once, no restart; one route first or"
                             " every route) or reject a candidate, or widen or withdraw"
                             " a single-route approval; audited; admins",
            _ok("Decided", _obj({"proposal_id": {"type": "string"},
                                 "status": {"enum": ["approved", "rejected"]}},
                                ["proposal_id", "status"])),
            params=[proposal], body=_body(_obj({
                "approve": {"type": "boolean"},
                "route": {"type": ["string", "null"], "maxLength": 200,
                          "description": "Approve for this route template of the gateway"
                                         " only (phased; another string is a 422);"
                                         " absent, null or empty: every route"}},
                ["approve"]), example={"approve": True, "route": "/v1/redact"}),
            tag="review", errors=_errors(400, 403, 404, 413, 422, 503, only={
                400: _BODY, 404: ("review_item_not_found",),
                413: ("payload_too_large",), 422: ("invalid_input",), 503: _VAULT}))},
    }


def _settings_change(types: list[str], entity_change: dict[str, Any]) -> dict[str, Any]:
    """Body properties of a detection settings change (preview and rollout)."""
    return {
        "thresholds": {"type": "object", "maxProperties": 64,
                       "propertyNames": {"enum": types},
                       "additionalProperties": {
                           "type": "number", "minimum": 0, "maximum": 1}},
        "default_threshold": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
        "entities": {"type": "object", "maxProperties": 64,
                     "propertyNames": {"enum": types},
                     "additionalProperties": entity_change}}


_OVERRIDE = _obj({
    "scope": {"type": "string"}, "override_id": {"type": "string"},
    "thresholds": {"type": "object"}, "default_threshold": {"type": ["number", "null"]},
    "disable": {"type": "array", "items": {"type": "string"}},
    "applied_by": {"type": "string"}, "applied_at": {"type": "number"},
    "verified": {"type": "boolean"},
    "known_route": {"type": "boolean", "description": "Apply only: the scope is a route"
                                                      " this gateway serves (an unknown"
                                                      " template applies to nothing)"}},
    extra=True)
_SCOPE = {"type": "string", "pattern": r"^(\*|/[!-~]{0,63})$",
          "description": "A route template of the gateway (starting with /), or * for"
                         " every route of the tenant"}


def _rollout(types: list[str]) -> dict[str, Any]:
    """``/v1/review/rollout``: scoped detection overrides (``review/rollout.py``)."""
    errors = {400: _BODY, 413: ("payload_too_large",), 422: ("invalid_input",),
              503: _VAULT}
    return {
        "/v1/review/rollout": {
            "get": _op("review_rollout_list", "The tenant's detection overrides per route"
                                              " or tenant, each with whether its"
                                              " signature verifies; reviewers and admins",
                       _ok("Overrides", _obj({"overrides": {"type": "array",
                                                            "items": _OVERRIDE}},
                                             ["overrides"])),
                       tag="review", errors=_errors(403, 503, only={503: _VAULT})),
            "post": _op(
                "review_rollout_apply", "Apply previewed detection settings to routes or"
                                        " the whole tenant, live; loosening needs an admin"
                                        " and a preview of the same settings"
                                        " (review.rollout_preview_h); audited",
                _ok("Applied", _obj({"applied": {"type": "array", "items": _OVERRIDE}},
                                    ["applied"])),
                body=_body({**_obj({
                    **_settings_change(types, {"const": "disable"}),
                    "scopes": {"type": "array", "minItems": 1, "maxItems": 32,
                               "items": _SCOPE}}, ["scopes"]),
                    # something to change: a threshold, the default, or a type disabled
                    "anyOf": [
                        {"required": ["thresholds"],
                         "properties": {"thresholds": {"minProperties": 1}}},
                        {"required": ["default_threshold"],
                         "properties": {"default_threshold": {"type": "number"}}},
                        {"required": ["entities"],
                         "properties": {"entities": {"minProperties": 1}}}]},
                    example={"thresholds": {"PERSON": 0.3}, "scopes": ["/v1/redact"]}),
                tag="review", errors=_errors(400, 403, 413, 422, 503, only={
                    **errors, 403: ("forbidden", "preview_required")}))},
        "/v1/review/rollout/rollback": {"post": _op(
            "review_rollout_rollback", "Remove the override of one scope (it returns to"
                                       " the tenant's, or the gateway's settings); audited",
            _ok("Rolled back", _obj({"rolled_back": {"type": "string"}}, ["rolled_back"])),
            body=_body(_obj({"scope": _SCOPE}, ["scope"]), example={"scope": "/v1/redact"}),
            tag="review", errors=_errors(400, 403, 404, 413, 422, 503, only={
                **errors, 404: ("override_not_found",)}))},
    }
