-- Questions members send to the association's staff, and FAQ entries drafted from them.
CREATE TABLE tickets (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    question     TEXT    NOT NULL,
    area_code    TEXT,                           -- the member's area and role when asked
    role         TEXT,
    status       TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered', 'closed')),
    assigned_to  TEXT,                           -- "channel:id" of a staff member
    answer       TEXT,
    answered_by  TEXT,
    created_at   TEXT    NOT NULL,
    answered_at  TEXT,
    notified_at  TEXT                            -- when staff were told about it
);
CREATE INDEX tickets_open ON tickets (status, created_at);
CREATE INDEX tickets_user ON tickets (user_id, status);

CREATE TABLE faq_drafts (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER,
    question    TEXT NOT NULL,
    answer      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
