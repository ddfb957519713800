-- Sessions are looked up by the SHA-256 of their id (64 lowercase hex digits),
-- never by the id itself: the id is the secret in the browser's cookie, so a
-- copy of this table (a backup, a leaked dump) must not sign anyone in. The
-- column is renamed so that code still writing clear ids fails loudly.
--
-- Existing rows hold clear ids and are deleted rather than converted: the
-- cookies that carry them are unsigned, and since this release a session
-- cookie must carry an HMAC (SESSION_SECRET), so they could not be used
-- anyway. Everyone signed in signs in again once.
--
-- Portable SQL: migrations/sqlite holds the same change.

DELETE FROM sessions;
ALTER TABLE sessions RENAME COLUMN id TO id_hash;
