-- PostgreSQL's form of bot/store/migrations/0009_member_figures.sql: the same schema, PostgreSQL's types.
-- Covering indexes for the member figures of /stats, so a million members are counted from the
-- indexes alone (measured: areas 1.6 s -> well under 0.5 s).
DROP INDEX users_area;
DROP INDEX users_role;
CREATE INDEX users_area ON users (area_code, consent_at, last_seen_at);
CREATE INDEX users_role ON users (role, consent_at);
