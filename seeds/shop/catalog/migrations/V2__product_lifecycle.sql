-- catalog: products move through a lifecycle and carry their stock and currency.
CREATE TYPE product_state AS ENUM ('draft', 'published', 'discontinued');

ALTER TABLE products
    ADD COLUMN state       product_state NOT NULL DEFAULT 'draft',
    ADD COLUMN currency    char(3)       NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
    ADD COLUMN stock       integer       NOT NULL DEFAULT 0 CHECK (stock >= 0),
    ADD COLUMN description text,
    ADD COLUMN updated_at  timestamptz   NOT NULL DEFAULT now();

ALTER TABLE categories
    ADD COLUMN parent_id integer,
    ADD CONSTRAINT categories_parent FOREIGN KEY (parent_id) REFERENCES categories (id) ON DELETE SET NULL,
    ADD CONSTRAINT categories_not_own_parent CHECK (parent_id IS NULL OR parent_id <> id),
    ADD CONSTRAINT categories_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$');

CREATE INDEX categories_parent_id ON categories (parent_id);
CREATE INDEX products_published ON products (category_id, name) WHERE state = 'published';
