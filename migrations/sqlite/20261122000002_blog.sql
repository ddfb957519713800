-- The blog (app/blog).
--
-- Portable on purpose: the same queries run on SQLite and PostgreSQL through
-- sqlx's Any driver, so every timestamp is a BIGINT of unix seconds and every
-- amount of money a BIGINT of cents (no floats, no backend-specific date
-- types). migrations/postgres holds the same schema. One file per feature, so
-- a feature comes out with its migration (see the README's "Remove the demo").

CREATE TABLE posts (
    id           INTEGER PRIMARY KEY,
    slug         TEXT    NOT NULL UNIQUE,
    title        TEXT    NOT NULL,
    summary      TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    author       TEXT    NOT NULL,
    published_at BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);
-- The blog lists newest first.
CREATE INDEX posts_published_at ON posts (published_at DESC);
