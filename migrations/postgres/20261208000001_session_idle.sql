-- When each session was last used, in unix seconds: a session unused for
-- SESSION_IDLE_HOURS ends before its expiry (app/auth/session.rs). Sessions
-- from before this column count as used now.
--
-- migrations/sqlite holds the same change.

ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET last_seen_at = CAST(EXTRACT(EPOCH FROM now()) AS BIGINT);
