-- PostgreSQL's form of bot/store/migrations/0006_retention.sql: the same schema, PostgreSQL's types.
-- Old delivery rows are pruned; each announcement keeps its totals.
ALTER TABLE announcements ADD COLUMN totals TEXT;  -- JSON status -> count, set when pruned
CREATE INDEX sessions_updated ON sessions (updated_at);
