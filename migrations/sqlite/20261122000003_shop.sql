-- The shop (app/shop): products and the orders of signed-in users.
--
-- Portable on purpose: the same queries run on SQLite and PostgreSQL through
-- sqlx's Any driver, so every timestamp is a BIGINT of unix seconds and every
-- amount of money a BIGINT of cents (no floats, no backend-specific date
-- types). migrations/postgres holds the same schema. One file per feature, so
-- a feature comes out with its migration (see the README's "Remove the demo").

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
