-- Open access: the API keys of public accounts and the daily use of open
-- datasets. Times are Unix microseconds; days are CCYY-MM-DD text in the
-- platform's time zone, so they sort and compare as dates.
CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    hash         TEXT    NOT NULL UNIQUE,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT,
    calls        BIGINT  NOT NULL DEFAULT 0,
    revoked_at   BIGINT
);
-- A user's keys, newest first; counting the active ones.
CREATE INDEX api_keys_user ON api_keys (user_id, id);

-- One row per dataset and day with use; the primary key serves one
-- dataset's days, the day index serves city-wide days and rankings.
CREATE TABLE usage_daily (
    entry_id  INTEGER NOT NULL REFERENCES catalog_entries (id) ON DELETE CASCADE,
    day       TEXT    NOT NULL CHECK (length(day) = 10),
    views     BIGINT  NOT NULL DEFAULT 0,
    downloads BIGINT  NOT NULL DEFAULT 0,
    api_calls BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (entry_id, day)
) WITHOUT ROWID;
CREATE INDEX usage_daily_day ON usage_daily (day, entry_id);
