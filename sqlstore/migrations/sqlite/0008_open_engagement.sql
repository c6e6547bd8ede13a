-- Public engagement on the open-data portal: applications for 有条件开放
-- data, dataset requests (数据需求), ratings, comments and the showcase
-- (成果展示). Times are Unix microseconds. Ids are never reused: audit
-- records name them.

-- Applications. One pending application per user and entry; approved ones
-- grant the applicant's API keys read access until expires_at (NULL: until
-- revoked).
CREATE TABLE open_applications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id     INTEGER NOT NULL REFERENCES catalog_entries (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose      TEXT    NOT NULL,
    intended_use TEXT    NOT NULL DEFAULT '',
    organization TEXT    NOT NULL DEFAULT '',
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'refused', 'revoked')),
    reason       TEXT    NOT NULL DEFAULT '',
    decided_by   TEXT    NOT NULL DEFAULT '',
    decided_at   BIGINT,
    expires_at   BIGINT,
    created_at   BIGINT  NOT NULL
);
CREATE UNIQUE INDEX open_applications_one_pending ON open_applications (user_id, entry_id) WHERE status = 'pending';
CREATE INDEX open_applications_grant ON open_applications (user_id, entry_id, status);
CREATE INDEX open_applications_entry ON open_applications (entry_id, status);

-- Dataset requests (数据需求), public with their answers.
CREATE TABLE open_requests (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT    NOT NULL,
    description TEXT    NOT NULL,
    provider_id INTEGER REFERENCES departments (id) ON DELETE SET NULL,
    domain      TEXT    REFERENCES domains (code),
    status      TEXT    NOT NULL CHECK (status IN ('open', 'answered', 'planned', 'fulfilled', 'declined')),
    reply       TEXT    NOT NULL DEFAULT '',
    entry_id    INTEGER REFERENCES catalog_entries (id) ON DELETE SET NULL,
    answered_by TEXT    NOT NULL DEFAULT '',
    answered_at BIGINT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
CREATE INDEX open_requests_status ON open_requests (status, id);
CREATE INDEX open_requests_provider ON open_requests (provider_id, id);
CREATE INDEX open_requests_user ON open_requests (user_id, id);

-- Ratings: one per user and entry, replaced when the user rates again.
CREATE TABLE open_ratings (
    entry_id   INTEGER NOT NULL REFERENCES catalog_entries (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    stars      INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (entry_id, user_id)
);

-- Comments and the providers' replies (parent_id). Hidden ones stay for
-- the record but leave public listings.
CREATE TABLE open_comments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id      INTEGER NOT NULL REFERENCES catalog_entries (id) ON DELETE CASCADE,
    parent_id     INTEGER REFERENCES open_comments (id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body          TEXT    NOT NULL,
    official      BOOLEAN NOT NULL DEFAULT FALSE,
    hidden        BOOLEAN NOT NULL DEFAULT FALSE,
    hidden_reason TEXT    NOT NULL DEFAULT '',
    hidden_by     TEXT    NOT NULL DEFAULT '',
    hidden_at     BIGINT,
    created_at    BIGINT  NOT NULL
);
CREATE INDEX open_comments_entry ON open_comments (entry_id, parent_id, id);
CREATE INDEX open_comments_parent ON open_comments (parent_id, id);

-- The showcase (成果展示) and the datasets each item uses.
CREATE TABLE open_showcase (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    title        TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    url          TEXT    NOT NULL,
    submitter_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    submitter    TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    reason       TEXT    NOT NULL DEFAULT '',
    decided_by   TEXT    NOT NULL DEFAULT '',
    decided_at   BIGINT,
    created_at   BIGINT  NOT NULL
);
CREATE INDEX open_showcase_status ON open_showcase (status, id);
CREATE INDEX open_showcase_submitter ON open_showcase (submitter_id, id);

CREATE TABLE open_showcase_datasets (
    item_id  INTEGER NOT NULL REFERENCES open_showcase (id) ON DELETE CASCADE,
    entry_id INTEGER NOT NULL REFERENCES catalog_entries (id) ON DELETE CASCADE,
    PRIMARY KEY (item_id, entry_id)
);
CREATE INDEX open_showcase_datasets_entry ON open_showcase_datasets (entry_id);
