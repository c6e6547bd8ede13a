-- IoT devices. A device's access token is kept only as its SHA-256 hash;
-- last_seen is the arrival of its newest accepted reading (µs).
CREATE TABLE devices (
    id            INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: readings refer to it
    name          TEXT    NOT NULL UNIQUE,
    type          TEXT    NOT NULL,
    department_id BIGINT  NOT NULL REFERENCES departments (id),
    division_code TEXT    NOT NULL DEFAULT '',
    lon           DOUBLE PRECISION NOT NULL,
    lat           DOUBLE PRECISION NOT NULL,
    gateway       BOOLEAN NOT NULL DEFAULT FALSE,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    entity_id     TEXT    NOT NULL UNIQUE,
    attributes    TEXT    NOT NULL DEFAULT '{}', -- JSON object
    token_hash    TEXT    NOT NULL UNIQUE,
    created_at    BIGINT  NOT NULL,
    last_seen     BIGINT
);
CREATE INDEX devices_type ON devices (type);
CREATE INDEX devices_department ON devices (department_id);
CREATE INDEX devices_division ON devices (division_code);
