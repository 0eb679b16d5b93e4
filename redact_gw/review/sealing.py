"""Review copies, regression cases and list candidates sealed under the record's data key.

AES-256-GCM through ``crypto.aead``; the associated data binds tenant, record, item
(or case/candidate id), data-key id and what kind of thing it is, so a sealed copy
moved to another item or record fails to open. Shredding the record's data key
makes every one of them unreadable, like the record's values.
"""

from __future__ import annotations

import json
from typing import Any

from redact_gw.crypto import aead
from redact_gw.errors import IntegrityError

KINDS = frozenset({"copy", "case", "candidate"})


def _context(kind: str, tenant: str, record_id: str, item_id: str, dek_id: str) -> bytes:
    assert kind in KINDS
    return aead.aad("redact_gw/review/v1", kind, tenant, record_id, item_id, dek_id)


def seal_json(dek: bytes, kind: str, tenant: str, record_id: str, item_id: str,
              dek_id: str, doc: Any) -> bytes:
    """Seal a JSON document."""
    plain = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return aead.seal(dek, plain, _context(kind, tenant, record_id, item_id, dek_id))


def open_json(dek: bytes, kind: str, tenant: str, record_id: str, item_id: str,
              dek_id: str, sealed: bytes) -> Any:
    """Open what ``seal_json`` sealed; any mismatch is ``IntegrityError``."""
    plain = aead.open_sealed(dek, sealed, _context(kind, tenant, record_id, item_id, dek_id))
    try:
        return json.loads(plain.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise IntegrityError() from None
