"""``DataKeyCache``: a record's opened data key, kept briefly for its next request.

A live call or a chat sends one utterance at a time under the same record, and each
request used to unwrap the record's data key (AES-GCM under the KEK) and derive its
fingerprint key (HKDF) again. This cache keeps both per record, in this process only:

- **Checked against the row on every use.** The vault reads the record row first, as
  before; a cached key is used only when the row still names the same data key id,
  KEK id and wrapped bytes. Crypto-shredding (no wrapped key left) and re-wrapping
  under a new KEK change the row, so the cached copy is never used again: it is
  dropped at that use (``Gone`` also drops it).
- **Keyring changes empty it.** A reloaded keyring (a rotation, a retired key removed
  from the key file) is a new ``Keyring`` object: the first use after it clears every
  entry, so a key opened under a KEK that is gone does not outlive it.
- **Bounded.** At most ``max_entries`` records (least recently used leave first), each
  for at most ``ttl_s`` seconds after it was opened: expired keys are swept at the next
  use of the vault, so a record shredded by another process does not keep its key in
  this memory while the gateway serves, even if that record is never used again here.

Nothing here is logged or exposed; keys never appear in a repr.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from redact_gw.vault.base import RecordRow


@dataclass(frozen=True, slots=True)
class OpenKey:
    """A record's data key and fingerprint key, opened."""

    dek: bytes = field(repr=False)
    fingerprint_key: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class _Entry:
    dek_id: str
    kek_id: str
    wrapped: bytes = field(repr=False)
    expires: float
    key: OpenKey


class DataKeyCache:
    """Opened data keys per (tenant, record), bounded in count and age."""

    def __init__(self, max_entries: int = 1024, ttl_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._ring: object | None = None
        self._swept = clock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, row: RecordRow, ring: object) -> OpenKey | None:
        """The cached key of ``row`` if the row and the keyring still match it."""
        self.check_ring(ring)
        self._sweep()
        entry = self._entries.get((row.tenant, row.record_id))
        if entry is None:
            return None
        if (entry.expires <= self._clock() or entry.dek_id != row.dek_id
                or entry.kek_id != row.kek_id or entry.wrapped != row.wrapped_dek):
            del self._entries[(row.tenant, row.record_id)]
            return None
        self._entries.move_to_end((row.tenant, row.record_id))
        return entry.key

    def put(self, row: RecordRow, ring: object, key: OpenKey) -> None:
        """Remember ``key`` for ``row`` (a row without a wrapped key is not kept)."""
        if self.max_entries <= 0 or row.wrapped_dek is None or row.dek_id is None \
                or row.kek_id is None:
            return
        self.check_ring(ring)
        self._entries[(row.tenant, row.record_id)] = _Entry(
            row.dek_id, row.kek_id, row.wrapped_dek, self._clock() + self.ttl_s, key)
        self._entries.move_to_end((row.tenant, row.record_id))
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def forget(self, tenant: str, record_id: str) -> None:
        """Drop one record's key (it was found shredded)."""
        self._entries.pop((tenant, record_id), None)

    def clear(self) -> None:
        """Drop every key."""
        self._entries.clear()

    def check_ring(self, ring: object) -> None:
        """Empty the cache when ``ring`` is not the keyring its keys were opened under."""
        if ring is not self._ring:
            self._entries.clear()
            self._ring = ring

    def _sweep(self) -> None:
        """Drop expired keys (at most once a second: a scan of ``max_entries``)."""
        now = self._clock()
        if now - self._swept < 1.0:
            return
        self._swept = now
        for k in [k for k, e in self._entries.items() if e.expires <= now]:
            del self._entries[k]
