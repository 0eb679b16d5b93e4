"""The gateway's OpenAPI 3.1 document, built from settings: ``GET /openapi.json``.

``build_spec(settings)`` describes every route ``create_app`` registers, the configured
generic ``routes:`` included, with the shapes and limits the handlers actually enforce
(ids, token grammar, purposes, segment and message limits from settings) and every
status a handler can answer with its error codes. It is kept honest by
``tests/proxy/test_openapi.py`` (router and document list the same operations) and
``tests/proxy/test_fuzz_api.py`` (schemathesis drives the live app from this document).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from redact_gw import __version__
from redact_gw.asr_formats import FORMATS
from redact_gw.proxy import appkeys
from redact_gw.proxy.bodies import json_response
from redact_gw.settings import RouteSettings, Settings
from redact_gw.streaming.guard import answer_record_id
from redact_gw.tokens import ID_LENGTH, TYPE_PATTERN

Schema = dict[str, Any]

#: ``transcripts.shapes.check_id``: the one rule for record and subject ids.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"
#: Record ids of reveals and record endpoints may name the ``<record>~answers`` sibling.
RECORD_PATTERN = ID_PATTERN[:-1] + "(" + answer_record_id("") + ")*$"
TOKEN_PATTERN = (r"^\[\[" + TYPE_PATTERN + r":[a-z2-7]{" + str(ID_LENGTH) + r"}\]\]$")
#: ``logs.REQUEST_ID_RE``: an incoming id of this form is kept, any other replaced.
REQUEST_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
COUNTS_PATTERN = (r"^(" + TYPE_PATTERN + r"=[0-9]+(," + TYPE_PATTERN + r"=[0-9]+)*)?$")

#: Every machine code the gateway can answer, by status (``redact_gw.errors``).
ERROR_CODES: dict[int, tuple[str, ...]] = {
    400: ("malformed_json", "invalid_utf8", "empty_body", "too_deep", "invalid_number",
          "nul_character", "subject_required"),
    401: ("unauthorized",),
    403: ("forbidden", "preview_required"),
    404: ("record_not_found", "token_not_found", "optout_not_found",
          "review_item_not_found", "override_not_found"),
    408: ("request_timeout",),
    410: ("purged", "record_shredded"),
    413: ("payload_too_large", "too_many_messages", "too_many_numbers"),
    415: ("unsupported_media_type",),
    422: ("invalid_input", "purpose_required", "unknown_purpose", "malformed_token",
          "risk_refused", "unredactable_content", "subject_mismatch", "unknown_assist"),
    426: ("upgrade_required",),
    429: ("quota_exceeded", "too_many_requests"),
    451: ("subject_opted_out",),
    502: ("upstream_error", "upstream_unreachable", "upstream_answer_too_large",
          "upstream_not_json", "answer_scan_failed"),
    503: ("not_ready", "detection_failed", "detection_timeout", "detection_overloaded",
          "detection_worker_lost", "shutting_down", "vault_unavailable", "integrity_error",
          "detection_scope_unsupported"),
    504: ("upstream_timeout",),
}
_STATUS_TEXT = {400: "The body could not be read", 401: "Missing or unknown API key",
                403: "The API key lacks the permission", 404: "Not found (or another tenant's)",
                408: "The body was not received within the read deadline",
                410: "The value was purged or shredded",
                413: "The body or a collection is over a configured limit",
                415: "The body's Content-Encoding is not supported",
                422: "The body or a parameter has the wrong shape",
                426: "A WebSocket route was called without the WebSocket upgrade",
                429: "A quota or an admission limit is exceeded (see Retry-After)",
                451: "The subject opted out of AI processing; nothing was forwarded",
                502: "The upstream could not be reached or gave no usable answer",
                503: "A dependency on the fail-closed path failed; nothing was forwarded",
                504: "The upstream did not answer in time"}
_BODY_CODES = ("malformed_json", "invalid_utf8", "empty_body", "too_deep", "invalid_number")
#: 400s of a vendor ``format`` body (``asr_formats``).
_ASR_CODES = ("unknown_format", "bad_asr_format", "words_mismatch")


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"oneOf": [schema, {"type": "null"}]}


def _counts() -> Schema:
    return {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}


def _obj(props: dict[str, Schema], required: list[str] | None = None,
         extra: bool | Schema = False) -> Schema:
    schema: Schema = {"type": "object", "properties": props, "additionalProperties": extra}
    if required:
        schema["required"] = required
    return schema


# -- components ------------------------------------------------------------------------------
def _components(settings: Settings) -> dict[str, Any]:
    iso = {"type": "string", "format": "date-time"}
    optout_props: dict[str, Schema] = {
        "subject_id": _ref("Id"), "no_ai_processing": {"type": "boolean"},
        "no_retention": {"type": "boolean"},
        "reason": _nullable({"type": "string", "maxLength": 200, "pattern": NO_NUL}),
        "set_by": {"type": "string"}, "set_at": {"type": "number"},
    }
    receipt = _obj({"records_shredded": {"type": "integer", "minimum": 0},
                    "values_removed": {"type": "integer", "minimum": 0},
                    "values_by_type": _counts(),
                    "records_on_legal_hold": {"type": "integer", "minimum": 0},
                    "other_records_with_values_removed": {"type": "integer", "minimum": 0}},
                   ["records_shredded", "values_removed", "values_by_type",
                    "records_on_legal_hold", "other_records_with_values_removed"])
    entity = _obj({
        "token": _ref("Token"), "entity_type": {"type": "string", "pattern": f"^{TYPE_PATTERN}$"},
        "score": {"type": "number"}, "recognizer": {"type": "string"},
        "explanation": {"type": "string"},
        "location": _obj({"path": {"type": "string"},
                          "turn": {"type": "integer", "minimum": 0},
                          "message": {"type": "integer", "minimum": 0},
                          "part": {"type": "integer", "minimum": 0},
                          "start": {"type": "integer", "minimum": 0},
                          "end": {"type": "integer", "minimum": 0}},
                         ["path", "start", "end"]),
    }, ["token", "entity_type", "score", "recognizer", "location"])
    return {
        "parameters": {"X-Request-Id": {
            "name": "X-Request-Id", "in": "header", "required": False,
            "schema": {"type": "string"},
            "description": "A request id to keep (`[A-Za-z0-9._-]{1,64}`, not looking like"
                           " personal data: only digits and separators, a run of 7+"
                           " digits, dotted words); any other value is replaced by a"
                           " new id."}},
        "headers": {"X-Request-Id": _header(
            "The request's id, as in the gateway's logs", {"type": "string",
                                                          "pattern": REQUEST_ID_PATTERN},
            required=False)},
        "securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer",
            "description": "An API key (`redact-gw apikey create`); never sent upstream."}},
        "schemas": {
            "Id": {"type": "string", "pattern": ID_PATTERN,
                   "description": "1-128 letters, digits or ._:@- (not starting with one"
                                  " of ._:@-). Use opaque ids, never personal data."},
            "RecordRef": {"type": "string", "pattern": RECORD_PATTERN,
                          "description": "A record id, or `<record>~answers` for the values"
                                         " the gateway found in AI answers of that record."},
            "Token": {"type": "string", "pattern": TOKEN_PATTERN,
                      "examples": ["[[PERSON:k3j9x2mq7p]]"]},
            "Counts": _counts(),
            "Error": _obj({"error": _obj({
                "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            }, ["code", "message"])}, ["error"]),
            "Entity": entity,
            "OptOut": _obj(optout_props, list(optout_props)),
            "OptOutChange": _obj({**optout_props, "shredded": _ref("Receipt")},
                                 list(optout_props)),
            "Receipt": receipt,
            "RedactResult": {
                "type": "object", "required": ["record_id", "entities", "risk_tier"],
                "description": "The request document with tokens in place of values;"
                               " other fields are kept as they were.",
                "properties": {"record_id": _ref("Id"),
                               "entities": {"type": "array", "items": _ref("Entity")},
                               "risk_tier": {"enum": ["low", "medium", "high"]},
                               "no_retention": {"const": True}},
            },
            "RevealResult": {
                "type": "object",
                "required": ["record_id", "revealed", "masked", "withheld"],
                "properties": {
                    "record_id": _ref("RecordRef"), "text": {"type": "string"},
                    "values": {"type": "array", "items": _obj({
                        "token": _ref("Token"), "entity_type": {"type": "string"},
                        "mode": {"enum": ["full", "masked", "none"]},
                        "value": {"type": "string"}}, ["token", "entity_type", "mode"])},
                    "revealed": _counts(), "masked": _counts(), "withheld": _counts()},
                "oneOf": [{"required": ["text"]}, {"required": ["values"]}],
                "additionalProperties": False,
            },
            "RecordMetadata": _obj({
                "record_id": _ref("RecordRef"), "created_at": iso,
                "expires_at": _nullable(iso), "subject_id": _nullable(_ref("Id")),
                "channel": _nullable({"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"}),
                "counts": _counts(),
                "no_retention": {"type": "boolean"}, "legal_hold": {"type": "boolean"},
                "shredded_at": _nullable(iso),
                # reason and set_by only for opt-out managers
                "opt_out": _nullable(_obj(optout_props, [
                    k for k in optout_props if k not in ("reason", "set_by")])),
            }, ["record_id", "created_at", "expires_at", "subject_id", "channel", "counts",
                "no_retention", "legal_hold", "shredded_at", "opt_out"]),
            "PurgeReport": _obj({
                "cutoff": iso, "dry_run": {"type": "boolean"},
                "tenant": _nullable({"type": "string"}),
                "values_removed": {"type": "integer", "minimum": 0},
                "values_by_type": _counts(),
                "records_shredded": {"type": "integer", "minimum": 0},
                "tombstones_removed": {"type": "integer", "minimum": 0},
                "batches": {"type": "integer", "minimum": 0},
                "seconds": {"type": "number", "minimum": 0},
                "skipped": _nullable({"type": "string"}),
            }, ["cutoff", "dry_run", "tenant", "values_removed", "values_by_type",
                "records_shredded", "tombstones_removed", "batches", "seconds", "skipped"]),
            "AuditEvent": {
                "type": "object",
                "required": ["seq", "hash", "prev_hash", "ts", "action", "tenant", "outcome"],
                "description": "One audit event: never a value, never a token.",
                "properties": {
                    "seq": {"type": "integer", "minimum": 1}, "hash": {"type": "string"},
                    "prev_hash": {"type": "string"}, "ts": {"type": "number"},
                    "action": {"type": "string"}, "tenant": {"type": "string"},
                    "outcome": {"type": "string"},
                    "principal": _nullable({"type": "string"}),
                    "roles": {"type": "array", "items": {"type": "string"}},
                    "record_id": _nullable({"type": "string"}),
                    "subject_id": _nullable({"type": "string"}),
                    "purpose": _nullable({"type": "string"}),
                    "reason": _nullable({"type": "string"}), "counts": _counts()},
            },
            "SseEvent": {
                "type": "object", "description": (
                    "One server-sent event as relayed: `data` is the upstream's chunk with"
                    " tokens restored, `[DONE]`, or `{\"error\": {\"code\": ...}}` when the"
                    " stream failed after it started."),
                "properties": {"data": {"type": "string"}, "event": {"type": "string"},
                               "id": {"type": "string"}, "retry": {"type": "integer"}}},
            "Readiness": _obj({
                "ready": {"type": "boolean", "description": "Every check passed"},
                "checks": {"type": "object", "required": ["detection", "vault"],
                           "additionalProperties": {"type": "boolean"},
                           "description": "Each check by name (`detection`, `vault`,"
                                          " `migrations`, `keys`...): never a host or path"},
                "detection_workers": _obj({"warm": {"type": "integer", "minimum": 0},
                                           "configured": {"type": "integer", "minimum": 0}},
                                          ["warm", "configured"])},
                ["ready", "checks"]),
            "TimeParam": {
                "type": "string",
                "description": "ISO-8601 time (`2026-11-01T00:00:00Z`) or epoch seconds",
                "anyOf": [
                    # RFC 3339 as Python reads it: upper-case T and Z, no leap second
                    {"format": "date-time", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T"
                                                       r"[0-9]{2}:[0-9]{2}:[0-5][0-9]"
                                                       r"(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$"},
                    {"pattern": r"^-?[0-9]+(\.[0-9]+)?$"}]},
            **_transcript_schemas(settings),
        },
    }


def _transcript_schemas(settings: Settings) -> dict[str, Schema]:
    """``transcripts.shapes.parse_transcript``: exactly one of text, turns or messages."""
    server = settings.server
    text = {"type": "string", "maxLength": server.max_text_chars}
    part = {"type": "object",
            "description": "A content part; parts of type `text` need a string `text`.",
            "if": {"required": ["type"], "properties": {"type": {"const": "text"}}},
            "then": {"required": ["text"], "properties": {"text": text}}}
    return {
        "Transcript": {
            "type": "object",
            "description": (
                "Plain text, speaker turns or OpenAI chat messages; other fields are kept"
                f" as they are. At most {server.max_segments} texts and"
                f" {server.max_text_chars} characters in all (else 413)."),
            "properties": {
                "text": text,
                "turns": {"type": "array", "maxItems": server.max_segments,
                          "items": {"type": "object", "required": ["text"],
                                    "properties": {"text": text,
                                                   "speaker": _nullable({"type": "string"})}}},
                "messages": {"type": "array", "items": {
                    "type": "object", "required": ["role"],
                    "properties": {"role": {"type": "string"}, "content": {"oneOf": [
                        text, {"type": "null"}, {"type": "array", "items": part}]}}}},
                "record_id": _nullable(_ref("Id")),
                "subject_id": _nullable(_ref("Id")),
                "channel": _nullable({"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$",
                                      "description": "Channel for retention periods."}),
                **{key: {"description": "The gateway's own answer field: replaced (or, for"
                                        " `no_retention`, dropped) in the answer."}
                   for key in ("entities", "risk_tier", "no_retention")},
                "format": {"enum": list(FORMATS), "description": (
                    "An ASR vendor's post-call JSON in `transcript`, answered in the same"
                    " format (README, ASR vendors' formats).")},
                "transcript": {"description": "The vendor's JSON object, when `format` is"
                                              " given (else kept as it is)."},
            },
            "oneOf": [*({"required": [key], "not": {"required": ["format"]}}
                        for key in ("text", "turns", "messages")),
                      {"required": ["format", "transcript"],
                       "properties": {"transcript": {"type": "object"}},
                       "not": {"anyOf": [{"required": [key]}
                                         for key in ("text", "turns", "messages")]}}],
        },
    }


# -- operations ------------------------------------------------------------------------------
def _json(schema: Schema) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _header(description: str, schema: Schema, required: bool = True) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": schema}


def _redaction_headers(*, tier: bool | None = True, answer: bool = False
                       ) -> dict[str, Any]:
    """Transparency headers; ``tier``: the risk tier is always (True), sometimes (None)
    or never (False) there."""
    headers = {
        "X-Record-Id": _header("The record the values were sealed in", _ref("Id")),
        "X-Redact-Counts": _header("Values tokenized, by entity type (`PERSON=2,EMAIL=1`)",
                                   {"type": "string", "pattern": COUNTS_PATTERN}),
        "X-Redact-No-Retention": _header("Nothing reversible was kept (subject opt-out)",
                                         {"const": "true"}, required=False),
    }
    if tier is not False:
        headers["X-Redact-Risk-Tier"] = _header("Risk tier of what was found",
                                                {"enum": ["low", "medium", "high"]},
                                                required=bool(tier))
        headers["X-Redact-Review"] = _header("The route flags this tier for review",
                                             {"const": "required"}, required=False)
    if answer:
        headers["X-Redact-Answer-Counts"] = _header(
            "Values found in the answer and tokenized (non-streamed answers)",
            {"type": "string", "pattern": COUNTS_PATTERN}, required=False)
    return headers


def _errors(*statuses: int, only: dict[int, tuple[str, ...]] | None = None
            ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status in statuses:
        codes = (only or {}).get(status, ERROR_CODES[status])
        schema = {"allOf": [_ref("Error"), {"properties": {"error": {
            "properties": {"code": {"enum": list(codes)}}}}}]}
        out[str(status)] = {"description": f"{_STATUS_TEXT[status]}: "
                                           + ", ".join(f"`{c}`" for c in codes),
                            "content": _json(schema)}
        if status == 503:
            out["503"]["headers"] = {"Retry-After": _header(
                "Seconds after which a retry may succeed, when known",
                {"type": "string", "pattern": "^[0-9]+$"}, required=False)}
    return out


def _op(op_id: str, summary: str, ok: dict[str, Any], *, errors: dict[str, Any],
        tag: str, body: dict[str, Any] | None = None,
        params: list[dict[str, Any]] | None = None, public: bool = False) -> dict[str, Any]:
    responses = {"200": ok, **errors}
    if not public:
        responses.setdefault("401", _errors(401)["401"])
    request_id = {"$ref": "#/components/headers/X-Request-Id"}
    op: dict[str, Any] = {
        "operationId": op_id, "summary": summary, "tags": [tag],
        "parameters": [{"$ref": "#/components/parameters/X-Request-Id"}, *(params or [])],
        "responses": {status: {**r, "headers": {**r.get("headers", {}),
                                                 "X-Request-Id": request_id}}
                      for status, r in responses.items()}}
    if body is not None:
        op["requestBody"] = body
    if public:
        op["security"] = []
    return op


def _ok(description: str, schema: Schema, headers: dict[str, Any] | None = None
        ) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": _json(schema)}
    if headers:
        out["headers"] = headers
    return out


def _body(schema: Schema, required: bool = True, description: str | None = None,
          example: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"required": required, "content": _json(schema)}
    if example is not None:
        body["content"]["application/json"]["example"] = example
    if description:
        body["description"] = description
    return body


#: Strings stored as plain text (PostgreSQL refuses NUL in text): no U+0000.
NO_NUL = "^[^\\u0000]*$"


def _text() -> Schema:
    return {"type": "string", "pattern": NO_NUL}


def _path_param(name: str, schema: Schema, example: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema,
            "example": example}


def _query(name: str, schema: Schema, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def _proxy_params(settings: Settings) -> list[dict[str, Any]]:
    return [
        {"name": "X-Record-Id", "in": "header", "required": False, "schema": _ref("Id"),
         "description": "The record (call, chat) the values belong to; generated when"
                        " absent and returned in the answer."},
        {"name": "X-Subject-Id", "in": "header",
         "required": settings.optout.require_subject_id, "schema": _ref("Id"),
         "description": "The customer (opaque id) for opt-outs and erasure."},
    ]


def _upstream_answer(*, stream: bool, tier: bool | None = True) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": {}}}
    if stream:
        content["text/event-stream"] = {"schema": _ref("SseEvent")}
    return {"description": "The upstream's answer with the caller's own tokens restored"
                           " and other personal data tokenized"
                           + (" (streamed event by event when it is an event stream)"
                              if stream else ""),
            "headers": _redaction_headers(tier=tier, answer=True), "content": content}


def _passed_on(tier: bool | None = True) -> dict[str, Any]:
    return {"description": "Any other status is the upstream's own answer, passed on with"
                           " its body scanned (JSON, or the upstream's text as it was).",
            "headers": _redaction_headers(tier=tier, answer=True),
            "content": {"application/json": {"schema": {}},
                        "text/plain": {"schema": {"type": "string"}}}}


def _proxy_errors(settings: Settings, *, tokenizes: bool = True, messages: bool = False
                  ) -> dict[str, Any]:
    """Errors of a proxied call; ``tokenizes``: it reads and tokenizes a body."""
    if not tokenizes:  # no body: ids, permission, readiness, upstream
        return _errors(403, 422, 502, 503, 504, only={422: ("invalid_input",),
                                                      503: ("not_ready",)})
    subject = ("subject_required",) if settings.optout.require_subject_id else ()
    return _errors(400, 403, 413, 422, 429, 451, 502, 503, 504, only={
        400: _BODY_CODES + subject,
        413: ("payload_too_large", "too_many_messages", "too_many_numbers") if messages
        else ("payload_too_large", "too_many_numbers"),
        422: ("invalid_input", "risk_refused", "unredactable_content"),
        429: ("too_many_requests",)})


def _dialect_operations(settings: Settings) -> dict[str, dict[str, Any]]:
    """The other AI APIs (``proxy/dialects``): tokenized like chat completions."""
    def op(name: str, summary: str, required: str, example: dict[str, Any], *,
           stream: bool = True, messages: bool = False) -> dict[str, Any]:
        return {"post": _op(
            name, summary, _upstream_answer(stream=stream), params=_proxy_params(settings),
            body=_body({"type": "object", "required": [required], "properties": {
                required: {"type": "array", "maxItems": settings.proxy.max_messages,
                           "items": {"type": "object"}} if messages else {}}},
                       description="Every string, long number and unknown key that can"
                                   " carry personal data is tokenized before it is sent.",
                       example=example),
            tag="proxy", errors={**_proxy_errors(settings, messages=messages),
                                 "default": _passed_on()})}
    said = "I am Maria Garcia, call me at 212-555-0123"
    anthropic = {"model": "demo-echo-1", "max_tokens": 256,
                 "messages": [{"role": "user", "content": said}]}
    return {
        "/v1/messages": op("anthropic_messages", "Anthropic Messages, tokenized (streaming"
                           " or not; the gateway key also as `x-api-key`)", "messages",
                           anthropic, messages=True),
        "/v1/messages/count_tokens": op(
            "anthropic_count_tokens", "Anthropic token counting, tokenized like messages",
            "messages", anthropic, stream=False, messages=True),
        "/v1/responses": op("responses", "OpenAI Responses, tokenized (streaming or not)",
                            "input", {"model": "demo-echo-1", "input": said}),
        "/v1/completions": op("completions", "OpenAI legacy completions, tokenized",
                              "prompt", {"model": "demo-echo-1", "prompt": said}),
        "/v1/models/{model}": {"get": _op(
            "model", "One upstream model, passed through", {
                "description": "The upstream's answer as it is",
                "headers": _redaction_headers(tier=False),
                "content": {"application/json": {"schema": {}}}},
            params=[_path_param("model", {"type": "string"}, "demo-echo-1"),
                    *_proxy_params(settings)], tag="proxy",
            errors={**_proxy_errors(settings, tokenizes=False), "default": _passed_on()})},
    }


def _operations(settings: Settings) -> dict[str, dict[str, Any]]:
    purposes = list(settings.access.purposes)
    record_param = _path_param("record_id", _ref("RecordRef"), "call-42")
    subject_param = _path_param("subject_id", _ref("Id"), "cust-981")
    body_errors = {400: (*_BODY_CODES, "nul_character"), 422: ("invalid_input",)}
    vault = ("vault_unavailable",)
    no_ai_redact = not settings.optout.redact_allowed_for_no_ai
    paths: dict[str, dict[str, Any]] = {
        "/healthz": {"get": _op("healthz", "Liveness", _ok(
            "The process answers", _obj({"status": {"const": "ok"}}, ["status"])),
            errors={}, tag="operations", public=True)},
        "/readyz": {"get": _op("readyz", "Readiness: detection loaded, vault answering", _ok(
            "Ready", _ref("Readiness")), errors={"503": {
                "description": "Not ready", "content": _json(_ref("Readiness"))}},
            tag="operations", public=True)},
        "/metrics": {"get": _op("metrics", "Prometheus metrics (no values, no ids)", {
            "description": "Prometheus text exposition",
            "content": {"text/plain": {"schema": {"type": "string"}}}},
            errors={}, tag="operations", public=True)},
        "/openapi.json": {"get": _op("openapi", "This document", _ok(
            "The OpenAPI 3.1 document", {"type": "object", "required": ["openapi", "paths"]}),
            errors={}, tag="operations", public=True)},
        "/v1/redact": {"post": _op(
            "redact", "Tokenize a transcript (text, speaker turns or chat messages)",
            _ok("The document with tokens in place of values", _ref("RedactResult"),
                _redaction_headers()),
            body=_body(_ref("Transcript"), example={
                "record_id": "call-42", "subject_id": "cust-981", "turns": [
                    {"speaker": "agent", "text": "can i have your email"},
                    {"speaker": "customer", "text": "john.smith@example.com", "ts": 12.4}]}),
            tag="redaction",
            errors=_errors(400, 403, 413, 422, *([451] if no_ai_redact else []), 503,
                           only={**body_errors, 400: (*body_errors[400], *_ASR_CODES),
                                 413: ("payload_too_large",)}))},
        "/v1/detokenize": {"post": _op(
            "detokenize", "Reveal what the caller's roles allow, for a stated purpose",
            _ok("Values revealed, masked or withheld per the caller's roles",
                _ref("RevealResult")),
            body=_body({
                "type": "object", "required": ["purpose", "record_id"],
                "properties": {
                    "purpose": {"enum": purposes} if purposes else False,
                    "record_id": _ref("RecordRef"),
                    "text": {"description": "A text whose tokens are revealed in place"},
                    "tokens": {"description": "Tokens to reveal one by one"}},
                "oneOf": [
                    {"required": ["text"], "properties": {"text": {"type": "string"},
                                                          "tokens": {"type": "null"}}},
                    {"required": ["tokens"], "properties": {
                        "text": {"type": "null"},
                        "tokens": {"type": "array", "items": _ref("Token")}}}],
            }, description="Exactly one of `text` or `tokens`; at most 1000 distinct"
                           " tokens.", example={
                "record_id": "call-42", "purpose": purposes[0] if purposes else "",
                "text": "customer [[PERSON:k3j9x2mq7p]] called"}),
            tag="reveal", errors=_errors(400, 403, 404, 410, 413, 422, 429, 503, only={
                **body_errors, 404: ("record_not_found", "token_not_found"),
                413: ("payload_too_large",),
                422: ("invalid_input", "purpose_required", "unknown_purpose",
                      "malformed_token"),
                503: ("integrity_error", *vault)}))},
        "/v1/records/{record_id}": {"get": _op(
            "record_metadata", "A record's metadata (never a value)",
            _ok("Metadata", _ref("RecordMetadata")), params=[record_param], tag="records",
            errors=_errors(403, 404, 422, 503, only={404: ("record_not_found",),
                                                     422: ("invalid_input",), 503: vault}))},
        "/v1/records/{record_id}/legal-hold": {
            method: _op(f"legal_hold_{verb}", f"{verb.capitalize()} a legal hold on a record",
                        _ok("The hold as it is now", _obj({
                            "record_id": _ref("RecordRef"), "legal_hold": {"const": hold}},
                            ["record_id", "legal_hold"])),
                        params=[record_param], tag="records",
                        errors=_errors(403, 404, 422, 503, only={
                            404: ("record_not_found",), 422: ("invalid_input",),
                            503: vault}))
            for method, verb, hold in (("put", "set", True), ("delete", "lift", False))},
        "/v1/subjects/{subject_id}/opt-out": {
            "get": _op("get_optout", "A subject's opt-out flags",
                       _ok("The flags", _ref("OptOut")), params=[subject_param],
                       tag="subjects",
                       errors=_errors(403, 404, 422, 503, only={
                           404: ("optout_not_found",), 422: ("invalid_input",),
                           503: vault})),
            "put": _op("put_optout", "Set a subject's opt-out flags",
                       _ok("The flags; `shredded` when existing data was shredded",
                           _ref("OptOutChange")),
                       params=[subject_param], tag="subjects",
                       body=_body(_obj({
                           "no_ai_processing": {"type": "boolean"},
                           "no_retention": {"type": "boolean"},
                           "reason": _nullable({"type": "string", "maxLength": 200,
                                                "pattern": NO_NUL})}),
                           example={"no_ai_processing": True, "no_retention": False,
                                    "reason": "asked on the phone"}),
                       errors=_errors(400, 403, 413, 422, 503, only={
                           **body_errors, 413: ("payload_too_large",), 503: vault})),
            "delete": _op("clear_optout", "Clear a subject's opt-out",
                          _ok("Cleared", _obj({"subject_id": _ref("Id"),
                                               "cleared": {"const": True}},
                                              ["subject_id", "cleared"])),
                          params=[subject_param], tag="subjects",
                          errors=_errors(403, 404, 422, 503, only={
                              404: ("optout_not_found",), 422: ("invalid_input",),
                              503: vault})),
        },
        "/v1/subjects/{subject_id}": {"delete": _op(
            "erase_subject", "Erase a subject: shred every record now (legal holds kept)",
            _ok("The erasure receipt", _obj({"subject_id": _ref("Id"),
                                             "receipt": _ref("Receipt")},
                                            ["subject_id", "receipt"])),
            params=[subject_param], tag="subjects",
            errors=_errors(403, 422, 503, only={422: ("invalid_input",), 503: vault}))},
        "/v1/purge": {"post": _op(
            "purge", "Run a retention purge for the caller's tenant",
            _ok("What was (or, dry, would be) purged", _ref("PurgeReport")),
            body=_body({"type": "object", "properties": {"dry_run": {"type": "boolean"}}},
                       required=False),
            tag="retention", errors=_errors(400, 403, 413, 422, 503, only={
                **body_errors, 413: ("payload_too_large",), 503: vault}))},
        "/v1/audit": {"get": _op(
            "audit_events", "Audit events of the caller's tenant, oldest first",
            _ok("A page of events", _obj({
                "events": {"type": "array", "items": _ref("AuditEvent")},
                "next_after_seq": {"type": "integer", "minimum": 0}},
                ["events", "next_after_seq"])),
            params=[
                _query("since", _ref("TimeParam"), "Events at or after this time"),
                _query("until", _ref("TimeParam"), "Events before this time"),
                _query("principal", _text(), "Only this principal's events"),
                _query("record_id", _text(), "Only this record's events"),
                _query("action", _text(), "Only this action (`reveal`...)"),
                _query("after_seq", {"type": "integer", "minimum": 0, "maximum": 2**62},
                       "Events after this sequence number (paging)"),
                _query("limit", {"type": "integer", "minimum": 0, "maximum": 1000},
                       "Page size (0 counts as 1)"),
            ], tag="audit", errors=_errors(400, 403, 422, 503, only={
                400: ("nul_character",), 422: ("invalid_input",), 503: vault}))},
        "/v1/chat/completions": {"post": _op(
            "chat_completions", "OpenAI chat completions, tokenized (streaming or not)",
            _upstream_answer(stream=True), params=_proxy_params(settings),
            body=_body({"type": "object", "required": ["messages"], "properties": {
                "messages": {"type": "array", "maxItems": settings.proxy.max_messages,
                             "items": {"type": "object"}},
                "model": {"description": "Passed on as it is"},
                "stream": {"description": "`true` for a server-sent event stream"}}},
                description="An OpenAI chat completion request; every string that can"
                            " carry personal data is tokenized before it is sent.",
                example={"model": "demo-echo-1", "messages": [
                    {"role": "user", "content": "I am Maria Garcia, call me at 212-555-0123"}]}),
            tag="proxy", errors={**_proxy_errors(settings, messages=True),
                                 "default": _passed_on()})},
        "/v1/embeddings": {"post": _op(
            "embeddings", "OpenAI embeddings, `input` (and any other text) tokenized",
            _upstream_answer(stream=False), params=_proxy_params(settings),
            body=_body({"type": "object", "properties": {
                "input": {"description": "Text or texts to embed; tokenized"},
                "model": {"description": "Passed on as it is"}}},
                example={"model": "demo-embed-1", "input": "Maria Garcia called"}),
            tag="proxy", errors={**_proxy_errors(settings), "default": _passed_on()})},
        **_dialect_operations(settings),
        "/v1/models": {"get": _op(
            "models", "The upstream's model list, passed through", {
                "description": "The upstream's answer as it is",
                "headers": _redaction_headers(tier=False),
                "content": {"application/json": {"schema": {}}}},
            params=_proxy_params(settings), tag="proxy",
            errors={**_proxy_errors(settings, tokenizes=False), "default": {
                "description": "Any other status is the upstream's answer as it is",
                "headers": _redaction_headers(tier=False),
                "content": {"application/json": {"schema": {}},
                            "text/plain": {"schema": {"type": "string"}}}}})},
    }
    from redact_gw.review.spec import operations as review_operations
    paths.update(review_operations(settings))
    for route in settings.routes:
        paths.setdefault(route.path, {}).update(_generic_route(settings, route))
    if settings.live.enabled:
        paths["/v1/live"] = {"get": _live_op()}
    return paths


def _live_op() -> dict[str, Any]:
    """``GET /v1/live``: a WebSocket; its messages and close codes are in the README."""
    op = _op("live", "Open a live call session (WebSocket upgrade)", {
        "description": "unused"}, tag="live", params=[
            _query("record_id", _ref("Id"), "Record of the call (generated if absent)"),
            _query("subject_id", _ref("Id"), "Customer id, for opt-outs"),
            _query("channel", _ref("Id"), "Channel, for retention (e.g. voice)"),
            _query("format", {"enum": list(FORMATS)},
                   "Speak an ASR vendor's streaming messages (README, ASR vendors' formats)"),
            _query("assist", _ref("Id"), "A live.assist service to forward to")],
        errors=_errors(400, 403, 422, 426, 429, 503, only={
            400: ("unknown_format",), 422: ("invalid_input", "unknown_assist"),
            429: ("quota_exceeded",),
            503: ("not_ready",)}))
    ok = op["responses"].pop("200")
    ok["description"] = ("Switching to the WebSocket protocol: partial and final results"
                         " in, redacted segment updates out (see the README, Live calls)")
    op["responses"] = {"101": ok, **op["responses"]}
    return op


def _generic_route(settings: Settings, route: RouteSettings) -> dict[str, Any]:
    """The operations of one configured ``routes:`` entry."""
    slug = route.path.strip("/").replace("/", "_").replace(".", "_").replace("~", "_")
    ops: dict[str, Any] = {}
    for method in route.methods:
        # GET sends no body; a call without a body tokenizes nothing (no tier, no opt-out)
        body = method != "GET"
        tier = None if body else False
        op = _op(f"route_{method.lower()}_{slug}",
                 f"Generic JSON route in front of a configured AI service ({method})",
                 _upstream_answer(stream=True, tier=tier), params=_proxy_params(settings),
                 tag="routes", errors={**_proxy_errors(settings, tokenizes=body),
                                       "default": _passed_on(tier)})
        if body:
            op["requestBody"] = _body(
                {"type": ["object", "array"]}, required=False,
                description="Any JSON object or array; selected strings are tokenized"
                            f" ({', '.join(route.tokenize)}).")
        ops[method.lower()] = op
    return ops


def build_spec(settings: Settings) -> dict[str, Any]:
    """The OpenAPI 3.1 document of an app built from ``settings``.

    Args:
        settings: The settings the app was created with (limits, purposes, routes...).
    """
    return {
        "openapi": "3.1.0",
        "info": {"title": "redact_gw", "version": __version__,
                 "description": "Privacy-preserving redaction gateway: AI services only"
                                " ever see tokens. Errors are always"
                                " `{\"error\": {\"code\", \"message\"}}` and never echo"
                                " input."},
        "security": [{"bearerAuth": []}],
        "paths": _operations(settings),
        "components": _components(settings),
    }


async def openapi(request: web.Request) -> web.Response:
    """``GET /openapi.json``: the document of this app (public, like ``/healthz``)."""
    return json_response(build_spec(request.app[appkeys.SETTINGS]))
