"""The gateway's error tree.

Every error carries an HTTP status, a stable machine-readable ``code`` and a public
message that never contains caller input or personal data. One middleware renders
them (see ``proxy/middlewares.py``); the CLI prints the same code and message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar

log = logging.getLogger(__name__)


class RedactGwError(Exception):
    """Root of all errors the gateway reports to a caller."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    default_message: ClassVar[str] = "internal error"
    #: Fixed response headers of this kind of error.
    headers: ClassVar[dict[str, str]] = {}

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 details: dict[str, Any] | None = None,
                 retry_after_s: int | None = None) -> None:
        self.message = message or self.default_message
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.details = details or {}
        #: Seconds after which a retry may succeed (``Retry-After``), when known.
        self.retry_after_s = retry_after_s
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        """Render as the JSON error body: ``{"error": {"code", "message", ...}}``."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class BadRequest(RedactGwError):
    """Input that cannot be read at all: malformed JSON, invalid UTF-8."""

    status = 400
    code = "bad_request"
    default_message = "the request could not be read"


class InvalidInput(RedactGwError):
    """Readable input of the wrong shape or type; the message names the field."""

    status = 422
    code = "invalid_input"
    default_message = "the request body has the wrong shape"


class PayloadTooLarge(RedactGwError):
    """Body or collection over a configured limit."""

    status = 413
    code = "payload_too_large"
    default_message = "the request body is larger than the configured limit"


class UnsupportedMediaType(RedactGwError):
    """A request body in an encoding or media type the gateway does not read."""

    status = 415
    code = "unsupported_media_type"
    default_message = "the request body's encoding is not supported"


class RequestTimeout(RedactGwError):
    """The caller did not send its headers or body within the read deadline."""

    status = 408
    code = "request_timeout"
    default_message = "the request was not received in time"


class UpgradeRequired(RedactGwError):
    """A WebSocket route was called without the WebSocket upgrade."""

    status = 426
    code = "upgrade_required"
    default_message = "this route is a WebSocket: send the upgrade handshake"
    headers: ClassVar[dict[str, str]] = {"Upgrade": "websocket", "Connection": "Upgrade"}


class Unauthorized(RedactGwError):
    """Missing or unknown API key."""

    status = 401
    code = "unauthorized"
    default_message = "a valid API key is required (Authorization: Bearer <key>)"


class Forbidden(RedactGwError):
    """Known principal without the permission asked for."""

    status = 403
    code = "forbidden"
    default_message = "this API key is not allowed to do that"


class NotFound(RedactGwError):
    """Unknown record or route; also what another tenant's record looks like."""

    status = 404
    code = "not_found"
    default_message = "not found"


class Gone(RedactGwError):
    """The value existed but was purged or shredded."""

    status = 410
    code = "purged"
    default_message = "the value has been purged under the retention policy"


class TooManyRequests(RedactGwError):
    """A quota was exceeded."""

    status = 429
    code = "quota_exceeded"
    default_message = "quota exceeded"


class Unavailable(RedactGwError):
    """A dependency on the fail-closed path failed: nothing was forwarded."""

    status = 503
    code = "unavailable"
    default_message = "the gateway cannot process this request safely right now"


class DetectionFailed(Unavailable):
    """Detection raised or timed out."""

    code = "detection_failed"
    default_message = "personal-data detection failed; nothing was forwarded"


class DetectionOverloaded(Unavailable):
    """Every detection worker is busy and the waiting queue is full (or warming up)."""

    code = "detection_overloaded"
    default_message = "personal-data detection is at capacity; nothing was forwarded, retry later"


class DetectionWorkerLost(DetectionFailed):
    """The worker process holding the request died; it is being replaced."""

    code = "detection_worker_lost"
    default_message = ("the personal-data detection worker handling this request stopped;"
                       " nothing was forwarded, retry")


class VaultUnavailable(Unavailable):
    """The vault could not be read or written."""

    code = "vault_unavailable"
    default_message = "the vault is unavailable; nothing was forwarded"


class IntegrityError(RedactGwError):
    """Any cryptographic failure: tampered data, wrong key, swapped row.

    Deliberately opaque (like ``cryptography.fernet.InvalidToken``): the caller learns
    nothing about which check failed.
    """

    status = 503
    code = "integrity_error"
    default_message = "a vault entry failed its integrity check"


class ConfigError(RedactGwError):
    """Configuration or key file refused at startup; the message names key and reason."""

    status = 500
    code = "config_error"
    default_message = "invalid configuration"


class UpstreamError(RedactGwError):
    """The AI service behind the gateway could not give a usable answer."""

    status = 502
    code = "upstream_error"
    default_message = "the upstream service did not give a usable answer"


class AnswerScanFailed(RedactGwError):
    """The request was forwarded, but its answer could not be checked: nothing of it
    is returned."""

    status = 502
    code = "answer_scan_failed"
    default_message = ("the request was forwarded, but its answer could not be checked"
                       " for personal data; nothing of the answer is returned")


class UpstreamUnreachable(UpstreamError):
    """The upstream refused the connection or could not be resolved."""

    code = "upstream_unreachable"
    default_message = "the upstream service could not be reached"


class UpstreamTimeout(UpstreamError):
    """The upstream did not connect or answer in time."""

    status = 504
    code = "upstream_timeout"
    default_message = "the upstream service did not answer in time"


class OptedOut(RedactGwError):
    """The subject opted out of automated processing: nothing goes to an AI service."""

    status = 451
    code = "subject_opted_out"
    default_message = ("the customer opted out of automated processing; nothing was"
                       " forwarded")


class SubjectRequired(RedactGwError):
    """Policy requires a subject id on every proxied request."""

    status = 400
    code = "subject_required"
    default_message = "a subject id is required (X-Subject-Id header or subject_id field)"


class RiskRefused(RedactGwError):
    """The route's risk policy refuses transcripts of this tier."""

    status = 422
    code = "risk_refused"
    default_message = "this transcript's risk tier may not be sent to this service"


class fail_closed:
    """Let gateway errors through; turn any other exception into ``error()``.

    Only the exception's type is logged: messages of NLP or database libraries can
    quote the text they were given. A ``BaseException`` that is not an ``Exception``
    (cancellation, interrupt) passes through as it is.

    A class, not a ``contextlib.contextmanager`` generator: it is entered four or five
    times on every request, and a generator-based manager costs about three times as
    much to make, enter and leave.
    """

    __slots__ = ("error", "what")

    def __init__(self, error: Callable[[], RedactGwError], what: str) -> None:
        self.error = error
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None or isinstance(exc, RedactGwError) or not isinstance(exc, Exception):
            return  # nothing raised, a gateway error, or not ours to turn: let it be
        log.error("%s failed: %s", self.what, type(exc).__name__)
        raise self.error() from None
