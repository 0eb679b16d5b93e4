"""Admission control: no principal or tenant can take the gateway for itself.

Each authenticated request is admitted against its principal's and its tenant's
requests in flight and its tenant's request bytes in flight (``admission`` settings);
over a limit it is answered 429 ``too_many_requests`` with ``Retry-After`` before any
work is done. A streamed answer stays in flight until it ends. The request's tenant is
set in ``detection.pool.tenant_var`` so the detection pool can batch per tenant and
share its workers fairly.

``check_work`` bounds the work of one transcript: detection's candidate and recurrence
cost grows with the number of digit runs, so more than ``max_digit_runs`` is a 413.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from aiohttp import web
from aiohttp.typedefs import Handler

from redact_gw.detection.pool import tenant_var
from redact_gw.errors import PayloadTooLarge, TooManyRequests
from redact_gw.proxy import appkeys
from redact_gw.settings import AdmissionSettings

_DIGIT_RUN = re.compile(r"\d+")
#: Sessions that stay open for a whole call, with limits of their own (``live:``):
#: holding a request slot for hours would starve the principal's other requests.
LONG_LIVED = frozenset({"/v1/live"})


class Admission:
    """Requests and bytes in flight, per principal and per tenant."""

    def __init__(self, settings: AdmissionSettings) -> None:
        self.settings = settings
        self.by_principal: Counter[tuple[str, str]] = Counter()
        self.by_tenant: Counter[str] = Counter()
        self.bytes_by_tenant: Counter[str] = Counter()

    def admit(self, tenant: str, principal: str, size: int) -> None:
        """Count a request in, or raise ``TooManyRequests`` (nothing counted)."""
        s = self.settings
        over = None
        if self.by_principal[(tenant, principal)] >= s.max_requests_per_principal:
            over = "this API key has too many requests in flight"
        elif self.by_tenant[tenant] >= s.max_requests_per_tenant:
            over = "this tenant has too many requests in flight"
        elif self.bytes_by_tenant[tenant] and (
                self.bytes_by_tenant[tenant] + size > s.max_bytes_per_tenant):
            over = "this tenant has too much text in flight"
        if over is not None:
            raise TooManyRequests(f"{over}; retry later", code="too_many_requests",
                                  retry_after_s=s.retry_after_s)
        self.by_principal[(tenant, principal)] += 1
        self.by_tenant[tenant] += 1
        self.bytes_by_tenant[tenant] += size

    def release(self, tenant: str, principal: str, size: int) -> None:
        """Count a finished request out."""
        self.by_principal[(tenant, principal)] -= 1
        self.by_tenant[tenant] -= 1
        self.bytes_by_tenant[tenant] -= size
        for counter in (self.by_principal, self.by_tenant, self.bytes_by_tenant):
            for key in [k for k, n in counter.items() if n <= 0]:
                del counter[key]


ADMISSION = web.AppKey("admission", Admission)


@web.middleware
async def admission_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """After authentication: admit the request (429 when over a limit), and name its
    tenant for detection."""
    principal = request.get(appkeys.PRINCIPAL)
    if principal is None:  # public paths
        return await handler(request)
    tenant_var.set(principal.tenant)  # the request runs in its own task: no reset needed
    admission = request.app[ADMISSION]
    if not admission.settings.enabled or request.path in LONG_LIVED:
        return await handler(request)
    size = request.content_length or 0
    admission.admit(principal.tenant, principal.name, size)
    try:
        return await handler(request)
    finally:
        admission.release(principal.tenant, principal.name, size)


def check_work(texts: Iterable[str], max_digit_runs: int) -> None:
    """413 when the texts hold more than ``max_digit_runs`` runs of digits."""
    runs = 0
    for text in texts:
        runs += len(_DIGIT_RUN.findall(text))  # the text is bounded: a list is cheap
        if runs > max_digit_runs:
            raise PayloadTooLarge(f"more than {max_digit_runs} numbers in one request",
                                  code="too_many_numbers")
