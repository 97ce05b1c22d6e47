-- Staff roles, their audit trail, announcements and the durable delivery outbox.

CREATE TABLE staff (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    role        TEXT    NOT NULL CHECK (role IN ('admin', 'editor')),
    granted_by  TEXT    NOT NULL,                -- "telegram:12345" of the granting admin
    granted_at  TEXT    NOT NULL
);

-- Who did what, when: every staff action, kept when the actor's profile is deleted.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,                       -- "channel:external_id"
    action  TEXT NOT NULL,                       -- grant, revoke, announce, schedule, cancel, refused ...
    detail  TEXT NOT NULL DEFAULT '{}'           -- JSON
);

-- Topics members follow (events, ...): announcements can go to a topic's followers.
CREATE TABLE subscriptions (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    topic       TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (user_id, topic)
);
CREATE INDEX subscriptions_topic ON subscriptions (topic);

CREATE TABLE announcements (
    id             INTEGER PRIMARY KEY,
    created_by     TEXT    NOT NULL,             -- "channel:external_id", or "cli"
    created_at     TEXT    NOT NULL,
    text           TEXT    NOT NULL,             -- Telegram HTML
    photo          TEXT,                         -- a file path (CLI) or a Telegram file_id
    photo_file_id  TEXT,                         -- once uploaded, reused for every recipient
    audience       TEXT    NOT NULL DEFAULT '{}',  -- JSON filters, see bot/outreach/audience.py
    status         TEXT    NOT NULL DEFAULT 'draft'
                   CHECK (status IN ('draft', 'scheduled', 'sending', 'done', 'cancelled')),
    scheduled_at   TEXT,                         -- NULL: as soon as possible
    expires_at     TEXT,                         -- past it, pending deliveries are skipped
    paid           INTEGER NOT NULL DEFAULT 0,   -- Telegram paid broadcast
    total          INTEGER NOT NULL DEFAULT 0,   -- recipients when it started sending
    started_at     TEXT,
    finished_at    TEXT,
    report_chat    TEXT,                         -- where the live progress and report go
    report_channel TEXT,
    report_message TEXT,
    report_locale  TEXT
);
CREATE INDEX announcements_due ON announcements (status, scheduled_at);

CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY,
    announcement_id  INTEGER NOT NULL REFERENCES announcements (id) ON DELETE CASCADE,
    user_id          INTEGER REFERENCES users (id) ON DELETE CASCADE,  -- NULL: ANNOUNCE_CHAT_ID
    channel          TEXT    NOT NULL,
    chat_id          TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'blocked', 'skipped')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    last_error       TEXT,
    message_id       TEXT,
    updated_at       TEXT,
    UNIQUE (announcement_id, user_id)
);
CREATE INDEX deliveries_work ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_by_announcement ON deliveries (announcement_id, status);
