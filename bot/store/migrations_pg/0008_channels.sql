-- PostgreSQL's form of bot/store/migrations/0008_channels.sql: the same schema, PostgreSQL's types.
-- Numbered choices for channels without (enough) buttons, and inbound de-duplication.
ALTER TABLE sessions ADD COLUMN choices TEXT NOT NULL DEFAULT '[]';  -- [[label, action], ...]

-- Platform message ids already handled (Zalo delivers at least once and retries for hours).
CREATE TABLE inbound_seen (
    channel     TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    seen_at     TEXT NOT NULL,
    PRIMARY KEY (channel, message_id)
);
