"""Console sessions: an API key exchanged for a short-lived, server-side session.

The cookie holds only a random session id (HttpOnly, SameSite=Strict, Secure over
TLS, path ``/console``). The session lives in the vault database (migration 4), so
every replica accepts it: the row is keyed by the id's SHA-256 and keeps the tenant,
the principal and the expiry in clear, and the CSRF secret and the API key's hash
sealed under a key derived from the keyring (``vault/session_base.py``). The key
itself is never kept. On every request the principal is looked up again by name and
key hash: a revoked or expired key (or a changed role) ends the session at once, on
every replica; revoking from the console also deletes the principal's sessions.
Expired sessions are deleted at each sign-in and by a periodic task.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field

from aiohttp import web

from redact_gw.crypto import aead
from redact_gw.crypto.keyring import KeyringSource
from redact_gw.errors import IntegrityError
from redact_gw.model import Clock, Principal
from redact_gw.policy.principals import PrincipalDirectory, hash_key
from redact_gw.policy.roles import RolePolicy
from redact_gw.vault.base import VaultStore
from redact_gw.vault.session_base import SessionRow

COOKIE = "rgw_console"
#: Double-submit cookie of the sign-in form (there is no session yet to hold its token).
SIGNIN_COOKIE = "rgw_console_signin"
#: Sessions one principal may hold at once (the oldest ends first).
MAX_PER_PRINCIPAL = 20
PURPOSE = "redact_gw/console-session/v1"


@dataclass(slots=True)
class Session:
    """One signed-in console user."""

    sid: str = field(repr=False)
    csrf: str = field(repr=False)
    principal: str
    expires_at: float


def same(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two tokens (``None`` never matches)."""
    return a is not None and b is not None and hmac.compare_digest(a.encode(), b.encode())


def sid_hash(sid: str) -> str:
    """What the database keeps of a session id."""
    return hashlib.sha256(("console-session\0" + sid).encode()).hexdigest()


def _context(row_hash: str, tenant: str, principal: str, created: float, expires: float,
             kid: str) -> bytes:
    return aead.aad(PURPOSE, row_hash, tenant, principal, repr(created), repr(expires), kid)


class SessionStore:
    """Console sessions of every replica, in the vault database."""

    def __init__(self, store: VaultStore, keys: KeyringSource,
                 directory: PrincipalDirectory, roles: RolePolicy, clock: Clock,
                 ttl_s: float) -> None:
        self.store = store
        self.keys = keys
        self.directory = directory
        self.roles = roles
        self.clock = clock
        self.ttl_s = ttl_s

    async def create(self, key: str) -> tuple[Session, Principal] | None:
        """Sign in with an API key; ``None`` when the key is unknown."""
        principal = await self.directory.authenticate_fresh(key)
        if principal is None:
            return None
        now = self.clock()
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                          principal.name, now + self.ttl_s)
        kek = self.keys.current().primary
        h = sid_hash(session.sid)
        sealed = aead.seal(aead.derive(kek.key, PURPOSE), json.dumps(
            {"csrf": session.csrf, "key_sha256": hash_key(key)}).encode(),
            _context(h, principal.tenant, principal.name, now, session.expires_at, kek.kid))
        await self.store.add_console_session(SessionRow(
            h, principal.tenant, principal.name, now, session.expires_at, kek.kid, sealed),
            MAX_PER_PRINCIPAL)
        return session, self.roles.resolve(principal)

    async def get(self, sid: str | None) -> tuple[Session, Principal] | None:
        """The live session and its principal, looked up again now."""
        if not sid or len(sid) > 128:
            return None
        h = sid_hash(sid)
        row = await self.store.get_console_session(h)
        if row is None:
            return None
        secret = await self._open(row)
        if secret is None or row.expires_at <= self.clock():
            await self.store.delete_console_session(h)
            return None
        principal = self._principal(row, secret["key_sha256"])
        if principal is None:  # maybe revoked, maybe a key this replica has not read yet
            await self.directory.refresh()
            principal = self._principal(row, secret["key_sha256"])
        if principal is None:
            await self.store.delete_console_session(h)
            return None
        return (Session(sid, secret["csrf"], row.principal, row.expires_at),
                self.roles.resolve(principal))

    async def end(self, sid: str | None) -> None:
        """Sign out."""
        if sid:
            await self.store.delete_console_session(sid_hash(sid))

    async def end_principal(self, tenant: str, name: str) -> int:
        """End every session of a principal, on every replica (its key was revoked)."""
        return await self.store.delete_console_sessions(tenant, name)

    async def purge(self) -> int:
        """Delete expired sessions."""
        return await self.store.purge_console_sessions(self.clock())

    async def _open(self, row: SessionRow) -> dict[str, str] | None:
        """The sealed part, or ``None`` when it does not open (forged, moved, key gone)."""
        try:
            ring = await self.keys.ensure(row.kid)
            kek = ring.keys[row.kid]
            plain = aead.open_sealed(aead.derive(kek.key, PURPOSE), row.sealed, _context(
                row.sid_hash, row.tenant, row.principal, row.created_at, row.expires_at,
                row.kid))
            doc = json.loads(plain)
        except (IntegrityError, KeyError, ValueError):
            return None
        ok = isinstance(doc, dict) and all(isinstance(doc.get(k), str)
                                           for k in ("csrf", "key_sha256"))
        return doc if ok else None

    def _principal(self, row: SessionRow, key_sha256: str) -> Principal | None:
        """The row's principal if the key it signed in with is still valid."""
        try:
            digest = bytes.fromhex(key_sha256)
        except ValueError:
            return None
        now = self.directory.clock()  # the clock ``authenticate`` judges keys by
        for entry in self.directory.entries():
            p = entry.principal
            if p.name == row.principal and p.tenant == row.tenant and any(
                    hmac.compare_digest(d, digest) and now < until
                    for d, until in entry.digests):
                return p
        return None


SESSIONS = web.AppKey("console_sessions", SessionStore)
