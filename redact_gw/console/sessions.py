"""Console sessions: an API key exchanged for a short-lived, server-side session.

The cookie holds only a random session id (HttpOnly, SameSite=Strict, Secure over
TLS, path ``/console``). The session keeps the key in this process's memory only,
to authenticate it again on every request: a revoked key (or a changed role) ends
the session at once. Each session has its own CSRF token; every form posts it.
Sessions live in one process: behind several replicas, pin console users to one
(sticky sessions) or they sign in again.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass, field

from aiohttp import web

from redact_gw.model import Clock, Principal
from redact_gw.policy.principals import PrincipalDirectory
from redact_gw.policy.roles import RolePolicy

COOKIE = "rgw_console"
#: Double-submit cookie of the sign-in form (there is no session yet to hold its token).
SIGNIN_COOKIE = "rgw_console_signin"
MAX_SESSIONS = 10_000


@dataclass(slots=True)
class Session:
    """One signed-in console user."""

    sid: str = field(repr=False)
    csrf: str = field(repr=False)
    key: str = field(repr=False)
    expires_at: float


def same(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two tokens (``None`` never matches)."""
    return a is not None and b is not None and hmac.compare_digest(a.encode(), b.encode())


class SessionStore:
    """In-memory sessions of one gateway process."""

    def __init__(self, directory: PrincipalDirectory, roles: RolePolicy, clock: Clock,
                 ttl_s: float) -> None:
        self.directory = directory
        self.roles = roles
        self.clock = clock
        self.ttl_s = ttl_s
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, key: str) -> tuple[Session, Principal] | None:
        """Sign in with an API key; ``None`` when the key is unknown."""
        principal = self.directory.authenticate(key)
        if principal is None:
            return None
        now = self.clock()
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), key,
                          now + self.ttl_s)
        with self._lock:
            self._expire(now)
            if len(self._sessions) >= MAX_SESSIONS:
                oldest = min(self._sessions.values(), key=lambda s: s.expires_at)
                self._sessions.pop(oldest.sid, None)
            self._sessions[session.sid] = session
        return session, self.roles.resolve(principal)

    def get(self, sid: str | None) -> tuple[Session, Principal] | None:
        """The live session and its principal, re-authenticated now."""
        if not sid:
            return None
        with self._lock:
            session = self._sessions.get(sid)
        if session is None or session.expires_at <= self.clock():
            self.end(sid)
            return None
        principal = self.directory.authenticate(session.key)
        if principal is None:  # the key was revoked
            self.end(sid)
            return None
        return session, self.roles.resolve(principal)

    def end(self, sid: str | None) -> None:
        """Sign out."""
        if sid:
            with self._lock:
                self._sessions.pop(sid, None)

    def _expire(self, now: float) -> None:
        for sid in [s.sid for s in self._sessions.values() if s.expires_at <= now]:
            del self._sessions[sid]


SESSIONS = web.AppKey("console_sessions", SessionStore)
