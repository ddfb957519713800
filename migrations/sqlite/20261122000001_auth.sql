-- Accounts and sessions (app/auth).
--
-- Portable on purpose: the same queries run on SQLite and PostgreSQL through
-- sqlx's Any driver, so every timestamp is a BIGINT of unix seconds and every
-- amount of money a BIGINT of cents (no floats, no backend-specific date
-- types). migrations/postgres holds the same schema. One file per feature, so
-- a feature comes out with its migration (see the README's "Remove the demo").

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    -- argon2id PHC string; never the password.
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL DEFAULT 'customer' CHECK (role IN ('admin', 'customer')),
    created_at    BIGINT  NOT NULL
);

-- One row per signed-in browser. The id is the random cookie value; deleting the
-- row signs the browser out.
CREATE TABLE sessions (
    id         TEXT    PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
