-- PostgreSQL's form of bot/store/migrations/0012_branches.sql: the same schema, PostgreSQL's types.
-- Branches: staff roles scoped to wards/communes, the officer role, approval of branch
-- broadcasts, a scope on every audit row, and members registered by an officer (helper mode).

-- The role check gains 'officer', so the table is rebuilt (SQLite cannot alter a CHECK).
CREATE TABLE staff_scoped (
    user_id     BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    role        TEXT    NOT NULL CHECK (role IN ('admin', 'editor', 'officer')),
    areas       TEXT    NOT NULL DEFAULT '',     -- area codes, comma-separated; '' = the whole city
    granted_by  TEXT    NOT NULL,
    granted_at  TEXT    NOT NULL
);
INSERT INTO staff_scoped (user_id, role, areas, granted_by, granted_at)
    SELECT user_id, role, '', granted_by, granted_at FROM staff;
DROP TABLE staff;
ALTER TABLE staff_scoped RENAME TO staff;

-- Where an action applied: the actor's areas, comma-separated; '' = the whole city.
ALTER TABLE audit_log ADD COLUMN scope TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_at ON audit_log (at);
CREATE INDEX audit_actor ON audit_log (actor, at);

-- A branch broadcast over APPROVAL_THRESHOLD stays a draft with approval 'waiting' (and the
-- time its author asked for in wanted_at) until a city admin approves or returns it.
ALTER TABLE announcements ADD COLUMN approval TEXT
    CHECK (approval IN ('waiting', 'approved', 'returned'));
ALTER TABLE announcements ADD COLUMN approval_by TEXT;     -- "channel:id" of the deciding admin
ALTER TABLE announcements ADD COLUMN approval_note TEXT;   -- the reason given for returning it
ALTER TABLE announcements ADD COLUMN wanted_at TEXT;       -- NULL: as soon as approved
ALTER TABLE announcements ADD COLUMN scope TEXT NOT NULL DEFAULT '';  -- author's areas
CREATE INDEX announcements_approval ON announcements (approval) WHERE approval = 'waiting';

-- Helper mode: a member an officer registered (channel 'assisted': no chat account yet) and
-- the results an officer filled in for a member.
ALTER TABLE users ADD COLUMN registered_by TEXT;           -- "channel:id" of the officer
ALTER TABLE assessment_runs ADD COLUMN entered_by TEXT;    -- "channel:id" of the officer
CREATE INDEX users_registered_by ON users (registered_by) WHERE registered_by IS NOT NULL;
