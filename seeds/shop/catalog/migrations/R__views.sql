-- catalog: read models, recreated whenever this file changes (Flyway repeatable migration).
CREATE OR REPLACE VIEW published_products AS
    SELECT p.id, p.sku, p.name, p.price, p.currency, p.stock, c.slug AS category
    FROM products p
    JOIN categories c ON c.id = p.category_id
    WHERE p.state = 'published';

CREATE OR REPLACE VIEW category_sizes AS
    SELECT c.id, c.slug, count(p.id) AS products
    FROM categories c
    LEFT JOIN products p ON p.category_id = c.id
    GROUP BY c.id, c.slug;
