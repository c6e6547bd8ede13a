-- Government information resource catalog (政务信息资源目录).
CREATE TABLE classifications (
    code     TEXT    PRIMARY KEY,
    name     TEXT    NOT NULL,
    parent   TEXT    REFERENCES classifications (code),
    next_seq INTEGER NOT NULL DEFAULT 1 -- the next 顺序码 under this node
);

CREATE TABLE domains (
    code       TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    en         TEXT    NOT NULL DEFAULT '',
    key_domain INTEGER NOT NULL DEFAULT 0,
    position   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE catalog_entries (
    id                  INTEGER PRIMARY KEY,
    code                TEXT    NOT NULL UNIQUE,
    classification_code TEXT    NOT NULL REFERENCES classifications (code),
    name                TEXT    NOT NULL,
    provider_id         INTEGER NOT NULL REFERENCES departments (id),
    provider_code       TEXT    NOT NULL,
    abstract            TEXT    NOT NULL,
    format              TEXT    NOT NULL,
    items               TEXT    NOT NULL, -- JSON array of data items
    share_type          TEXT    NOT NULL,
    share_condition     TEXT    NOT NULL DEFAULT '',
    share_method        TEXT    NOT NULL DEFAULT '',
    share_basis         TEXT    NOT NULL DEFAULT '',
    open_type           TEXT    NOT NULL,
    open_condition      TEXT    NOT NULL DEFAULT '',
    open_basis          TEXT    NOT NULL DEFAULT '',
    update_cycle        TEXT    NOT NULL,
    publish_date        TEXT    NOT NULL DEFAULT '',
    related_codes       TEXT    NOT NULL DEFAULT '[]',
    tags                TEXT    NOT NULL DEFAULT '[]',
    domain              TEXT    REFERENCES domains (code),
    status              TEXT    NOT NULL,
    status_reason       TEXT    NOT NULL DEFAULT '',
    version             INTEGER NOT NULL,
    ever_published      INTEGER NOT NULL DEFAULT 0,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL,
    data_updated_at     BIGINT
);
CREATE INDEX catalog_entries_status ON catalog_entries (status, updated_at);
CREATE INDEX catalog_entries_provider ON catalog_entries (provider_id, status);
CREATE INDEX catalog_entries_class ON catalog_entries (classification_code);
CREATE INDEX catalog_entries_domain ON catalog_entries (domain);
CREATE INDEX catalog_entries_updated ON catalog_entries (updated_at);

CREATE TABLE catalog_tags (
    entry_id INTEGER NOT NULL REFERENCES catalog_entries (id) ON DELETE CASCADE,
    tag      TEXT    NOT NULL,
    PRIMARY KEY (entry_id, tag)
);
CREATE INDEX catalog_tags_tag ON catalog_tags (tag);

CREATE TABLE catalog_versions (
    entry_id INTEGER NOT NULL REFERENCES catalog_entries (id) ON DELETE CASCADE,
    version  INTEGER NOT NULL,
    action   TEXT    NOT NULL,
    actor    TEXT    NOT NULL,
    at       BIGINT  NOT NULL,
    note     TEXT    NOT NULL DEFAULT '',
    snapshot TEXT    NOT NULL, -- the entry as JSON
    PRIMARY KEY (entry_id, version)
);

CREATE TABLE catalog_change_requests (
    id               INTEGER PRIMARY KEY,
    entry_id         INTEGER NOT NULL REFERENCES catalog_entries (id) ON DELETE CASCADE,
    requester        TEXT    NOT NULL,
    reason           TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    resolved_at      BIGINT,
    resolved_version INTEGER
);
CREATE INDEX catalog_change_requests_entry ON catalog_change_requests (entry_id);
CREATE INDEX catalog_change_requests_open ON catalog_change_requests (resolved_at, created_at);

-- Full-text index. Text is pre-split in Go into words and CJK bigrams
-- (cityhub.SearchIndexText), so the unicode61 tokenizer only splits on
-- spaces and phrase queries match Chinese substrings of any length.
CREATE VIRTUAL TABLE catalog_search USING fts5 (name, body, items, tags, tokenize = 'unicode61 remove_diacritics 0');

-- Change stamps for search indexes kept outside the database (one per
-- node): every catalog write takes the next stamp and marks the entries it
-- touched with it; deletions are remembered with theirs. An index catches up
-- by reading what changed after the stamp it has.
ALTER TABLE catalog_entries ADD COLUMN stamp BIGINT NOT NULL DEFAULT 0;
CREATE INDEX catalog_entries_stamp ON catalog_entries (stamp);
CREATE TABLE catalog_state (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    stamp BIGINT  NOT NULL
);
INSERT INTO catalog_state (id, stamp) VALUES (1, 0);
CREATE TABLE catalog_deletions (
    stamp    BIGINT NOT NULL,
    entry_id BIGINT NOT NULL
);
CREATE INDEX catalog_deletions_stamp ON catalog_deletions (stamp);
