-- Members and their conversation state. Timestamps are UTC, ISO 8601 ("2026-10-01T00:30:00").
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    channel       TEXT    NOT NULL,                -- telegram | console | zalo
    external_id   TEXT    NOT NULL,                -- the member's id on that channel
    chat_id       TEXT    NOT NULL,                -- where to reach them
    display_name  TEXT    NOT NULL DEFAULT '',
    locale        TEXT    NOT NULL DEFAULT 'vi',
    role          TEXT,                            -- content role id, NULL = not told
    area_code     TEXT,                            -- official ward/commune code, NULL = not told
    status        TEXT    NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'stopped', 'blocked')),
    consent_at    TEXT,                            -- NULL until the privacy notice is accepted
    created_at    TEXT    NOT NULL,
    last_seen_at  TEXT    NOT NULL,
    UNIQUE (channel, external_id)
);
CREATE INDEX users_area ON users (area_code);
CREATE INDEX users_role ON users (role);

CREATE TABLE sessions (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    state       TEXT    NOT NULL DEFAULT '',       -- what free text means now, '' = nothing
    data        TEXT    NOT NULL DEFAULT '{}',     -- JSON
    updated_at  TEXT    NOT NULL
);
