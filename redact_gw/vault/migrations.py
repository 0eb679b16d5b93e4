"""Versioned schema migrations, one list per backend, applied in order.

Each migration runs in its own transaction together with the row that records it
in ``schema_migrations``, so a crash leaves the schema at a whole version. A new
schema change is a new (version, sql) pair appended to BOTH lists; released
migrations are never edited.

Tables:
  records       one row per record: wrapped data key (NULL once shredded), subject,
                retention flags; survives shredding as a tombstone (410 vs 404)
  entries       sealed values: token, entity type, keyed fingerprint, ciphertext, expiry,
                the principal that first sent the value (whose answers may restore it),
                and (version 2) the subject it was written for plus ``aad_version``: 1 for
                rows sealed before version 2 (associated data without entity type,
                expiry and subject), 2 for rows whose associated data binds them
  tombstones    tokens whose value was purged or shredded (410 on reveal)
  optouts       per-tenant subject opt-out flags
  audit_events  append-only hash-chained audit log (payload is canonical JSON)
  audit_head    PostgreSQL only: the chain head row appenders lock (one writer at a time)
  quotas        reveal counts per principal per window
  locks         named leases (one purge at a time across replicas)
  review_items  (v3) sampled transcripts for human review: the tokenized copy (and the
                answer) sealed under the record's data key; why it was sampled; expiry
  review_verdicts (v3) reviewers' verdicts: type, token, time to review; a missed value's
                regression case sealed under the record's data key
  review_proposals (v3) allow/deny-list candidates from verdicts, the value sealed
  console_sessions (v4) console sign-ins any replica accepts: the session id's SHA-256,
                tenant, principal, expiry; CSRF secret and key hash sealed under a key
                derived from the keyring (``vault/session_base.py``); and
                review_proposals.route: an approved entry applied to one route first
  policy_overrides (v5) detection settings applied to one route or tenant first
                (phased rollout): canonical JSON, who and when, HMAC under a key
                derived from the keyring (``vault/override_base.py``)
"""

from __future__ import annotations

from collections.abc import Iterable

# Version 4 (both backends): console sessions in the database, not one process;
# list entries approved for one route first (phased).
_V4_SESSIONS = """
CREATE TABLE console_sessions (
    sid_hash    TEXT NOT NULL PRIMARY KEY,
    tenant      TEXT NOT NULL,
    principal   TEXT NOT NULL,
    created_at  {real} NOT NULL,
    expires_at  {real} NOT NULL,
    kid         TEXT NOT NULL,
    sealed      {blob} NOT NULL
);
CREATE INDEX console_sessions_by_principal ON console_sessions (tenant, principal);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
ALTER TABLE review_proposals ADD COLUMN route TEXT;
"""

# Version 5 (both backends): detection overrides per route or tenant (phased rollout).
_V5_OVERRIDES = """
CREATE TABLE policy_overrides (
    tenant      TEXT NOT NULL,
    scope       TEXT NOT NULL,
    override_id TEXT NOT NULL,
    doc         TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  {real} NOT NULL,
    kid         TEXT NOT NULL,
    mac         {blob} NOT NULL,
    PRIMARY KEY (tenant, scope)
);
"""

# Version 2 (both backends): each value knows the subject it was written for (erasure
# finds it in any record, ``~answers`` siblings included), and which associated-data
# layout sealed it. Existing rows keep aad_version 1 and open as before.
_V2_ENTRY_SUBJECTS = """
ALTER TABLE entries ADD COLUMN subject_id TEXT;
ALTER TABLE entries ADD COLUMN aad_version INTEGER NOT NULL DEFAULT 1;
CREATE INDEX entries_by_subject ON entries (tenant, subject_id);
"""

SQLITE: list[tuple[int, str]] = [
    (1, """
CREATE TABLE records (
    tenant       TEXT    NOT NULL,
    record_id    TEXT    NOT NULL,
    subject_id   TEXT,
    channel      TEXT,
    created_at   REAL    NOT NULL,
    dek_id       TEXT,
    kek_id       TEXT,
    wrapped_dek  BLOB,
    no_retention INTEGER NOT NULL DEFAULT 0,
    legal_hold   INTEGER NOT NULL DEFAULT 0,
    shredded_at  REAL,
    PRIMARY KEY (tenant, record_id)
) WITHOUT ROWID;
CREATE INDEX records_by_kek ON records (kek_id);
CREATE INDEX records_by_subject ON records (tenant, subject_id);
CREATE TABLE entries (
    tenant       TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    token        TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    fingerprint  BLOB NOT NULL,
    sealed       BLOB NOT NULL,
    created_at   REAL NOT NULL,
    expires_at   REAL,
    sent_by      TEXT,
    UNIQUE (tenant, record_id, token),
    UNIQUE (tenant, record_id, fingerprint),
    FOREIGN KEY (tenant, record_id) REFERENCES records (tenant, record_id) ON DELETE CASCADE
);
CREATE INDEX entries_by_expiry ON entries (expires_at);
CREATE TABLE tombstones (
    tenant       TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    token        TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    reason       TEXT NOT NULL,
    removed_at   REAL NOT NULL,
    PRIMARY KEY (tenant, record_id, token)
) WITHOUT ROWID;
CREATE TABLE optouts (
    tenant           TEXT    NOT NULL,
    subject_id       TEXT    NOT NULL,
    no_ai_processing INTEGER NOT NULL,
    no_retention     INTEGER NOT NULL,
    reason           TEXT,
    set_by           TEXT    NOT NULL,
    set_at           REAL    NOT NULL,
    PRIMARY KEY (tenant, subject_id)
) WITHOUT ROWID;
CREATE TABLE audit_events (
    seq        INTEGER PRIMARY KEY,
    ts         REAL NOT NULL,
    tenant     TEXT,
    principal  TEXT,
    action     TEXT NOT NULL,
    record_id  TEXT,
    payload    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_by_ts ON audit_events (ts);
CREATE INDEX audit_by_record ON audit_events (tenant, record_id);
CREATE TABLE quotas (
    tenant       TEXT    NOT NULL,
    principal    TEXT    NOT NULL,
    window_start REAL    NOT NULL,
    used         INTEGER NOT NULL,
    PRIMARY KEY (tenant, principal, window_start)
) WITHOUT ROWID;
CREATE TABLE locks (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  REAL NOT NULL
) WITHOUT ROWID;
"""),
    (2, _V2_ENTRY_SUBJECTS),
    (3, """
CREATE TABLE review_items (
    tenant       TEXT NOT NULL,
    item_id      TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    route        TEXT NOT NULL,
    tier         TEXT NOT NULL,
    reasons      TEXT NOT NULL,
    entity_types TEXT NOT NULL,
    created_at   REAL NOT NULL,
    expires_at   REAL,
    dek_id       TEXT NOT NULL,
    sealed       BLOB NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open',
    PRIMARY KEY (tenant, item_id)
) WITHOUT ROWID;
CREATE INDEX review_items_by_record ON review_items (tenant, record_id);
CREATE INDEX review_items_by_created ON review_items (tenant, created_at);
CREATE INDEX review_items_by_expiry ON review_items (expires_at);
CREATE TABLE review_verdicts (
    tenant       TEXT NOT NULL,
    verdict_id   TEXT NOT NULL,
    item_id      TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    route        TEXT NOT NULL,
    reviewer     TEXT NOT NULL,
    verdict      TEXT NOT NULL,
    entity_type  TEXT,
    token        TEXT,
    recognizer   TEXT,
    created_at   REAL NOT NULL,
    review_s     REAL NOT NULL,
    dek_id       TEXT,
    sealed_case  BLOB,
    PRIMARY KEY (tenant, verdict_id)
) WITHOUT ROWID;
CREATE INDEX review_verdicts_by_item ON review_verdicts (tenant, item_id);
CREATE TABLE review_proposals (
    tenant       TEXT NOT NULL,
    proposal_id  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    dek_id       TEXT NOT NULL,
    sealed       BLOB NOT NULL,
    status       TEXT NOT NULL,
    proposed_by  TEXT NOT NULL,
    created_at   REAL NOT NULL,
    decided_by   TEXT,
    decided_at   REAL,
    PRIMARY KEY (tenant, proposal_id)
) WITHOUT ROWID;
CREATE INDEX review_proposals_by_record ON review_proposals (tenant, record_id);
"""),
    (4, _V4_SESSIONS.format(real="REAL", blob="BLOB")),
    (5, _V5_OVERRIDES.format(real="REAL", blob="BLOB")),
]

POSTGRES: list[tuple[int, str]] = [
    (1, """
CREATE TABLE records (
    tenant       TEXT             NOT NULL,
    record_id    TEXT             NOT NULL,
    subject_id   TEXT,
    channel      TEXT,
    created_at   DOUBLE PRECISION NOT NULL,
    dek_id       TEXT,
    kek_id       TEXT,
    wrapped_dek  BYTEA,
    no_retention BOOLEAN          NOT NULL DEFAULT FALSE,
    legal_hold   BOOLEAN          NOT NULL DEFAULT FALSE,
    shredded_at  DOUBLE PRECISION,
    PRIMARY KEY (tenant, record_id)
);
CREATE INDEX records_by_kek ON records (kek_id);
CREATE INDEX records_by_subject ON records (tenant, subject_id);
CREATE TABLE entries (
    tenant       TEXT             NOT NULL,
    record_id    TEXT             NOT NULL,
    token        TEXT             NOT NULL,
    entity_type  TEXT             NOT NULL,
    fingerprint  BYTEA            NOT NULL,
    sealed       BYTEA            NOT NULL,
    created_at   DOUBLE PRECISION NOT NULL,
    expires_at   DOUBLE PRECISION,
    sent_by      TEXT,
    PRIMARY KEY (tenant, record_id, token),
    UNIQUE (tenant, record_id, fingerprint),
    FOREIGN KEY (tenant, record_id) REFERENCES records (tenant, record_id) ON DELETE CASCADE
);
CREATE INDEX entries_by_expiry ON entries (expires_at);
CREATE TABLE tombstones (
    tenant       TEXT             NOT NULL,
    record_id    TEXT             NOT NULL,
    token        TEXT             NOT NULL,
    entity_type  TEXT             NOT NULL,
    reason       TEXT             NOT NULL,
    removed_at   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tenant, record_id, token)
);
CREATE TABLE optouts (
    tenant           TEXT             NOT NULL,
    subject_id       TEXT             NOT NULL,
    no_ai_processing BOOLEAN          NOT NULL,
    no_retention     BOOLEAN          NOT NULL,
    reason           TEXT,
    set_by           TEXT             NOT NULL,
    set_at           DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tenant, subject_id)
);
CREATE TABLE audit_events (
    seq        BIGINT PRIMARY KEY,
    ts         DOUBLE PRECISION NOT NULL,
    tenant     TEXT,
    principal  TEXT,
    action     TEXT NOT NULL,
    record_id  TEXT,
    payload    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_by_ts ON audit_events (ts);
CREATE INDEX audit_by_record ON audit_events (tenant, record_id);
-- the chain head: appenders lock this one row (SELECT ... FOR UPDATE), so replicas
-- append one at a time without advisory locks; seeded with the genesis hash
CREATE TABLE audit_head (
    id    SMALLINT PRIMARY KEY CHECK (id = 1),
    seq   BIGINT   NOT NULL,
    hash  TEXT     NOT NULL
);
INSERT INTO audit_head VALUES (1, 0, repeat('0', 64));
CREATE TABLE quotas (
    tenant       TEXT             NOT NULL,
    principal    TEXT             NOT NULL,
    window_start DOUBLE PRECISION NOT NULL,
    used         BIGINT           NOT NULL,
    PRIMARY KEY (tenant, principal, window_start)
);
CREATE TABLE locks (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  DOUBLE PRECISION NOT NULL
);
"""),
    (2, _V2_ENTRY_SUBJECTS),
    (3, """
CREATE TABLE review_items (
    tenant       TEXT NOT NULL,
    item_id      TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    route        TEXT NOT NULL,
    tier         TEXT NOT NULL,
    reasons      TEXT NOT NULL,
    entity_types TEXT NOT NULL,
    created_at   DOUBLE PRECISION NOT NULL,
    expires_at   DOUBLE PRECISION,
    dek_id       TEXT NOT NULL,
    sealed       BYTEA NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open',
    PRIMARY KEY (tenant, item_id)
);
CREATE INDEX review_items_by_record ON review_items (tenant, record_id);
CREATE INDEX review_items_by_created ON review_items (tenant, created_at);
CREATE INDEX review_items_by_expiry ON review_items (expires_at);
CREATE TABLE review_verdicts (
    tenant       TEXT NOT NULL,
    verdict_id   TEXT NOT NULL,
    item_id      TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    route        TEXT NOT NULL,
    reviewer     TEXT NOT NULL,
    verdict      TEXT NOT NULL,
    entity_type  TEXT,
    token        TEXT,
    recognizer   TEXT,
    created_at   DOUBLE PRECISION NOT NULL,
    review_s     DOUBLE PRECISION NOT NULL,
    dek_id       TEXT,
    sealed_case  BYTEA,
    PRIMARY KEY (tenant, verdict_id)
);
CREATE INDEX review_verdicts_by_item ON review_verdicts (tenant, item_id);
CREATE TABLE review_proposals (
    tenant       TEXT NOT NULL,
    proposal_id  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    dek_id       TEXT NOT NULL,
    sealed       BYTEA NOT NULL,
    status       TEXT NOT NULL,
    proposed_by  TEXT NOT NULL,
    created_at   DOUBLE PRECISION NOT NULL,
    decided_by   TEXT,
    decided_at   DOUBLE PRECISION,
    PRIMARY KEY (tenant, proposal_id)
);
CREATE INDEX review_proposals_by_record ON review_proposals (tenant, record_id);
"""),
    (4, _V4_SESSIONS.format(real="DOUBLE PRECISION", blob="BYTEA")),
    (5, _V5_OVERRIDES.format(real="DOUBLE PRECISION", blob="BYTEA")),
]


def pending(applied: Iterable[int], *, postgres: bool) -> list[int]:
    """Versions this gateway knows that ``applied`` lacks, ascending (``[]``: current).

    The one answer to "is the schema current?", for ``/readyz`` and ``doctor``.
    """
    return sorted(known_versions(postgres=postgres) - set(applied))


def known_versions(*, postgres: bool) -> set[int]:
    """Every migration version this gateway knows for the backend."""
    return {version for version, _ in (POSTGRES if postgres else SQLITE)}
