-- orders: money and timestamps an order needs once it is paid and shipped, with the rules the
-- database can enforce itself (MariaDB enforces CHECK constraints since 10.2).
ALTER TABLE orders
    ADD COLUMN currency   CHAR(3)       NOT NULL DEFAULT 'EUR',
    ADD COLUMN total      DECIMAL(12,2) NOT NULL DEFAULT 0.00,
    ADD COLUMN paid_at    DATETIME      NULL,
    ADD COLUMN shipped_at DATETIME      NULL,
    ADD COLUMN updated_at DATETIME      NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    ADD CONSTRAINT orders_total_not_negative CHECK (total >= 0),
    ADD CONSTRAINT orders_shipped_after_paid CHECK (shipped_at IS NULL OR (paid_at IS NOT NULL AND shipped_at >= paid_at));

ALTER TABLE order_lines
    ADD CONSTRAINT order_lines_quantity_positive CHECK (quantity > 0),
    ADD CONSTRAINT order_lines_price_not_negative CHECK (unit_price >= 0);

CREATE INDEX orders_user_created ON orders (user_id, created_at);
CREATE INDEX orders_status_created ON orders (status, created_at);
