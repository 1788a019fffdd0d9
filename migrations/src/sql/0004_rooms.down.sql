-- Back to rectangles at one price: rooms, kinds, prices per seat and blocks
-- go; sessions in rooms go with them.
DROP VIEW session_states, seat_states, reservation_states, sale_details;
DROP TABLE session_sales_by_kind;
DELETE FROM sessions WHERE room_id IS NOT NULL;
UPDATE seats SET status = 'available', block_reason = NULL WHERE status = 'blocked';
ALTER TABLE reservation_seats DROP COLUMN kind, DROP COLUMN ticket_type, DROP COLUMN price_cents;
DROP INDEX seats_by_place;
ALTER TABLE seats DROP CONSTRAINT seats_reservation_check;
ALTER TABLE seats ADD CONSTRAINT seats_check1 CHECK ((status = 'available') = (reservation_id IS NULL));
ALTER TABLE seats DROP CONSTRAINT seats_status_check;
ALTER TABLE seats ADD CONSTRAINT seats_status_check CHECK (status IN ('available', 'held', 'sold'));
ALTER TABLE seats DROP CONSTRAINT seats_seat_number_check;
ALTER TABLE seats ADD CONSTRAINT seats_seat_number_check CHECK (seat_number BETWEEN 1 AND 50);
ALTER TABLE seats DROP CONSTRAINT seats_row_letter_check;
ALTER TABLE seats ADD CONSTRAINT seats_row_letter_check CHECK (row_letter ~ '^[A-Z]$');
ALTER TABLE seats DROP COLUMN kind, DROP COLUMN x, DROP COLUMN y, DROP COLUMN pair_label, DROP COLUMN block_reason;
DROP TABLE session_prices;
ALTER TABLE sessions DROP CONSTRAINT sessions_shape_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_seats_per_row_check CHECK (seats_per_row BETWEEN 1 AND 50);
ALTER TABLE sessions ADD CONSTRAINT sessions_check CHECK (seat_rows * seats_per_row >= 16);
ALTER TABLE sessions DROP COLUMN room_id;
DROP TABLE room_rows, rooms;

-- The views of 0003_read_views, as they were.
CREATE VIEW seat_states AS
SELECT session_id,
       label,
       row_letter,
       seat_number,
       CASE WHEN status = 'held' AND held_until <= now() THEN 'available' ELSE status END AS status,
       version
FROM seats;

CREATE VIEW reservation_states AS
SELECT r.reservation_id,
       r.session_id,
       r.user_id,
       CASE WHEN r.status = 'pending' AND r.expires_at <= now() THEN 'expired' ELSE r.status END AS status,
       r.expires_at,
       r.create_time,
       r.total_price_cents,
       r.currency,
       ARRAY(SELECT rs.label FROM reservation_seats rs
              WHERE rs.reservation_id = r.reservation_id) AS seat_labels
FROM reservations r;


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
       ARRAY(SELECT ss.label FROM sale_seats ss WHERE ss.sale_id = sa.sale_id) AS seat_labels
FROM sales sa
JOIN sessions se ON se.session_id = sa.session_id;

CREATE VIEW session_states AS
SELECT s.session_id,
       s.movie_title,
       s.room,
       s.starts_at,
       s.price_cents,
       s.currency,
       s.seat_rows,
       s.seats_per_row,
       s.create_time,
       (SELECT count(*) FROM seat_states v
         WHERE v.session_id = s.session_id AND v.status = 'available') AS available_seats
FROM sessions s;
