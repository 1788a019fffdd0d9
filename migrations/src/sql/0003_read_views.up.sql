-- Views that reads go through, shaped for typed rows: a reservation's and a
-- sale's seats as arrays (not comma-joined text), and sessions with the
-- number of seats available now. Each still asks the database clock, so a
-- hold counts only until it ends.

DROP VIEW reservation_states;
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

DROP VIEW sale_details;
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
