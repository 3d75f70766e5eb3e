-- orders: read models, recreated whenever this file changes (Flyway repeatable migration).
CREATE OR REPLACE VIEW open_orders AS
    SELECT id, number, user_id, status, total, currency, created_at
    FROM orders
    WHERE status IN ('pending', 'paid');

CREATE OR REPLACE VIEW daily_revenue AS
    SELECT DATE(paid_at) AS day, currency, COUNT(*) AS orders, SUM(total) AS revenue
    FROM orders
    WHERE paid_at IS NOT NULL AND status <> 'cancelled'
    GROUP BY DATE(paid_at), currency;
