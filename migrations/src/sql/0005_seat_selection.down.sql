-- Back to sessions without the gap switch and holds without extensions.
DROP VIEW session_states, reservation_states, seat_states;
ALTER TABLE reservations DROP COLUMN extensions_left;
ALTER TABLE sessions DROP COLUMN allow_single_seat_gaps;

-- The views of 0004_rooms, as they were.
CREATE VIEW session_states AS
SELECT s.session_id,
       s.movie_title,
       s.room,
       s.room_id,
       s.starts_at,
       s.price_cents,
       s.currency,
       s.seat_rows,
       s.seats_per_row,
       s.create_time,
       (SELECT count(*) FROM seats v WHERE v.session_id = s.session_id) AS total_seats,
       (SELECT count(*) FROM seats v
         WHERE v.session_id = s.session_id
           AND (v.status = 'available' OR (v.status = 'held' AND v.held_until <= now()))) AS available_seats,
       ARRAY(SELECT p.kind FROM session_prices p WHERE p.session_id = s.session_id ORDER BY p.kind) AS price_kinds,
       ARRAY(SELECT p.price_cents FROM session_prices p WHERE p.session_id = s.session_id ORDER BY p.kind) AS price_amounts
FROM sessions s;

-- A reservation's seats as parallel arrays in one order: label, kind,
-- ticket type and price.
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
              WHERE rs.reservation_id = r.reservation_id ORDER BY rs.label) AS seat_labels,
       ARRAY(SELECT rs.kind FROM reservation_seats rs
              WHERE rs.reservation_id = r.reservation_id ORDER BY rs.label) AS seat_kinds,
       ARRAY(SELECT rs.ticket_type FROM reservation_seats rs
              WHERE rs.reservation_id = r.reservation_id ORDER BY rs.label) AS ticket_types,
       ARRAY(SELECT rs.price_cents FROM reservation_seats rs
              WHERE rs.reservation_id = r.reservation_id ORDER BY rs.label) AS seat_prices
FROM reservations r;

CREATE VIEW seat_states AS
SELECT s.session_id,
       s.label,
       s.row_letter,
       s.seat_number,
       CASE WHEN s.status = 'held' AND s.held_until <= now() THEN 'available' ELSE s.status END AS status,
       s.version,
       s.kind,
       p.price_cents,
       s.x,
       s.y,
       s.pair_label,
       s.block_reason
FROM seats s
JOIN session_prices p ON p.session_id = s.session_id AND p.kind = s.kind;
