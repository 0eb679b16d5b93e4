"""``redact-gw doctor``: check a deployment and say what is wrong in plain words.

One line per check: ``ok``, ``warn`` or ``FAIL``, what was found and, when something
is off, how to fix it. Checks: the config parses; the key file exists, is readable,
is private (no group or other access), holds real keys and one primary; the principals
file parses and names at least one principal; the spaCy model is installed; the
tldextract offline snapshot loads; the vault answers and its schema is current
(opened without migrating); the upstream AI service answers HTTP; the audit mirror's
directory is writable.

Nothing here prints a key, an API key, a DSN password or any other secret: URLs are
shown without user info or query, the vault as backend and host.
"""

from __future__ import annotations

import asyncio
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from redact_gw.errors import ConfigError, RedactGwError
from redact_gw.settings import CONFIG_ENV, Settings, load_settings

Status = Literal["ok", "warn", "FAIL"]


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one check."""

    name: str
    status: Status
    detail: str
    fix: str | None = None

    def line(self) -> str:
        """``FAIL  keys        <detail>  -> fix: <hint>``."""
        hint = f"  -> fix: {self.fix}" if self.fix and self.status != "ok" else ""
        return f"{self.status:<4}  {self.name:<11} {self.detail}{hint}"


def _safe_url(url: str) -> str:
    """``url`` without user, password, query or fragment (they may hold secrets)."""
    from yarl import URL
    try:
        u = URL(url)
        return str(u.with_user(None).with_query(None).with_fragment(None))
    except (ValueError, TypeError):
        return "(unparsable URL)"


def check_config(path: str | None, environ: Mapping[str, str]) -> tuple[Check, Settings | None]:
    """Parse settings the way ``serve`` does."""
    source = path or environ.get(CONFIG_ENV)
    try:
        settings = load_settings(path, environ)
    except ConfigError as exc:
        return Check("config", "FAIL", exc.message,
                     "correct the named key (config/redact-gw.yaml documents every key)"
                     ), None
    if not source:
        return Check("config", "warn", "no config file (--config or $REDACT_GW_CONFIG):"
                                       " built-in defaults and REDACT_GW_* variables only",
                     "pass --config PATH or set REDACT_GW_CONFIG"), settings
    return Check("config", "ok", f"{source} parsed ({settings.mode})"), settings


def check_keys(settings: Settings) -> Check:
    """Key file: present, readable, private, real keys, exactly one primary."""
    from redact_gw.crypto import keyring
    path = settings.resolve(settings.keys.path)
    generate = f"redact-gw keys generate {path} (or mount the key file there, REDACT_GW_KEYS)"
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return Check("keys", "FAIL", f"key file {path} does not exist", generate)
    except OSError as exc:
        return Check("keys", "FAIL", f"key file {path} cannot be read ({exc.strerror})",
                     "let the gateway's user read it")
    if not stat.S_ISREG(mode):
        return Check("keys", "FAIL", f"key file {path} is not a regular file", generate)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return Check("keys", "FAIL", f"key file {path} is accessible by group or others"
                                     f" (mode {stat.S_IMODE(mode):o}); the gateway refuses it",
                     f"chmod 600 {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        return Check("keys", "FAIL", f"key file {path} cannot be read ({reason})",
                     "chown it to the gateway's user, mode 600")
    try:
        ring = keyring.parse_keyring(path, text)
    except ConfigError as exc:
        if "placeholder" in exc.message:
            return Check("keys", "FAIL", f"key file {path} holds placeholder keys (a copy of"
                                         " keys.example?); the gateway refuses them", generate)
        if "primary" in exc.message:
            return Check("keys", "FAIL", exc.message,
                         "exactly one key must have status: primary (keys.example)")
        return Check("keys", "FAIL", exc.message, "see keys.example for the format, or "
                                                  + generate)
    retired = len(ring.keys) - 1
    return Check("keys", "ok", f"{path}: primary {ring.primary_kid}"
                               f"{f', {retired} retired' if retired else ''},"
                               f" mode {stat.S_IMODE(mode):o}")


def check_principals(settings: Settings, config_hint: str) -> Check:
    """Principals file: present, parseable, at least one principal."""
    from redact_gw.policy.principals import PrincipalDirectory
    path = settings.resolve(settings.auth.principals_file)
    create = (f"redact-gw{config_hint} apikey create --tenant TENANT --role ai-service"
              " (or mount the principals file there, REDACT_GW_PRINCIPALS)")
    if not path.exists():
        return Check("principals", "FAIL", f"principals file {path} does not exist: every"
                                           " request would be refused (401)", create)
    if path.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return Check("principals", "FAIL", f"principals file {path} is writable by group or"
                                           " others, who could add an API key; the gateway"
                                           " refuses it", f"chmod 600 {path}")
    try:
        principals = PrincipalDirectory(path).principals()
    except ConfigError as exc:
        return Check("principals", "FAIL", exc.message, "fix the file, or recreate it: "
                                                        + create)
    except (OSError, UnicodeDecodeError):
        return Check("principals", "FAIL", f"principals file {path} cannot be read",
                     "let the gateway's user read it")
    if not principals:
        return Check("principals", "FAIL", f"principals file {path} names no principal:"
                                           " every request would be refused (401)", create)
    tenants = len({p.tenant for p in principals})
    return Check("principals", "ok",
                 f"{path}: {len(principals)} principal(s) in {tenants} tenant(s)")


def check_spacy(settings: Settings) -> Check:
    """The configured spaCy model is installed (not loaded: that takes seconds)."""
    from redact_gw.detection import require_model
    model = settings.detection.spacy_model
    try:
        require_model(model)  # the gateway's own test, before it starts its workers
        return Check("spacy", "ok", f"model {model} installed")
    except ConfigError:
        pass
    return Check("spacy", "FAIL", f"spaCy model {model!r} is not installed (the gateway never"
                                  " downloads one)",
                 f"pip install the {model} package, or set detection.spacy_model"
                 " (REDACT_GW_SPACY_MODEL) to an installed model")


def check_tldextract() -> Check:
    """tldextract's bundled public-suffix snapshot loads without the network."""
    try:
        from redact_gw.detection.spoken_email import offline_tld
        result = offline_tld()("mail.example.co.uk")
        ok = result.suffix == "co.uk" and result.domain == "example"
    except Exception as exc:  # any failure of the library is the finding
        return Check("tldextract", "FAIL", f"offline public-suffix snapshot unusable"
                                           f" ({type(exc).__name__})",
                     "reinstall tldextract (its wheel ships the snapshot)")
    if not ok:
        return Check("tldextract", "FAIL", "offline public-suffix snapshot gives wrong"
                                           " answers", "reinstall tldextract")
    return Check("tldextract", "ok", "offline public-suffix snapshot loaded (no download)")


def _writable_dir(directory: Path) -> bool:
    """True when a file can be created in ``directory`` (or its nearest existing parent,
    which the gateway would create it under)."""
    probe = directory
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    try:
        with tempfile.TemporaryFile(dir=probe, prefix=".redact-gw-doctor-"):
            return True
    except OSError:
        return False


def _vault_where(settings: Settings) -> str:
    if not settings.vault.is_postgres:
        return f"SQLite {settings.resolve(settings.vault.url)}"
    from yarl import URL
    try:
        u = URL(settings.vault.url)
        return f"PostgreSQL {u.host or 'localhost'}:{u.port or 5432}{u.path}"
    except (ValueError, TypeError):
        return "PostgreSQL"


async def check_vault(settings: Settings, config_hint: str) -> Check:
    """The vault answers and every migration this gateway knows is applied."""
    from redact_gw.proxy.app import open_store
    from redact_gw.vault import migrations
    v = settings.vault
    where = _vault_where(settings)
    migrate = f"redact-gw{config_hint} migrate"
    if not v.is_postgres:
        path = settings.resolve(v.url)
        if not _writable_dir(path.parent):
            return Check("vault", "FAIL", f"{where}: directory {path.parent} is not writable",
                         "mount a writable volume there (the container uses"
                         " /var/lib/redact-gw) or change vault.url (REDACT_GW_VAULT)")
        if not path.exists():
            if v.migrate_on_start:
                return Check("vault", "warn", f"{where} does not exist yet; it is created at"
                                              " first start", f"or create it now: {migrate}")
            return Check("vault", "FAIL", f"{where} does not exist and"
                                          " vault.migrate_on_start is off", migrate)
        if not os.access(path, os.R_OK | os.W_OK):
            return Check("vault", "FAIL", f"{where} is not readable and writable by this user",
                         "chown it to the gateway's user, mode 600")
    store = open_store(settings, migrate=False)
    unreachable = Check("vault", "FAIL", f"cannot reach the vault ({where})",
                        "check vault.url (REDACT_GW_VAULT), that the database is up and"
                        " reachable from here, and its credentials")
    try:
        await asyncio.wait_for(store.open(), v.connect_timeout_s + 1)
    except ConfigError as exc:
        return Check("vault", "FAIL", exc.message, "fix vault.url (REDACT_GW_VAULT)")
    except (RedactGwError, OSError, TimeoutError):
        return unreachable
    try:
        if not await store.ping():
            return unreachable
        applied = set(await store.schema_versions())
    except RedactGwError:
        return unreachable
    finally:
        await store.close()
    known = migrations.known_versions(postgres=v.is_postgres)
    newer = sorted(applied - known)
    pending = migrations.pending(applied, postgres=v.is_postgres)
    if newer:
        return Check("vault", "FAIL", f"{where}: schema version {newer[-1]} is newer than this"
                                      f" gateway knows ({max(known)})",
                     "upgrade redact-gw, or point vault.url at the right database")
    if pending:
        if v.migrate_on_start:
            return Check("vault", "warn", f"{where} reachable; migrations {pending} pending,"
                                          " applied at start (vault.migrate_on_start)",
                         f"or apply them before deploying: {migrate}")
        return Check("vault", "FAIL", f"{where} reachable; migrations {pending} pending and"
                                      " vault.migrate_on_start is off", migrate)
    return Check("vault", "ok", f"{where} reachable, schema at version {max(applied)}"
                                " (current)")


def _reason(exc: BaseException) -> str:
    """``connection refused``, ``name or service not known``... or the exception type."""
    os_error = getattr(exc, "os_error", exc if isinstance(exc, OSError) else None)
    errno = getattr(os_error, "errno", None)
    if isinstance(errno, int) and errno > 0:
        return os.strerror(errno).lower()
    text = getattr(os_error, "strerror", None)
    return text.lower() if isinstance(text, str) and text else type(exc).__name__


async def _http_check(name: str, url: str, headers: dict[str, str], timeout_s: float,
                      setting: str) -> Check:
    import aiohttp
    shown = _safe_url(url)
    fix = (f"check {setting}, that the service is up and reachable from here"
           " (DNS, proxy, firewall)")
    try:
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as s, \
                s.get(url, headers=headers, allow_redirects=False) as resp:
            status = resp.status
    except TimeoutError:
        return Check(name, "FAIL", f"{shown} did not answer within {timeout_s:g}s", fix)
    except aiohttp.ClientSSLError as exc:
        return Check(name, "FAIL", f"{shown}: TLS failed ({type(exc).__name__})",
                     "check the certificate chain and the host name")
    except (aiohttp.ClientError, OSError) as exc:
        return Check(name, "FAIL", f"{shown} unreachable ({_reason(exc)})", fix)
    if name == "upstream" and status in (401, 403):
        return Check(name, "warn", f"{shown} answered HTTP {status}: the gateway's upstream"
                                   " key is missing or refused",
                     "set upstream.api_key (REDACT_GW_UPSTREAM_API_KEY)")
    return Check(name, "ok", f"{shown} answered HTTP {status}")


async def check_upstreams(settings: Settings, timeout_s: float) -> list[Check]:
    """The upstream AI service (``GET <url>/models``) and every generic route's service
    answer HTTP at all; any status counts as reachable."""
    up = settings.upstream
    headers = {"Authorization": f"Bearer {up.api_key}"} if up.api_key else {}
    coros = [_http_check("upstream", up.url.rstrip("/") + "/models", headers, timeout_s,
                         "upstream.url (REDACT_GW_UPSTREAM_URL)")]
    seen: set[str] = set()
    for route in settings.routes:
        if route.upstream_url not in seen:
            seen.add(route.upstream_url)
            coros.append(_http_check(f"route {route.path}", route.upstream_url, {},
                                     timeout_s, f"routes[].upstream_url of {route.path}"))
    return list(await asyncio.gather(*coros))


def check_audit_mirror(settings: Settings) -> Check:
    """The audit mirror (when configured) can be appended to."""
    mirror = settings.audit.mirror_jsonl
    if not mirror:
        return Check("audit", "ok", "no JSONL mirror configured (the audit trail is in the"
                                    " vault)")
    path = settings.resolve(mirror)
    fix = ("mount a writable volume there (the container uses /var/lib/redact-gw) or change"
           " audit.mirror_jsonl (REDACT_GW_AUDIT_MIRROR)")
    if path.exists():
        if not os.access(path, os.W_OK):
            return Check("audit", "FAIL", f"audit mirror {path} is not writable", fix)
    elif not _writable_dir(path.parent):
        return Check("audit", "FAIL", f"audit mirror directory {path.parent} is not"
                                      " writable", fix)
    return Check("audit", "ok", f"audit mirror {path} writable")


async def run_checks(config: str | None, environ: Mapping[str, str] | None = None, *,
                     timeout_s: float = 3.0) -> list[Check]:
    """Every check, in order; stops after the config check when the config is broken."""
    env = os.environ if environ is None else environ
    first, settings = check_config(config, env)
    if settings is None:
        return [first]
    hint = f" --config {config}" if config else ""
    checks = [first, check_keys(settings), check_principals(settings, hint),
              check_spacy(settings), check_tldextract()]
    vault, upstreams = await asyncio.gather(check_vault(settings, hint),
                                            check_upstreams(settings, timeout_s))
    return [*checks, vault, *upstreams, check_audit_mirror(settings)]
