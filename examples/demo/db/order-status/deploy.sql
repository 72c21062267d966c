-- 1.2: an order status, backfilled for the existing orders.
ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'paid'
  CHECK (status IN ('paid', 'shipped', 'refunded'));
UPDATE orders SET status = 'shipped' WHERE total_cents >= 2000;
