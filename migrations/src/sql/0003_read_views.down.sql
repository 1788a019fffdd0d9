DROP VIEW session_states;

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
       (SELECT string_agg(ss.label, ',') FROM sale_seats ss WHERE ss.sale_id = sa.sale_id) AS seat_labels
FROM sales sa
JOIN sessions se ON se.session_id = sa.session_id;

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
       (SELECT string_agg(rs.label, ',') FROM reservation_seats rs
         WHERE rs.reservation_id = r.reservation_id) AS seat_labels
FROM reservations r;
