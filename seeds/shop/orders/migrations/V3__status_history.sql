-- orders: every status change, recorded by triggers; and the order total kept equal to the sum of
-- its lines, so reports never add up lines themselves.
CREATE TABLE order_status_history (
    id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    order_id   BIGINT UNSIGNED NOT NULL,
    old_status ENUM('pending', 'paid', 'shipped', 'cancelled') NULL,
    new_status ENUM('pending', 'paid', 'shipped', 'cancelled') NOT NULL,
    changed_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    KEY order_status_history_order (order_id, changed_at),
    CONSTRAINT order_status_history_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

DELIMITER //

CREATE TRIGGER orders_status_insert AFTER INSERT ON orders
FOR EACH ROW
BEGIN
    INSERT INTO order_status_history (order_id, old_status, new_status) VALUES (NEW.id, NULL, NEW.status);
END //

CREATE TRIGGER orders_status_update AFTER UPDATE ON orders
FOR EACH ROW
BEGIN
    IF NOT (NEW.status <=> OLD.status) THEN
        INSERT INTO order_status_history (order_id, old_status, new_status) VALUES (NEW.id, OLD.status, NEW.status);
    END IF;
END //

CREATE PROCEDURE recompute_order_total(IN p_order_id BIGINT UNSIGNED)
    MODIFIES SQL DATA
BEGIN
    UPDATE orders
    SET total = (SELECT COALESCE(SUM(quantity * unit_price), 0) FROM order_lines WHERE order_id = p_order_id)
    WHERE id = p_order_id;
END //

CREATE TRIGGER order_lines_total_insert AFTER INSERT ON order_lines
FOR EACH ROW
BEGIN
    CALL recompute_order_total(NEW.order_id);
END //

CREATE TRIGGER order_lines_total_update AFTER UPDATE ON order_lines
FOR EACH ROW
BEGIN
    CALL recompute_order_total(NEW.order_id);
    IF NEW.order_id <> OLD.order_id THEN
        CALL recompute_order_total(OLD.order_id);
    END IF;
END //

CREATE TRIGGER order_lines_total_delete AFTER DELETE ON order_lines
FOR EACH ROW
BEGIN
    CALL recompute_order_total(OLD.order_id);
END //

DELIMITER ;
