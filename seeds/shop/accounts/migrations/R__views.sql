-- accounts: read models, recreated whenever this file changes (Flyway repeatable migration).
CREATE OR REPLACE VIEW active_users AS
    SELECT id, email, name, country, created_at
    FROM users
    WHERE status = 'active';

CREATE OR REPLACE VIEW api_key_overview AS
    SELECT k.id,
           k.user_id,
           u.email,
           k.label,
           k.created_at,
           k.last_used_at,
           k.expires_at,
           k.expires_at IS NOT NULL AND k.expires_at <= now() AS expired
    FROM api_keys k
    JOIN users u ON u.id = k.user_id;
