"""The one place a request's subject comes from: the header AND the body.

Every route that tokenizes (the Redact API, the OpenAI surface, generic routes, and
the dialects that build on ``ProxyCall``) calls ``resolve_subject``, so an opted-out
subject cannot slip through by naming itself where one route does not look.
Several places may name the subject; they must agree (422 ``subject_mismatch``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redact_gw.errors import InvalidInput
from redact_gw.policy.optout import check_subject_id

HEADER = "X-Subject-Id"


def _body_subjects(doc: Any) -> list[tuple[str, Any]]:
    if not isinstance(doc, dict):
        return []
    out: list[tuple[str, Any]] = [("subject_id", doc.get("subject_id"))]
    if isinstance(doc.get("user"), str):  # OpenAI's end-user id
        out.append(("user", doc["user"]))
    metadata = doc.get("metadata")
    if isinstance(metadata, dict):
        out.append(("metadata.subject_id", metadata.get("subject_id")))
    return out


def resolve_subject(headers: Mapping[str, str], doc: Any) -> str | None:
    """The request's subject id, or ``None`` when no place names one.

    Places: the ``X-Subject-Id`` header; the body's ``subject_id``, ``user`` (a string)
    and ``metadata.subject_id``.

    Raises:
        InvalidInput: a place holds a malformed id (naming the place), or two places
            name different subjects (code ``subject_mismatch``).
    """
    named: dict[str, str] = {}
    for place, value in [(HEADER, headers.get(HEADER)), *_body_subjects(doc)]:
        if value is not None:
            named[place] = check_subject_id(value, place)
    if len(set(named.values())) > 1:
        raise InvalidInput("the request names different subjects; send one subject id",
                           code="subject_mismatch", details={"fields": sorted(named)})
    return next(iter(named.values()), None)
