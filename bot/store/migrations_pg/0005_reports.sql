-- PostgreSQL's form of bot/store/migrations/0005_reports.sql: the same schema, PostgreSQL's types.
-- Campaign figures: each member's latest result per assessment is flagged, so the figures are
-- aggregates over a partial index instead of a window over every run (1M runs: seconds -> ms).
ALTER TABLE assessment_runs ADD COLUMN latest INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_latest ON assessment_runs (definition_id, passed, area_code) WHERE latest = 1;
CREATE INDEX runs_taken ON assessment_runs (status, definition_id, finished_at);
CREATE INDEX users_seen ON users (last_seen_at);

-- Small install-wide values (the salt of the pseudonymous respondent ids in exports, ...).
CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
