-- The bench schema: 1,000,000 users and 3,000,000 orders referencing them (benches/seed.rs).
-- benches/seed.rs builds the same tables, keys and constraint names by hand for its raw-COPY
-- baseline; keep the two in step.
CREATE TABLE users (
    id         bigint PRIMARY KEY,
    email      varchar(255) NOT NULL UNIQUE,
    full_name  text NOT NULL,
    phone      varchar(40),
    street     text,
    city       text,
    country    text,
    created_at timestamptz NOT NULL,
    balance    numeric(12,2) NOT NULL DEFAULT 0
);

CREATE TABLE orders (
    id         bigint PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id),
    amount     numeric(12,2) NOT NULL CHECK (amount >= 0),
    status     text NOT NULL CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled')),
    created_at timestamptz NOT NULL
);

CREATE INDEX orders_user_id_idx ON orders (user_id);
