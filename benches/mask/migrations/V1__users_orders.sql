-- The schema of `cargo bench --bench mask` (benches/mask.rs), the same in "production" and in the
-- twin: users with personal columns and ordinary ones, orders referencing them.
CREATE TABLE users (
    id         bigint PRIMARY KEY,
    email      varchar(255) NOT NULL UNIQUE,
    name       text NOT NULL,
    phone      varchar(40),
    birth_date date,
    status     text NOT NULL,
    balance    numeric(12,2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL
);

CREATE TABLE orders (
    id         bigint PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id),
    amount     numeric(12,2) NOT NULL CHECK (amount >= 0),
    status     text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE INDEX orders_user_id_idx ON orders (user_id);
