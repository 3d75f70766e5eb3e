-- accounts: API keys get a label, an expiry and a last-use time; keys are hashed by the database
-- itself so that no caller can store a key in clear by mistake.
CREATE EXTENSION IF NOT EXISTS pgcrypto;

ALTER TABLE api_keys
    ADD COLUMN label        text        NOT NULL DEFAULT 'default',
    ADD COLUMN expires_at   timestamptz,
    ADD COLUMN last_used_at timestamptz,
    ADD CONSTRAINT api_keys_expiry_after_creation CHECK (expires_at IS NULL OR expires_at > created_at);

CREATE FUNCTION api_key_digest(key text) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT digest(key, 'sha256') $$;

CREATE INDEX api_keys_expires_at ON api_keys (expires_at) WHERE expires_at IS NOT NULL;
