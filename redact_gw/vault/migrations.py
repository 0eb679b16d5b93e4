"""Versioned schema migrations, one list per backend, applied in order.

Each migration runs in its own transaction together with the row that records it
in ``schema_migrations``, so a crash leaves the schema at a whole version.
"""

from __future__ import annotations

SQLITE: list[tuple[int, str]] = [
    (1, """
CREATE TABLE records (
    tenant       TEXT    NOT NULL,
    record_id    TEXT    NOT NULL,
    subject_id   TEXT,
    created_at   REAL    NOT NULL,
    dek_id       TEXT    NOT NULL,
    kek_id       TEXT    NOT NULL,
    wrapped_dek  BLOB    NOT NULL,
    no_retention INTEGER NOT NULL DEFAULT 0,
    legal_hold   INTEGER NOT NULL DEFAULT 0,
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
    PRIMARY KEY (tenant, record_id, token),
    UNIQUE (tenant, record_id, fingerprint),
    FOREIGN KEY (tenant, record_id) REFERENCES records (tenant, record_id) ON DELETE CASCADE
);
CREATE INDEX entries_by_expiry ON entries (expires_at);
"""),
]

POSTGRES: list[tuple[int, str]] = [
    (1, """
CREATE TABLE records (
    tenant       TEXT             NOT NULL,
    record_id    TEXT             NOT NULL,
    subject_id   TEXT,
    created_at   DOUBLE PRECISION NOT NULL,
    dek_id       TEXT             NOT NULL,
    kek_id       TEXT             NOT NULL,
    wrapped_dek  BYTEA            NOT NULL,
    no_retention BOOLEAN          NOT NULL DEFAULT FALSE,
    legal_hold   BOOLEAN          NOT NULL DEFAULT FALSE,
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
    PRIMARY KEY (tenant, record_id, token),
    UNIQUE (tenant, record_id, fingerprint),
    FOREIGN KEY (tenant, record_id) REFERENCES records (tenant, record_id) ON DELETE CASCADE
);
CREATE INDEX entries_by_expiry ON entries (expires_at);
"""),
]
