-- Platform core: departments, users, tokens, login guard, audit chain.
-- Times are Unix microseconds (BIGINT) in both dialects, so they round-trip exactly.
CREATE TABLE departments (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    short_name    TEXT    NOT NULL DEFAULT '',
    credit_code   TEXT    NOT NULL UNIQUE,
    division_code TEXT    NOT NULL,
    level         TEXT    NOT NULL CHECK (level IN ('city', 'district')),
    parent_id     INTEGER REFERENCES departments (id),
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX departments_parent ON departments (parent_id);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL DEFAULT '',
    email         TEXT    NOT NULL DEFAULT '',
    phone         TEXT    NOT NULL DEFAULT '',
    department_id INTEGER REFERENCES departments (id),
    roles         TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    last_login_at BIGINT
);
CREATE INDEX users_department ON users (department_id);

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL,
    name         TEXT    NOT NULL DEFAULT '',
    scopes       TEXT    NOT NULL,
    hint         TEXT    NOT NULL,
    csrf         TEXT    NOT NULL DEFAULT '',
    hash         TEXT    NOT NULL UNIQUE,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX tokens_user ON tokens (user_id, kind);

CREATE TABLE login_failures (
    key TEXT   NOT NULL,
    at  BIGINT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);

CREATE TABLE lockouts (
    key      TEXT PRIMARY KEY,
    until_at BIGINT NOT NULL
);

CREATE TABLE audit_records (
    seq         INTEGER PRIMARY KEY,
    at          BIGINT  NOT NULL,
    actor_id    BIGINT  NOT NULL DEFAULT 0,
    actor       TEXT    NOT NULL,
    client_addr TEXT    NOT NULL DEFAULT '',
    action      TEXT    NOT NULL,
    object      TEXT    NOT NULL DEFAULT '',
    request_id  TEXT    NOT NULL DEFAULT '',
    outcome     TEXT    NOT NULL,
    details     TEXT    NOT NULL DEFAULT '',
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL
);
CREATE INDEX audit_actor ON audit_records (actor, seq);
CREATE INDEX audit_action ON audit_records (action, seq);
CREATE INDEX audit_object ON audit_records (object, seq);
CREATE INDEX audit_at ON audit_records (at);

CREATE TABLE audit_head (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    seq        BIGINT  NOT NULL,
    hash       TEXT    NOT NULL,
    signed_at  BIGINT  NOT NULL,
    signature  BLOB    NOT NULL,
    public_key BLOB    NOT NULL
);
