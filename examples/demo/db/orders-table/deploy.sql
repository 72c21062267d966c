-- 1.0: the shop's orders, with a first order so that the site has data.
CREATE TABLE orders (
  id serial PRIMARY KEY,
  customer text NOT NULL,
  total_cents integer NOT NULL CHECK (total_cents >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO orders (customer, total_cents) VALUES ('Ada', 1250), ('Grace', 4200);
