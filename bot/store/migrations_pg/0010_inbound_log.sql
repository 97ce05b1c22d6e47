-- PostgreSQL's form of bot/store/migrations/0010_inbound_log.sql: the same schema, PostgreSQL's types.
-- Updates taken from a platform but not yet handled (bot.store.inbound): kept so that a crash
-- loses none once the platform has been told to forget them (Telegram's getUpdates offset).
CREATE TABLE inbound_log (
    channel   TEXT    NOT NULL,
    update_id BIGINT  NOT NULL,
    body      TEXT    NOT NULL,   -- the update as the platform sent it (JSON)
    taken_at  TEXT    NOT NULL,
    PRIMARY KEY (channel, update_id)
);
