-- The rows behind catalog entries. Each entry with data has its own table
-- (made by the store, named in data_tables) whose rows carry the versions
-- they are valid in: _v_from <= v AND (_v_to IS NULL OR _v_to > v). A load
-- writes its rows in short batches under a pending version and becomes
-- visible at once when FinishLoad moves the current version.
CREATE TABLE data_tables (
    entry_id   BIGINT  PRIMARY KEY REFERENCES catalog_entries (id) ON DELETE CASCADE,
    table_name TEXT    NOT NULL UNIQUE,
    version    INTEGER NOT NULL DEFAULT 0, -- current, committed
    pending    INTEGER NOT NULL DEFAULT 0, -- the version a running load writes, 0 when none
    row_count  BIGINT  NOT NULL DEFAULT 0, -- rows at the current version
    next_col   INTEGER NOT NULL DEFAULT 1,
    -- indexes dropped for a first load, rebuilt when it ends
    -- (building an index once is far faster than growing it row by row).
    deferred_indexes TEXT NOT NULL DEFAULT ''
);

CREATE TABLE data_columns (
    entry_id BIGINT  NOT NULL REFERENCES data_tables (entry_id) ON DELETE CASCADE,
    item     TEXT    NOT NULL,
    code     TEXT    NOT NULL DEFAULT '',
    type     TEXT    NOT NULL,
    col      TEXT    NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (entry_id, item)
);

CREATE TABLE data_versions (
    entry_id   BIGINT  NOT NULL REFERENCES data_tables (entry_id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    job_id     BIGINT  NOT NULL DEFAULT 0,
    mode       TEXT    NOT NULL,
    row_count  BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL,
    note       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (entry_id, version)
);

CREATE TABLE load_jobs (
    id              INTEGER PRIMARY KEY,
    entry_id        BIGINT  NOT NULL REFERENCES catalog_entries (id) ON DELETE CASCADE,
    mode            TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    format          TEXT    NOT NULL,
    block_on_errors INTEGER NOT NULL DEFAULT 0,
    status          TEXT    NOT NULL,
    version         INTEGER NOT NULL DEFAULT 0,
    received        BIGINT  NOT NULL DEFAULT 0,
    stored          BIGINT  NOT NULL DEFAULT 0,
    rejected        BIGINT  NOT NULL DEFAULT 0,
    discarded       BIGINT  NOT NULL DEFAULT 0,
    bytes_read      BIGINT  NOT NULL DEFAULT 0,
    bytes_total     BIGINT  NOT NULL DEFAULT 0,
    error           TEXT    NOT NULL DEFAULT '',
    actor           TEXT    NOT NULL,
    started_at      BIGINT  NOT NULL,
    finished_at     BIGINT
);
CREATE INDEX load_jobs_entry ON load_jobs (entry_id, id);

CREATE TABLE load_rejects (
    job_id BIGINT  NOT NULL REFERENCES load_jobs (id) ON DELETE CASCADE,
    line   INTEGER NOT NULL,
    col    TEXT    NOT NULL DEFAULT '',
    value  TEXT    NOT NULL DEFAULT '',
    reason TEXT    NOT NULL
);
CREATE INDEX load_rejects_job ON load_rejects (job_id, line);
