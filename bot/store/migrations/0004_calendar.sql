-- Events created by staff, reminder firings (one row per reminder and occurrence), RSVPs.

CREATE TABLE custom_events (
    id            TEXT PRIMARY KEY,              -- "e<number>"
    body          TEXT NOT NULL,                 -- the event, in the content format, JSON
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    cancelled_at  TEXT
);

-- Every reminder due for an occurrence; APScheduler only holds timers derived from these rows.
-- A row moves from pending to fired (or missed) exactly once, so a reminder is sent at most once
-- per occurrence whatever restarts happen.
CREATE TABLE reminder_firings (
    id             INTEGER PRIMARY KEY,
    kind           TEXT    NOT NULL CHECK (kind IN ('event', 'tip')),
    key            TEXT    NOT NULL,             -- event id, or "weekly"
    occurrence     TEXT    NOT NULL,             -- the occurrence's local start date
    slot           INTEGER NOT NULL,             -- which of the event's reminders
    fire_at        TEXT    NOT NULL,             -- UTC
    grace_s        REAL    NOT NULL,
    status         TEXT    NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'fired', 'missed', 'cancelled')),
    fired_at       TEXT,
    announcements  TEXT,                         -- ids of the announcements it became, JSON
    UNIQUE (kind, key, occurrence, slot)
);
CREATE INDEX firings_due ON reminder_firings (status, fire_at);

CREATE TABLE rsvps (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event_id    TEXT    NOT NULL,
    occurrence  TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (user_id, event_id, occurrence)
);
