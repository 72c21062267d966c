-- Fails (division by zero) unless the table is there with its columns.
SELECT 1/count(*) FROM information_schema.columns
 WHERE table_name = 'orders' AND column_name IN ('id', 'customer', 'total_cents', 'created_at')
HAVING count(*) = 4;
