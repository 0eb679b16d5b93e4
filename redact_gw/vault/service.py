"""``Vault``: envelope encryption on top of a ``VaultStore``.

Each record has its own random 256-bit data key (DEK), stored only wrapped by the
primary key-encryption key (KEK) of the keyring, with the KEK id beside it. Values
are sealed with AES-256-GCM under the DEK; the associated data binds tenant, record,
token, data-key id, sender and (``aad_version`` 2) entity type, subject and expiry, so
a ciphertext moved to another row, retyped, given to another subject or kept past its
expiry by a database writer fails to open (``IntegrityError``). Rows sealed before
schema version 2 (``aad_version`` 1) open with the old associated data. Value
fingerprints are HMACs under a key derived from the DEK: equal values in a record
meet, nothing is learned without the DEK, and shredding the DEK shreds them too.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable, Collection, Iterable, Sequence

from redact_gw.crypto import aead
from redact_gw.crypto.keyring import KeyringSource
from redact_gw.errors import Gone, IntegrityError, NotFound
from redact_gw.model import Clock, KnownValue, PendingValue, Revealed
from redact_gw.tokens import format_token
from redact_gw.vault.base import (
    AuditAppend,
    Claim,
    EntryRow,
    RecordRaceLost,
    RecordRow,
    RecordState,
    Rewrap,
    VaultStore,
)
from redact_gw.vault.keycache import DataKeyCache, OpenKey

#: (tenant, channel, entity_type, now) -> expiry time, or None to keep until erased.
ExpiryPolicy = Callable[[str, str | None, str, float], float | None]


def _dek_context(tenant: str, record_id: str, dek_id: str) -> bytes:
    return aead.aad("redact_gw/dek/v1", tenant, record_id, dek_id)


AAD_VERSION = 2
_FINGERPRINT_PURPOSE = "redact_gw/fingerprint/v1"


def _expiry(expires_at: float | None) -> str:
    return "" if expires_at is None else repr(float(expires_at))


def _value_context(tenant: str, record_id: str, token: str, dek_id: str,
                   entry: EntryRow) -> bytes:
    # sent_by is bound too: editing who sent a value (to restore it elsewhere) breaks it
    base = (tenant, record_id, token, dek_id, entry.sent_by or "")
    if entry.aad_version == 1:
        return aead.aad("redact_gw/value/v1", *base)
    if entry.aad_version != AAD_VERSION:
        raise IntegrityError()
    return _value_context_v2(tenant, record_id, token, dek_id, entry.sent_by,
                             entry.entity_type, entry.subject_id, entry.expires_at)


def _value_context_v2(tenant: str, record_id: str, token: str, dek_id: str,
                      sent_by: str | None, entity_type: str, subject_id: str | None,
                      expires_at: float | None) -> bytes:
    """The current (``AAD_VERSION``) associated data of a value, from its row's fields."""
    return aead.aad("redact_gw/value/v2", tenant, record_id, token, dek_id, sent_by or "",
                    entity_type, subject_id or "", _expiry(expires_at))


class Vault:
    """Tokenize-and-seal, reveal and rotate, for one store and keyring."""

    def __init__(self, store: VaultStore, keys: KeyringSource, *,
                 clock: Clock = time.time, expiry: ExpiryPolicy | None = None,
                 key_cache: DataKeyCache | None = None) -> None:
        self.store = store
        self.keys = keys
        self.clock = clock
        self.expiry = expiry
        #: Opened data keys per record (``keycache``): checked against the row each use.
        self.key_cache = key_cache if key_cache is not None else DataKeyCache()

    # -- data keys ------------------------------------------------------------------------
    def _new_record(self, tenant: str, record_id: str, subject_id: str | None,
                    channel: str | None) -> tuple[RecordRow, bytes]:
        dek = aead.new_key()
        dek_id = secrets.token_hex(8)
        kid, wrapped = self.keys.current().wrap(dek, _dek_context(tenant, record_id, dek_id))
        row = RecordRow(tenant, record_id, subject_id, self.clock(), dek_id, kid, wrapped,
                        channel=channel)
        return row, dek

    async def _open_key(self, row: RecordRow, *, cache: bool = True) -> OpenKey:
        """The record's opened data key: from the cache while the row and keyring still
        match it, else unwrapped (and cached, unless ``cache`` is false: re-wrapping is
        about to change the row)."""
        if row.wrapped_dek is None or row.kek_id is None or row.dek_id is None:
            self.key_cache.forget(row.tenant, row.record_id)
            raise Gone("the record's data key has been shredded", code="record_shredded")
        ring = await self.keys.ensure(row.kek_id)
        self.key_cache.check_ring(ring)
        cached = self.key_cache.get(row, ring) if cache else None
        if cached is not None:
            return cached
        dek = ring.unwrap(row.kek_id, row.wrapped_dek,
                          _dek_context(row.tenant, row.record_id, row.dek_id))
        key = OpenKey(dek, aead.derive(dek, _FINGERPRINT_PURPOSE))
        if cache:
            self.key_cache.put(row, ring, key)
        return key

    async def _unwrap(self, row: RecordRow) -> bytes:
        return (await self._open_key(row)).dek

    @staticmethod
    def _fingerprints(fp_key: bytes, keys: Iterable[tuple[str, str]]
                      ) -> dict[tuple[str, str], bytes]:
        return {k: aead.fingerprint(fp_key, f"{k[0]}\0{k[1]}") for k in keys}

    # -- tokenize -------------------------------------------------------------------------
    async def tokenize(self, tenant: str, record_id: str, subject_id: str | None,
                       values: Sequence[PendingValue], *, channel: str | None = None,
                       no_retention: bool = False, sent_by: str | None = None,
                       read: RecordState | None = None,
                       audit: AuditAppend | None = None) -> dict[tuple[str, str], str]:
        """Seal every value and return (entity_type, key) -> token.

        Values already in the record keep their token. Either every new value is
        stored or none is (one transaction), so no token is ever handed out without
        its sealed original. With ``no_retention`` nothing reversible is written:
        the record is marked, tokens are fresh and can never be restored.

        ``read``: the record as read before detection; the first attempt starts from
        it instead of reading it again. A record changed since (created, shredded,
        given a new key) makes the commit lose its race (``RecordRaceLost``), a key
        rotated out of the key file since fails to open: either way the next attempt
        reads the record afresh.

        ``audit``: an event to append in the transaction that stores the values (its
        ``row`` is then set), even when every value was already stored; left unwritten
        when there are no values or nothing is retained.
        """
        unique = {(v.entity_type, v.key): v for v in values}
        if no_retention:
            stored = await self.store.ensure_record(RecordRow(
                tenant, record_id, subject_id, self.clock(), None, None, None,
                no_retention=True, channel=channel))
            if subject_id is not None and unique and stored.wrapped_dek is not None:
                await self._shred_resent(stored, subject_id, unique)
            return {k: format_token(k[0]) for k in unique}
        if not unique:
            return {}
        if read is not None:
            # the read saw every entry and none without a subject: nothing to claim
            # unless one is stored meanwhile (the commit then loses its race)
            settled = read.complete and all(e.subject_id is not None for e in read.entries)
            try:
                return await self._tokenize_once(tenant, record_id, subject_id, channel,
                                                 unique, sent_by, read.record, audit,
                                                 unowned_seen=not settled)
            except (RecordRaceLost, IntegrityError):
                pass  # the record changed since it was read: read it again
        for _attempt in range(3):
            try:
                return await self._tokenize_once(
                    tenant, record_id, subject_id, channel, unique, sent_by,
                    await self.store.get_record(tenant, record_id), audit)
            except RecordRaceLost:
                continue
        raise RecordRaceLost()

    async def _tokenize_once(self, tenant: str, record_id: str, subject_id: str | None,
                             channel: str | None, unique: dict[tuple[str, str], PendingValue],
                             sent_by: str | None, record: RecordRow | None,
                             audit: AuditAppend | None, *, unowned_seen: bool = True
                             ) -> dict[tuple[str, str], str]:
        # Every value is sealed as a draft, known or not: ``commit_entries`` inserts the
        # new ones and hands back the token already stored for the others, in the one
        # transaction that also appends the audit event. Looking the known ones up first
        # cost a round trip of its own to the vault (for SQLite two thread hand-offs) on
        # every request to an existing record, and left a window between the look-up and
        # the write in which a purged value's token could still be handed out.
        fresh_key: OpenKey | None = None
        if record is None or record.wrapped_dek is None:
            ring = self.keys.current()
            fresh, dek = self._new_record(tenant, record_id, subject_id, channel)
            record = fresh if record is None else RecordRow(
                record.tenant, record.record_id, record.subject_id, record.created_at,
                fresh.dek_id, fresh.kek_id, fresh.wrapped_dek, record.no_retention,
                record.legal_hold, record.channel)
            fresh_key = OpenKey(dek, aead.derive(dek, _FINGERPRINT_PURPOSE))
            fps = self._fingerprints(fresh_key.fingerprint_key, unique)
        else:
            key = await self._open_key(record)
            dek = key.dek
            fps = self._fingerprints(key.fingerprint_key, unique)
        now = self.clock()
        drafts = []
        seal = aead.sealer(dek)
        dek_id = record.dek_id
        assert dek_id is not None
        for k, v in unique.items():
            token = format_token(v.entity_type)
            expires = (self.expiry(tenant, record.channel, v.entity_type, now)
                       if self.expiry else None)
            expires_at = None if expires is None else float(expires)
            sealed = seal(v.original.encode("utf-8"), _value_context_v2(
                tenant, record_id, token, dek_id, sent_by, v.entity_type, subject_id,
                expires_at))
            drafts.append(EntryRow(tenant, record_id, token, v.entity_type, fps[k], sealed,
                                   now, expires_at, sent_by, subject_id, AAD_VERSION))
        # a record new here holds no value yet (or this commit loses its race)
        claim = None if subject_id is None or fresh_key is not None else Claim(
            subject_id, self._resealer(record, dek, seal, subject_id), AAD_VERSION,
            likely=unowned_seen)
        stored = await self.store.commit_entries(record, drafts, audit, claim=claim)
        if fresh_key is not None:  # stored: the record's key is this one
            self.key_cache.put(record, ring, fresh_key)
        return {k: stored[fp] for k, fp in fps.items()}

    def _resealer(self, record: RecordRow, dek: bytes, seal: Callable[[bytes, bytes], bytes],
                  subject_id: str) -> Callable[[EntryRow], bytes]:
        """Values first sent without a subject, sent again for one, become that
        subject's (``Claim``): re-sealed under the same token, sender, type and expiry
        with the subject bound, so erasing the subject or its no-retention opt-out
        removes them. A value stored for one subject stays that subject's. A row that
        fails to open fails the request closed, with nothing of it written. ``seal``:
        the request's own sealer under ``dek`` (its cipher set up once)."""
        assert record.dek_id is not None
        dek_id = record.dek_id

        def reseal(e: EntryRow) -> bytes:
            value = self._open(record, dek, e).value
            return seal(value.encode("utf-8"), _value_context_v2(
                record.tenant, record.record_id, e.token, dek_id, e.sent_by,
                e.entity_type, subject_id, e.expires_at))
        return reseal

    async def _shred_resent(self, record: RecordRow, subject_id: str,
                            unique: dict[tuple[str, str], PendingValue]) -> None:
        """A no-retention subject sent again values the record holds without a
        subject: they are the subject's, so they go (claimed, then shredded with
        everything else written for the subject, as setting the flag did)."""
        key = await self._open_key(record)
        fps = self._fingerprints(key.fingerprint_key, unique)
        reseal = self._resealer(record, key.dek, aead.sealer(key.dek), subject_id)
        claim = Claim(subject_id, reseal, AAD_VERSION, fingerprints=list(fps.values()))
        await self.store.commit_entries(record, [], claim=claim)
        if claim.claimed:
            await self.store.shred_subject_values(record.tenant, subject_id, self.clock(),
                                                  "no_retention")

    # -- reveal ---------------------------------------------------------------------------
    async def get_record(self, tenant: str, record_id: str) -> RecordRow:
        """The record row; ``NotFound`` when unknown in this tenant."""
        row = await self.store.get_record(tenant, record_id)
        if row is None:
            raise NotFound("unknown record", code="record_not_found")
        return row

    def _open(self, row: RecordRow, dek: bytes, entry: EntryRow) -> Revealed:
        assert row.dek_id is not None
        plain = aead.open_sealed(dek, entry.sealed, _value_context(
            row.tenant, row.record_id, entry.token, row.dek_id, entry))
        try:
            value = plain.decode("utf-8")
        except UnicodeDecodeError:
            raise IntegrityError() from None
        return Revealed(entry.token, entry.entity_type, value, entry.sent_by)

    async def reveal(self, tenant: str, record_id: str,
                     tokens: Sequence[str]) -> dict[str, Revealed]:
        """Open the given tokens of a record; unknown tokens are simply absent.

        Raises:
            NotFound: the record does not exist in this tenant.
            IntegrityError: a row or key failed authentication.
        """
        row = await self.get_record(tenant, record_id)
        entries = await self.store.get_entries(tenant, record_id, tokens)
        if not entries:
            return {}
        dek = await self._unwrap(row)
        return {e.token: self._open(row, dek, e) for e in entries}

    async def removed_tokens(self, tenant: str, record_id: str,
                             tokens: Sequence[str]) -> set[str]:
        """Which tokens of the record were purged or shredded (answer 410 for them)."""
        return await self.store.removed_tokens(tenant, record_id, tokens)

    async def known_values(self, tenant: str, record_id: str,
                           senders: Collection[str] | None = None, *,
                           read: RecordState | None = None) -> list[KnownValue]:
        """Values already sealed in the record (for recurrence detection).

        Args:
            senders: Only values these principals sent (``None``: every value, for
                operator tools). A caller's detection context must never hold another
                principal's values: their pieces would show up as tokens (an oracle).
            read: The record and its entries as already read
                (``VaultStore.redaction_state`` with ``entries``): nothing is read again.
        """
        if read is not None:
            row, entries = read.record, read.entries
        else:
            row = await self.store.get_record(tenant, record_id)
            entries = []
        if row is None or row.wrapped_dek is None:
            return []
        if read is None:
            entries = await self.store.record_entries(tenant, record_id)
        if senders is not None:
            entries = [e for e in entries if e.sent_by is not None and e.sent_by in senders]
        if not entries:
            return []
        dek = await self._unwrap(row)
        return [KnownValue(r.entity_type, r.value)
                for r in (self._open(row, dek, e) for e in entries)]

    async def data_key(self, tenant: str, record_id: str, subject_id: str | None = None,
                       channel: str | None = None, *,
                       create: bool = False) -> tuple[RecordRow, bytes]:
        """The record's data key, to seal review copies under it (``review/sealing.py``).

        With ``create`` a record without one gets a fresh key (a transcript in which
        nothing was found can still be sampled for review).

        Raises:
            NotFound: unknown record (and not ``create``).
            Gone: the data key was shredded, or never kept (no_retention).
        """
        for _attempt in range(3):
            row = await self.store.get_record(tenant, record_id)
            if row is not None:  # a shredded or no-retention record is never revived
                return row, await self._unwrap(row)
            if not create:
                raise NotFound("unknown record", code="record_not_found")
            fresh, dek = self._new_record(tenant, record_id, subject_id, channel)
            try:
                await self.store.commit_entries(fresh, [])
            except RecordRaceLost:
                continue
            stored = await self.store.get_record(tenant, record_id)
            assert stored is not None
            return stored, dek
        raise RecordRaceLost()

    # -- rotation -------------------------------------------------------------------------
    async def rewrap_batch(self, batch_size: int = 500,
                           report: RewrapReport | None = None) -> int:
        """Re-wrap up to ``batch_size`` data keys under the current primary KEK.

        A record whose data key does not open (tampered, or its KEK gone from the key
        file) is skipped and named in ``report.failed``; the batch goes on without it.
        Returns how many records were re-wrapped (0 when none is left to try).
        """
        report = report if report is not None else RewrapReport()
        ring = self.keys.current()
        while True:
            rows = await self.store.records_not_under(ring.primary_kid, batch_size,
                                                      after=report.cursor)
            if not rows:
                report.cursor = None  # the next call starts a new pass
                return 0
            report.cursor = (rows[-1].tenant, rows[-1].record_id)
            rewraps = []
            for row in rows:
                try:
                    dek = (await self._open_key(row, cache=False)).dek
                except (IntegrityError, Gone):
                    report.fail(row.tenant, row.record_id)
                    continue
                assert row.dek_id is not None and row.kek_id is not None
                kid, wrapped = ring.wrap(dek, _dek_context(row.tenant, row.record_id,
                                                           row.dek_id))
                rewraps.append(Rewrap(row.tenant, row.record_id, row.kek_id, kid, wrapped))
            if rewraps:
                done = await self.store.apply_rewraps(rewraps)
                report.rewrapped += done
                return done


@dataclasses.dataclass(slots=True)
class RewrapReport:
    """Progress of a re-wrap: how many moved, which records could not be opened."""

    rewrapped: int = 0
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    #: Last (tenant, record_id) looked at in the current pass.
    cursor: tuple[str, str] | None = None

    def fail(self, tenant: str, record_id: str) -> None:
        """Remember a record whose data key did not open (once)."""
        if (tenant, record_id) not in self.failed:
            self.failed.append((tenant, record_id))

    def to_dict(self) -> dict[str, object]:
        """JSON form: ids of failed records (never a key or a value)."""
        return {"rewrapped": self.rewrapped,
                "failed": [{"tenant": t, "record_id": r} for t, r in self.failed]}
