-- The sign-in throttle (src/throttle.rs): failed sign-ins counted
-- per account and per client address, each row keyed by an HMAC of the email
-- or the address (never either in clear). Times are unix milliseconds: the
-- first waits are a second or two. Rows lapse an hour after their last
-- failure and are pruned by the index on updated_at.
--
-- Portable SQL: migrations/sqlite holds the same change.

CREATE TABLE sign_in_throttle (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX sign_in_throttle_updated_at ON sign_in_throttle (updated_at);
