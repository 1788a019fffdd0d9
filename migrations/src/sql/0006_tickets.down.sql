-- Back to sales without tickets or refunds. Refunded sales of seats are
-- forgotten (their seats stay as they are now).
DROP VIEW sale_details;
ALTER TABLE session_sales DROP COLUMN tickets_admitted, DROP COLUMN tickets_refunded, DROP COLUMN refunded_cents;
DROP TABLE refunds;
ALTER TABLE sales DROP COLUMN refunded_cents;
DELETE FROM sale_seats WHERE refunded;
DROP INDEX sale_seats_sold_once;
ALTER TABLE sale_seats DROP CONSTRAINT sale_seats_pkey;
ALTER TABLE sale_seats ADD PRIMARY KEY (session_id, label);
ALTER TABLE sale_seats DROP COLUMN refunded;
CREATE OR REPLACE FUNCTION seats_sold_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'seat %/% is sold and cannot change', OLD.session_id, OLD.label
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
DROP TABLE tickets;
DROP FUNCTION tickets_admitted_is_final();

-- The view of 0005, as it was.
-- A sale with its session and its seats, priced as they were held.
CREATE VIEW sale_details AS
SELECT sa.sale_id,
       sa.reservation_id,
       sa.session_id,
       sa.user_id,
       sa.amount_cents,
       sa.currency,
       sa.payment_reference,
       sa.paid_time,
       se.movie_title,
       se.starts_at,
       ARRAY(SELECT rs.label FROM reservation_seats rs
              WHERE rs.reservation_id = sa.reservation_id ORDER BY rs.label) AS seat_labels,
       ARRAY(SELECT rs.kind FROM reservation_seats rs
              WHERE rs.reservation_id = sa.reservation_id ORDER BY rs.label) AS seat_kinds,
       ARRAY(SELECT rs.ticket_type FROM reservation_seats rs
              WHERE rs.reservation_id = sa.reservation_id ORDER BY rs.label) AS ticket_types,
       ARRAY(SELECT rs.price_cents FROM reservation_seats rs
              WHERE rs.reservation_id = sa.reservation_id ORDER BY rs.label) AS seat_prices
FROM sales sa
JOIN sessions se ON se.session_id = sa.session_id;
