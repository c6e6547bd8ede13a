-- Scheduled pulls: a department's CSV or JSON published at a URL, fetched
-- on the entry's update cycle and loaded like an upload.
CREATE TABLE data_pulls (
    entry_id   BIGINT  PRIMARY KEY REFERENCES catalog_entries (id) ON DELETE CASCADE,
    url        TEXT    NOT NULL,
    format     TEXT    NOT NULL DEFAULT '',
    mode       TEXT    NOT NULL,
    enabled    BOOLEAN NOT NULL DEFAULT TRUE,
    last_run   BIGINT,
    last_job   BIGINT,
    last_error TEXT    NOT NULL DEFAULT ''
);
