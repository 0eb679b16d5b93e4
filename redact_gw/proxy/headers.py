"""Which headers cross the gateway: allow-lists, in one place for every dialect.

Caller -> upstream: only content negotiation and the vendors' version/beta headers
(``REQUEST_HEADERS``, ``REQUEST_PREFIXES``) with short printable values; never the
caller's key, cookies, ``Referer``, ``User-Agent`` or any ``X-Customer-*``: a header
not on the list is dropped. The gateway adds its own ``Authorization``,
``Content-Type`` and ``X-Request-Id``.

Upstream -> caller: only rate-limit, retry and processing-time facts
(``RESPONSE_HEADERS``, ``RESPONSE_PREFIXES``) whose values look like numbers, durations
or timestamps. ``X-Redact-*`` (the gateway's own words), CORS, cookies and anything
free-form are dropped.

``request_id``: a caller's ``X-Request-Id`` is kept only when it is well formed and does
not look like personal data (a phone or account number, an email or a name written
with dots); otherwise the request gets a fresh id. It is logged and forwarded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from redact_gw.logs import REQUEST_ID_RE, new_request_id

#: Caller headers forwarded upstream (lower case).
REQUEST_HEADERS = frozenset({
    "accept", "accept-language", "openai-beta", "anthropic-version", "anthropic-beta",
    "openai-version",
})
#: Caller header name prefixes forwarded upstream.
REQUEST_PREFIXES = ("anthropic-beta-",)
_REQUEST_VALUE = re.compile(r"[\x20-\x7e]{1,256}")

#: Upstream headers passed to the caller (lower case).
RESPONSE_HEADERS = frozenset({"retry-after", "openai-processing-ms", "openai-version"})
#: Upstream header name prefixes passed to the caller.
RESPONSE_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-")
#: A number, a duration (``6m0s``), an HTTP or ISO date: nothing that can carry a name.
_RESPONSE_VALUE = re.compile(
    r"[0-9][0-9.:TZsmhdu+\-]{0,63}"
    r"|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT")


def _allowed(name: str, names: frozenset[str], prefixes: tuple[str, ...]) -> bool:
    low = name.lower()
    return low in names or low.startswith(prefixes)


def request_headers(incoming: Mapping[str, str]) -> dict[str, str]:
    """The caller's headers that may go upstream."""
    return {k: v for k, v in incoming.items()
            if _allowed(k, REQUEST_HEADERS, REQUEST_PREFIXES) and _REQUEST_VALUE.fullmatch(v)}


def response_headers(upstream: Mapping[str, str]) -> dict[str, str]:
    """The upstream's headers that may reach the caller."""
    return {k: v for k, v in upstream.items()
            if _allowed(k, RESPONSE_HEADERS, RESPONSE_PREFIXES)
            and _RESPONSE_VALUE.fullmatch(v)}


_HEX_ID = re.compile(r"[0-9a-fA-F]{16,64}|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_DIGIT_RUN = re.compile(r"[0-9]{7,}")
_WORDS_WITH_DOTS = re.compile(r"[A-Za-z]{2,}(?:[._-][A-Za-z]{2,})*\.[A-Za-z]{2,}")


def looks_personal(value: str) -> bool:
    """A cheap check: could this request id be a phone, account or card number, an
    email (``maria.garcia.example.com``) or a dotted name? Hex ids and UUIDs are not."""
    if _HEX_ID.fullmatch(value):
        return False
    digits = sum(c.isdigit() for c in value)
    if digits >= 6 and not any(c.isalpha() for c in value):
        return True  # only digits and separators: 212-555-0123, 123.45.6789
    return bool(_DIGIT_RUN.search(value) or _WORDS_WITH_DOTS.fullmatch(value))


def request_id(incoming: str | None) -> str:
    """The caller's id when well formed and not personal-looking, else a fresh one."""
    if incoming is not None and REQUEST_ID_RE.fullmatch(incoming) \
            and not looks_personal(incoming):
        return incoming
    return new_request_id()
