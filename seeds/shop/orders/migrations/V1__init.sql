-- orders (MariaDB): orders and their lines. Users and products live in other services, so their ids
-- are plain columns here, not foreign keys.
CREATE TABLE orders (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    number      VARCHAR(20)     NOT NULL UNIQUE,
    user_id     BIGINT UNSIGNED NOT NULL,
    status      ENUM('pending', 'paid', 'shipped', 'cancelled') NOT NULL DEFAULT 'pending',
    created_at  DATETIME        NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE order_lines (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    order_id    BIGINT UNSIGNED NOT NULL,
    product_sku VARCHAR(64)     NOT NULL,
    quantity    INT UNSIGNED    NOT NULL,
    unit_price  DECIMAL(10,2)   NOT NULL,
    UNIQUE KEY order_lines_order_sku (order_id, product_sku),
    CONSTRAINT order_lines_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
