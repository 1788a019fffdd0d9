-- The box office schema. PostgreSQL is the only source of truth: the
-- constraints below make a double sale impossible even if the code is wrong.

CREATE TABLE sessions (
    session_id     uuid        PRIMARY KEY,
    movie_title    text        NOT NULL CHECK (length(btrim(movie_title)) BETWEEN 1 AND 200),
    room           text        NOT NULL CHECK (length(btrim(room)) BETWEEN 1 AND 100),
    starts_at      timestamptz NOT NULL,
    price_cents    bigint      NOT NULL CHECK (price_cents > 0),
    currency       text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    seat_rows      integer     NOT NULL CHECK (seat_rows BETWEEN 1 AND 26),
    seats_per_row  integer     NOT NULL CHECK (seats_per_row BETWEEN 1 AND 50),
    create_time    timestamptz NOT NULL DEFAULT now(),
    CHECK (seat_rows * seats_per_row >= 16)
);
-- ListSessions walks this index with a keyset cursor.
CREATE INDEX sessions_by_start ON sessions (starts_at, session_id);

CREATE TABLE reservations (
    reservation_id     uuid        PRIMARY KEY,
    session_id         uuid        NOT NULL REFERENCES sessions ON DELETE CASCADE,
    user_id            text        NOT NULL,
    status             text        NOT NULL DEFAULT 'pending'
                                   CHECK (status IN ('pending', 'confirmed', 'expired', 'cancelled')),
    expires_at         timestamptz NOT NULL,
    total_price_cents  bigint      NOT NULL CHECK (total_price_cents > 0),
    currency           text        NOT NULL,
    create_time        timestamptz NOT NULL DEFAULT now(),
    -- When the reservation left 'pending'.
    finish_time        timestamptz,
    CHECK ((status = 'pending') = (finish_time IS NULL))
);
-- The sweeper finds due holds through this index.
CREATE INDEX reservations_pending_by_expiry ON reservations (expires_at) WHERE status = 'pending';

-- One row per seat. A seat names at most one reservation at a time (the one
-- holding it, or the one that bought it): a single column, so a seat cannot
-- belong to two live reservations.
CREATE TABLE seats (
    session_id      uuid        NOT NULL REFERENCES sessions ON DELETE CASCADE,
    label           text        NOT NULL,
    row_letter      text        NOT NULL CHECK (row_letter ~ '^[A-Z]$'),
    seat_number     integer     NOT NULL CHECK (seat_number BETWEEN 1 AND 50),
    status          text        NOT NULL DEFAULT 'available'
                                CHECK (status IN ('available', 'held', 'sold')),
    reservation_id  uuid        REFERENCES reservations,
    -- Set while held: the hold counts only while held_until > now().
    held_until      timestamptz,
    -- Bumped by every change, so live seat maps can order changes.
    version         bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, label),
    CHECK (label = row_letter || seat_number),
    CHECK ((status = 'available') = (reservation_id IS NULL)),
    CHECK ((status = 'held') = (held_until IS NOT NULL))
);

-- The seats a reservation asked for (kept after it ends, for its history).
CREATE TABLE reservation_seats (
    reservation_id  uuid NOT NULL REFERENCES reservations ON DELETE CASCADE,
    session_id      uuid NOT NULL,
    label           text NOT NULL,
    PRIMARY KEY (reservation_id, label),
    FOREIGN KEY (session_id, label) REFERENCES seats (session_id, label) ON DELETE CASCADE
);

CREATE TABLE sales (
    sale_id            uuid        PRIMARY KEY,
    -- One sale per reservation: confirming twice cannot sell twice.
    reservation_id     uuid        NOT NULL UNIQUE REFERENCES reservations,
    session_id         uuid        NOT NULL REFERENCES sessions ON DELETE CASCADE,
    user_id            text        NOT NULL,
    amount_cents       bigint      NOT NULL CHECK (amount_cents > 0),
    currency           text        NOT NULL,
    payment_reference  text        NOT NULL,
    paid_time          timestamptz NOT NULL DEFAULT now()
);
-- ListPurchases: a user's sales, newest first.
CREATE INDEX sales_by_user ON sales (user_id, paid_time DESC, sale_id DESC);

-- The last line of defence: the primary key makes a second sale of the same
-- seat fail, whatever the code above it does.
CREATE TABLE sale_seats (
    session_id  uuid NOT NULL,
    label       text NOT NULL,
    sale_id     uuid NOT NULL REFERENCES sales ON DELETE CASCADE,
    PRIMARY KEY (session_id, label),
    FOREIGN KEY (session_id, label) REFERENCES seats (session_id, label) ON DELETE CASCADE
);

-- A sold seat never changes again.
CREATE FUNCTION seats_sold_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'seat %/% is sold and cannot change', OLD.session_id, OLD.label
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER seats_sold_is_final
    BEFORE UPDATE ON seats
    FOR EACH ROW
    WHEN (OLD.status = 'sold' AND NEW IS DISTINCT FROM OLD)
    EXECUTE FUNCTION seats_sold_is_final();

-- Events written by the transaction that caused them; a relay publishes them.
CREATE TABLE outbox (
    seq             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,
    subject         text        NOT NULL,
    payload         bytea       NOT NULL,
    occur_time      timestamptz NOT NULL DEFAULT now(),
    published_time  timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_time IS NULL;

-- Wakes the relays of every instance when events are committed.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cinema_outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify
    AFTER INSERT ON outbox
    FOR EACH STATEMENT
    EXECUTE FUNCTION outbox_notify();

-- A client's request_id, remembered so that a retry gets the first answer.
CREATE TABLE idempotency_keys (
    user_id       text        NOT NULL,
    request_id    uuid        NOT NULL,
    -- Which RPC, and a fingerprint of its arguments: reuse for another request is refused.
    operation     text        NOT NULL,
    fingerprint   text        NOT NULL,
    -- The reservation or sale the first request produced.
    resource_id   uuid        NOT NULL,
    create_time   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, request_id)
);

-- What every read sees: a hold counts only until held_until, so an expired
-- hold reads as available the instant it ends, before any sweeper runs.
CREATE VIEW seat_states AS
SELECT session_id,
       label,
       row_letter,
       seat_number,
       CASE WHEN status = 'held' AND held_until <= now() THEN 'available' ELSE status END AS status,
       version
FROM seats;

-- The sweeper and cancellations find a reservation's seats through this index.
CREATE INDEX seats_by_reservation ON seats (reservation_id) WHERE reservation_id IS NOT NULL;

-- A reservation as every read sees it: a pending one whose time has passed is
-- expired, whether or not the sweeper has recorded it yet.
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

-- A sale with what a receipt shows: its seats, the movie and its start.
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
