"""Which strings of a JSON schema (a tool's parameters) are keywords, not text.

Only the leaves that really are protocol stay in clear: the ``type``, ``format`` and
``$ref`` keywords of a schema node, and only while their value is one the keyword can
take (``schema_value``): a ``type`` of ``"John Smith"`` is the caller's text in a
keyword's place, and is scanned. A *property* named ``type`` is a name, its
``description`` is text, and ``enum``, ``pattern``, ``default``, ``examples``,
``title``, ``required`` are all scanned like any other text.
"""

from __future__ import annotations

import re
from typing import Any

from redact_gw.jsonpaths import Path

#: Keywords whose children are named schemas: the next step is a name.
_NAMED = frozenset({"properties", "patternProperties", "$defs", "definitions",
                    "dependentSchemas"})
#: Keywords whose value is a schema (``items`` may also be a list of them).
_SUB = frozenset({"items", "additionalProperties", "not", "contains", "if", "then", "else",
                  "propertyNames", "unevaluatedProperties", "unevaluatedItems",
                  "additionalItems"})
#: Keywords whose value is a list of schemas.
_LISTS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
#: Keyword leaves passed on as they are.
_LEAVES = frozenset({"type", "format", "$ref", "$schema", "$id", "contentEncoding",
                     "contentMediaType"})
#: Every schema keyword (object keys the walk does not need to scan).
KEYWORDS = _NAMED | _SUB | _LISTS | _LEAVES | frozenset({
    "description", "title", "enum", "const", "pattern", "default", "examples", "required",
    "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "strict",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "uniqueItems", "nullable"})


_JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array", "null"})
#: JSON Schema's and OpenAPI's formats.
_FORMATS = frozenset({
    "date-time", "date", "time", "duration", "email", "idn-email", "hostname",
    "idn-hostname", "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference", "uuid",
    "uri-template", "json-pointer", "relative-json-pointer", "regex", "int32", "int64",
    "float", "double", "byte", "binary", "password", "decimal"})
_ENCODINGS = frozenset({"base64", "base32", "base16", "7bit", "8bit", "binary",
                        "quoted-printable"})
_MEDIA_TYPE = re.compile(r"[a-z]+/[a-z0-9.+-]+")
#: A reference or schema id: a pointer into this document or a URI, one word.
_REFERENCE = re.compile(r"(?:#|[a-z][a-z0-9+.-]*://|\.?/)\S*")


def schema_value(keyword: str, value: Any) -> bool:
    """Whether ``value`` is one that the keyword leaf ``keyword`` can take (else it is
    the caller's text and is scanned); ``None`` (not known): yes."""
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    if keyword == "type":
        return value in _JSON_TYPES
    if keyword == "format":
        return value in _FORMATS
    if keyword == "contentEncoding":
        return value in _ENCODINGS
    if keyword == "contentMediaType":
        return _MEDIA_TYPE.fullmatch(value) is not None
    return _REFERENCE.fullmatch(value) is not None  # $ref, $schema, $id


def schema_leaf(rest: Path) -> str | None:
    """The keyword leaf that ``rest`` (a path inside a schema) ends on, if any."""
    i = 0
    while i < len(rest):
        part = rest[i]
        if part in _NAMED or part in _LISTS:
            i += 2  # the property name or the list position
        elif part in _SUB:
            i += 2 if i + 1 < len(rest) and isinstance(rest[i + 1], int) else 1
        else:
            tail = rest[i + 1:]
            if isinstance(part, str) and part in _LEAVES and (not tail or (
                    part == "type" and len(tail) == 1 and isinstance(tail[0], int))):
                return part
            return None
    return None


def schema_protocol(rest: Path, value: Any = None) -> bool:
    """True when ``rest`` (a path inside a schema) ends on a keyword leaf and ``value``
    (when given) is one that keyword can take."""
    keyword = schema_leaf(rest)
    return keyword is not None and schema_value(keyword, value)
