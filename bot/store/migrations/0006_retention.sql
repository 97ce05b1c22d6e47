-- Old delivery rows are pruned; each announcement keeps its totals.
ALTER TABLE announcements ADD COLUMN totals TEXT;  -- JSON status -> count, set when pruned
CREATE INDEX sessions_updated ON sessions (updated_at);
