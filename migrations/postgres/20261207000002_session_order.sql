-- When each session began, in unix milliseconds: a sign-in ends the oldest
-- sessions of its account beyond the newest few (app/auth/session.rs), and
-- sessions begun in the same second must still have an order. Sessions from
-- before this column count as the oldest.
--
-- Portable SQL: migrations/sqlite holds the same change.

ALTER TABLE sessions ADD COLUMN created_at_ms BIGINT NOT NULL DEFAULT 0;
