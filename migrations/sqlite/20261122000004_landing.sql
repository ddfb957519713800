-- Landing pages (app/landing).
--
-- Portable on purpose: the same queries run on SQLite and PostgreSQL through
-- sqlx's Any driver, so every timestamp is a BIGINT of unix seconds and every
-- amount of money a BIGINT of cents (no floats, no backend-specific date
-- types). migrations/postgres holds the same schema. One file per feature, so
-- a feature comes out with its migration (see the README's "Remove the demo").

CREATE TABLE campaigns (
    id         INTEGER PRIMARY KEY,
    slug       TEXT    NOT NULL UNIQUE,
    headline   TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    cta_label  TEXT    NOT NULL,
    cta_href   TEXT    NOT NULL
);
