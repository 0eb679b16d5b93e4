"""Which strings of a JSON schema (a tool's parameters) are keywords, not text.

Only the leaves that really are protocol stay in clear: the ``type``, ``format`` and
``$ref`` keywords of a schema node. A *property* named ``type`` is a name, its
``description`` is text, and ``enum``, ``pattern``, ``default``, ``examples``,
``title``, ``required`` are all scanned like any other text.
"""

from __future__ import annotations

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


def schema_protocol(rest: Path) -> bool:
    """True when ``rest`` (a path inside a schema) ends on a keyword leaf."""
    i = 0
    while i < len(rest):
        part = rest[i]
        if part in _NAMED or part in _LISTS:
            i += 2  # the property name or the list position
        elif part in _SUB:
            i += 2 if i + 1 < len(rest) and isinstance(rest[i + 1], int) else 1
        else:
            tail = rest[i + 1:]
            return part in _LEAVES and (not tail or (
                part == "type" and len(tail) == 1 and isinstance(tail[0], int)))
    return False
