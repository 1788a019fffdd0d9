-- Seat selection: sessions may allow single-seat gaps, and holds can be
-- extended a bounded number of times.

-- By default a hold that would leave one AVAILABLE seat between two taken
-- ones in a row is refused (nobody buys that seat).
ALTER TABLE sessions ADD COLUMN allow_single_seat_gaps boolean NOT NULL DEFAULT false;

-- How many more times the owner may extend the hold (set when it is made).
ALTER TABLE reservations ADD COLUMN extensions_left integer NOT NULL DEFAULT 0 CHECK (extensions_left >= 0);

-- The read views gain both, and seats show when their hold ends.
DROP VIEW session_states, reservation_states, seat_states;

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
       s.block_reason,
       CASE WHEN s.status = 'held' AND s.held_until > now() THEN s.held_until END AS hold_expire_time
FROM seats s
JOIN session_prices p ON p.session_id = s.session_id AND p.kind = s.kind;

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
       s.allow_single_seat_gaps,
       (SELECT count(*) FROM seats v WHERE v.session_id = s.session_id) AS total_seats,
       (SELECT count(*) FROM seats v
         WHERE v.session_id = s.session_id
           AND (v.status = 'available' OR (v.status = 'held' AND v.held_until <= now()))) AS available_seats,
       ARRAY(SELECT p.kind FROM session_prices p WHERE p.session_id = s.session_id ORDER BY p.kind) AS price_kinds,
       ARRAY(SELECT p.price_cents FROM session_prices p WHERE p.session_id = s.session_id ORDER BY p.kind) AS price_amounts
FROM sessions s;

CREATE VIEW reservation_states AS
SELECT r.reservation_id,
       r.session_id,
       r.user_id,
       CASE WHEN r.status = 'pending' AND r.expires_at <= now() THEN 'expired' ELSE r.status END AS status,
       r.expires_at,
       r.create_time,
       r.total_price_cents,
       r.currency,
       r.extensions_left,
       ARRAY(SELECT rs.label FROM reservation_seats rs
              WHERE rs.reservation_id = r.reservation_id ORDER BY rs.label) AS seat_labels,
       ARRAY(SELECT rs.kind FROM reservation_seats rs
              WHERE rs.reservation_id = r.reservation_id ORDER BY rs.label) AS seat_kinds,
       ARRAY(SELECT rs.ticket_type FROM reservation_seats rs
              WHERE rs.reservation_id = r.reservation_id ORDER BY rs.label) AS ticket_types,
       ARRAY(SELECT rs.price_cents FROM reservation_seats rs
              WHERE rs.reservation_id = r.reservation_id ORDER BY rs.label) AS seat_prices
FROM reservations r;
