-- The demo's whole schema. Portable on purpose: the same queries run on SQLite
-- and PostgreSQL through sqlx's Any driver, so every timestamp is a BIGINT of
-- unix seconds and every amount of money a BIGINT of cents (no floats, no
-- backend-specific date types). migrations/postgres holds the same schema.

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

CREATE TABLE products (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    price_cents BIGINT  NOT NULL CHECK (price_cents >= 0),
    -- The CHECK is the last line against overselling: an order that would take
    -- stock below zero fails in the database, whatever the code above it did.
    stock       BIGINT  NOT NULL CHECK (stock >= 0),
    updated_at  BIGINT  NOT NULL
);

CREATE TABLE campaigns (
    id         INTEGER PRIMARY KEY,
    slug       TEXT    NOT NULL UNIQUE,
    headline   TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    cta_label  TEXT    NOT NULL,
    cta_href   TEXT    NOT NULL,
    product_id BIGINT  REFERENCES products (id)
);

CREATE TABLE orders (
    id          INTEGER PRIMARY KEY,
    user_id     BIGINT  NOT NULL REFERENCES users (id),
    product_id  BIGINT  NOT NULL REFERENCES products (id),
    quantity    BIGINT  NOT NULL CHECK (quantity > 0),
    -- The price paid, frozen at order time.
    total_cents BIGINT  NOT NULL CHECK (total_cents >= 0),
    created_at  BIGINT  NOT NULL
);
CREATE INDEX orders_user_id ON orders (user_id);
