-- PostgreSQL's form of bot/store/migrations/0013_linked_accounts.sql: the same schema, PostgreSQL's types.
-- One person, several channel accounts (Telegram, Zalo OA, Zalo Bot...).
--
-- A `users` row is the PERSON: profile, consent, assessments, history hang off it, and it holds
-- the account the person last wrote from (channel, external_id, chat_id), so "where to reach
-- them" is by default the channel they last used and every figure counts people. Their other
-- accounts are kept here; when they write from one, it changes places with the one in `users`.
-- Linking an account moves everything of the person it belonged to into the linking person and
-- deletes that row: a person never has two rows.
CREATE TABLE linked_accounts (
    channel       TEXT    NOT NULL,
    external_id   TEXT    NOT NULL,
    chat_id       TEXT    NOT NULL,
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status        TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked')),
    linked_at     TEXT    NOT NULL,
    last_seen_at  TEXT    NOT NULL,
    PRIMARY KEY (channel, external_id),
    UNIQUE (user_id, channel)                     -- one account per channel and person
);

-- The channel announcements go to; NULL: the one last used (the account in `users`).
ALTER TABLE users ADD COLUMN preferred_channel TEXT;

-- One-time codes: issued to a person, redeemed once from another account within minutes.
CREATE TABLE link_codes (
    code        TEXT    PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    used_at     TEXT
);
CREATE INDEX link_codes_user ON link_codes (user_id, created_at);
