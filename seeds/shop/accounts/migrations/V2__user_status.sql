-- accounts: a user's lifecycle as an enum type, and country codes that are really ISO 3166 alpha-2.
CREATE TYPE user_status AS ENUM ('active', 'suspended', 'deleted');

ALTER TABLE users
    ADD COLUMN status user_status NOT NULL DEFAULT 'active',
    ADD CONSTRAINT users_country_iso CHECK (country ~ '^[A-Z]{2}$');

-- Logins look users up by e-mail case-insensitively; the UNIQUE constraint alone is case-sensitive.
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));
CREATE INDEX users_status ON users (status) WHERE status <> 'active';
