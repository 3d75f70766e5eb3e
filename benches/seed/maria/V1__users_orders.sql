-- The bench schema on MariaDB: the PostgreSQL one (../pg) in MariaDB's types, with the same
-- constraint and index names. benches/seed.rs builds the same by hand for its LOAD DATA baseline.
CREATE TABLE users (
    id         bigint NOT NULL,
    email      varchar(255) NOT NULL,
    full_name  text NOT NULL,
    phone      varchar(40),
    street     text,
    city       text,
    country    text,
    created_at datetime(6) NOT NULL,
    balance    decimal(12,2) NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT users_email_key UNIQUE (email)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE orders (
    id         bigint NOT NULL,
    user_id    bigint NOT NULL,
    amount     decimal(12,2) NOT NULL,
    status     varchar(32) NOT NULL,
    created_at datetime(6) NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT orders_amount_check CHECK (amount >= 0),
    CONSTRAINT orders_status_check CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- The index first, so the foreign key uses it instead of making one of its own.
CREATE INDEX orders_user_id_idx ON orders (user_id);

ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id);
