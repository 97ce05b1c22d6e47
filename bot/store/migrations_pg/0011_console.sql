-- PostgreSQL's form of bot/store/migrations/0011_console.sql: the same schema, PostgreSQL's types.
-- The staff console on the web: one-time login links sent in the chat, and the sessions they
-- open. Only hashes of the secrets are stored: a copy of the database opens no console.
CREATE TABLE console_logins (
    token_hash  TEXT PRIMARY KEY,                -- sha256 of the link's token
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    used_at     TEXT                             -- set once: a link works one time
);

CREATE TABLE console_sessions (
    id_hash     TEXT PRIMARY KEY,                -- sha256 of the cookie's value
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf        TEXT    NOT NULL,                -- every form of this session carries it
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);
