-- Rooms with real layouts (aisles, seat kinds, couple seats), prices per
-- seat kind, tickets priced per seat at hold time, and blocked seats.

-- An auditorium. Immutable once created: a new layout is a new room, so a
-- session's seat map never changes under it.
CREATE TABLE rooms (
    room_id      uuid        PRIMARY KEY,
    name         text        NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    seat_count   integer     NOT NULL CHECK (seat_count >= 16),
    create_time  timestamptz NOT NULL DEFAULT now()
);
-- ListRooms walks this index with a keyset cursor.
CREATE INDEX rooms_by_creation ON rooms (create_time, room_id);

-- A room's rows, nearest the screen first: the pattern, one character per
-- position (src/domain/layout.rs reads it).
CREATE TABLE room_rows (
    room_id   uuid    NOT NULL REFERENCES rooms ON DELETE CASCADE,
    position  integer NOT NULL CHECK (position BETWEEN 0 AND 25),
    label     text    NOT NULL CHECK (label ~ '^[A-Z]{1,2}$'),
    seats     text    NOT NULL CHECK (seats ~ '^[SPWCLR_]{1,60}$'),
    PRIMARY KEY (room_id, position),
    UNIQUE (room_id, label)
);

-- A session is in a room (its seats copied from the layout) or, without
-- one, a rectangle of standard seats as before.
ALTER TABLE sessions ADD COLUMN room_id uuid REFERENCES rooms;
ALTER TABLE sessions DROP CONSTRAINT sessions_seats_per_row_check;
ALTER TABLE sessions DROP CONSTRAINT sessions_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_shape_check CHECK (
    CASE WHEN room_id IS NULL
         THEN seats_per_row BETWEEN 1 AND 50 AND seat_rows * seats_per_row >= 16
         ELSE seats_per_row = 0
    END);

-- The price of each seat kind of a session (a couple seat's is per half).
CREATE TABLE session_prices (
    session_id   uuid   NOT NULL REFERENCES sessions ON DELETE CASCADE,
    kind         text   NOT NULL CHECK (kind IN ('standard', 'premium', 'wheelchair', 'companion', 'couple')),
    price_cents  bigint NOT NULL CHECK (price_cents > 0),
    PRIMARY KEY (session_id, kind)
);
INSERT INTO session_prices (session_id, kind, price_cents)
SELECT session_id, 'standard', price_cents FROM sessions;

-- Each seat's kind and place: x counts positions (gaps too) from 0 at the
-- left, y counts rows from 0 at the screen. A couple seat names its other half.
ALTER TABLE seats
    ADD COLUMN kind text NOT NULL DEFAULT 'standard'
        CHECK (kind IN ('standard', 'premium', 'wheelchair', 'companion', 'couple')),
    ADD COLUMN x integer,
    ADD COLUMN y integer,
    ADD COLUMN pair_label text,
    ADD COLUMN block_reason text;
UPDATE seats SET x = seat_number - 1, y = ascii(row_letter) - ascii('A');
ALTER TABLE seats
    ALTER COLUMN kind DROP DEFAULT,
    ALTER COLUMN x SET NOT NULL,
    ALTER COLUMN y SET NOT NULL,
    ADD CHECK (x BETWEEN 0 AND 59 AND y BETWEEN 0 AND 25),
    ADD CHECK ((kind = 'couple') = (pair_label IS NOT NULL)),
    ADD CHECK ((status = 'blocked') = (block_reason IS NOT NULL));
ALTER TABLE seats DROP CONSTRAINT seats_row_letter_check;
ALTER TABLE seats ADD CONSTRAINT seats_row_letter_check CHECK (row_letter ~ '^[A-Z]{1,2}$');
ALTER TABLE seats DROP CONSTRAINT seats_seat_number_check;
ALTER TABLE seats ADD CONSTRAINT seats_seat_number_check CHECK (seat_number BETWEEN 1 AND 60);
ALTER TABLE seats DROP CONSTRAINT seats_status_check;
ALTER TABLE seats ADD CONSTRAINT seats_status_check
    CHECK (status IN ('available', 'held', 'sold', 'blocked'));
-- A seat names a reservation exactly while it is held or sold.
ALTER TABLE seats DROP CONSTRAINT seats_check1;
ALTER TABLE seats ADD CONSTRAINT seats_reservation_check
    CHECK ((status IN ('held', 'sold')) = (reservation_id IS NOT NULL));
-- Seat maps are drawn row by row, left to right.
CREATE UNIQUE INDEX seats_by_place ON seats (session_id, y, x);

-- Each seat of a reservation with the kind, ticket type and price it was
-- held at: a later price change never alters a hold or a sale.
ALTER TABLE reservation_seats
    ADD COLUMN kind text NOT NULL DEFAULT 'standard'
        CHECK (kind IN ('standard', 'premium', 'wheelchair', 'companion', 'couple')),
    ADD COLUMN ticket_type text NOT NULL DEFAULT 'full' CHECK (ticket_type IN ('full', 'half')),
    ADD COLUMN price_cents bigint;
UPDATE reservation_seats rs SET price_cents = s.price_cents
  FROM sessions s WHERE s.session_id = rs.session_id;
ALTER TABLE reservation_seats
    ALTER COLUMN kind DROP DEFAULT,
    ALTER COLUMN ticket_type DROP DEFAULT,
    ALTER COLUMN price_cents SET NOT NULL,
    ADD CHECK (price_cents > 0);

-- Sales figures split by seat kind and ticket type, kept by the events
-- consumer beside session_sales.
CREATE TABLE session_sales_by_kind (
    session_id     uuid   NOT NULL REFERENCES sessions ON DELETE CASCADE,
    kind           text   NOT NULL,
    ticket_type    text   NOT NULL,
    tickets_sold   bigint NOT NULL DEFAULT 0,
    revenue_cents  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, kind, ticket_type)
);

-- The read views gain kinds, places, prices and blocks.
DROP VIEW session_states, seat_states, reservation_states, sale_details;

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
