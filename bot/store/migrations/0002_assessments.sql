-- Self-assessments and knowledge checks.

-- The exact definition a run was started on, so a run always finishes on the version it began
-- with and later content edits never change what a past result meant.
CREATE TABLE definition_snapshots (
    definition_id  TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    kind           TEXT    NOT NULL,            -- assessment | quiz
    body           TEXT    NOT NULL,            -- the definition's content, JSON
    created_at     TEXT    NOT NULL,
    PRIMARY KEY (definition_id, version)
);

CREATE TABLE assessment_runs (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    definition_id  TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    kind           TEXT    NOT NULL,
    role           TEXT,                        -- the member's role and area when they started
    area_code      TEXT,
    status         TEXT    NOT NULL DEFAULT 'in_progress'
                   CHECK (status IN ('in_progress', 'completed', 'abandoned')),
    position       INTEGER NOT NULL DEFAULT 0,  -- index of the question being asked
    answers        TEXT    NOT NULL DEFAULT '{}',  -- question id -> option id, JSON
    criteria       TEXT,                        -- per-criterion points and met, JSON (completed)
    total          REAL,
    max_total      REAL,
    passed         INTEGER,
    started_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    finished_at    TEXT,
    FOREIGN KEY (definition_id, version) REFERENCES definition_snapshots (definition_id, version)
);
CREATE INDEX runs_by_user ON assessment_runs (user_id, status, definition_id);
CREATE INDEX runs_completed ON assessment_runs (definition_id, status, finished_at);

-- "Remind me to re-check in 30/90 days": stored here, delivered by the reminders feature.
CREATE TABLE recheck_reminders (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    definition_id  TEXT    NOT NULL,
    due_at         TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    sent_at        TEXT,
    UNIQUE (user_id, definition_id)
);
CREATE INDEX recheck_due ON recheck_reminders (sent_at, due_at);
