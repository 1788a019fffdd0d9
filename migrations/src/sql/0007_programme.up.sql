-- The programme: movies; sessions of a movie that take their room from the
-- start until the movie ends plus the turnaround, never two at once; and
-- cancelled sessions, whose sales are refunded and whose seats leave sale.

-- A uuid `=` inside a GiST exclusion constraint.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE movies (
    movie_id          uuid        PRIMARY KEY,
    title             text        NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    duration_seconds  integer     NOT NULL CHECK (duration_seconds BETWEEN 60 AND 21600),
    rating            text        NOT NULL CHECK (rating IN ('L', '10', '12', '14', '16', '18')),
    synopsis          text        NOT NULL CHECK (length(synopsis) <= 2000),
    create_time       timestamptz NOT NULL
);
CREATE INDEX movies_by_title ON movies (title, movie_id);

ALTER TABLE sessions
    ADD COLUMN movie_id uuid REFERENCES movies,
    ADD COLUMN ends_at timestamptz,
    ADD COLUMN state text NOT NULL DEFAULT 'scheduled' CHECK (state IN ('scheduled', 'cancelled')),
    ADD COLUMN cancel_reason text,
    ADD COLUMN cancel_time timestamptz,
    ADD CONSTRAINT sessions_ends_with_movie CHECK ((movie_id IS NULL) = (ends_at IS NULL)),
    ADD CONSTRAINT sessions_ends_after_start CHECK (ends_at > starts_at),
    ADD CONSTRAINT sessions_cancel_check CHECK (
        (state = 'cancelled') = (cancel_reason IS NOT NULL)
        AND (cancel_reason IS NULL) = (cancel_time IS NULL)),
    -- Two scheduled sessions of one room never overlap: [starts_at, ends_at)
    -- is half-open, so a show may start exactly when the previous one ends.
    ADD CONSTRAINT sessions_room_free EXCLUDE USING gist (
        room_id WITH =, tstzrange(starts_at, ends_at) WITH &&
    ) WHERE (state = 'scheduled' AND room_id IS NOT NULL AND ends_at IS NOT NULL);
CREATE INDEX sessions_by_movie ON sessions (movie_id, starts_at, session_id) WHERE movie_id IS NOT NULL;
CREATE INDEX sessions_by_room ON sessions (room_id, starts_at, session_id) WHERE room_id IS NOT NULL;

-- A cancelled session takes every seat out of sale, sold ones too: the
-- transaction that cancels it refunds their sales.
CREATE OR REPLACE FUNCTION seats_sold_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'available' AND NOT EXISTS (
        SELECT 1 FROM sale_seats ss
         WHERE ss.session_id = OLD.session_id AND ss.label = OLD.label AND NOT ss.refunded) THEN
        RETURN NEW;
    END IF;
    IF NEW.status = 'blocked' AND EXISTS (
        SELECT 1 FROM sessions s WHERE s.session_id = OLD.session_id AND s.state = 'cancelled') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'seat %/% is sold and cannot change', OLD.session_id, OLD.label
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

-- An admitted ticket keeps its admission for ever; only the cancellation of
-- its session refunds it (status REFUNDED, admission kept).
ALTER TABLE tickets DROP CONSTRAINT tickets_check;
ALTER TABLE tickets ADD CONSTRAINT tickets_admission_check CHECK (
    (status = 'admitted' AND admit_time IS NOT NULL)
    OR (status = 'valid' AND admit_time IS NULL)
    OR status = 'refunded');
CREATE OR REPLACE FUNCTION tickets_admitted_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'refunded'
       AND (NEW.ticket_id, NEW.sale_id, NEW.session_id, NEW.seat_label, NEW.ticket_type, NEW.code,
            NEW.admit_time, NEW.admit_gate)
           IS NOT DISTINCT FROM
           (OLD.ticket_id, OLD.sale_id, OLD.session_id, OLD.seat_label, OLD.ticket_type, OLD.code,
            OLD.admit_time, OLD.admit_gate)
       AND EXISTS (SELECT 1 FROM sessions s WHERE s.session_id = OLD.session_id AND s.state = 'cancelled') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'ticket % was admitted and cannot change', OLD.ticket_id
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

-- Sessions read with their movie's rating and their state.
CREATE OR REPLACE VIEW session_states AS
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
       ARRAY(SELECT p.price_cents FROM session_prices p WHERE p.session_id = s.session_id ORDER BY p.kind) AS price_amounts,
       s.movie_id,
       s.ends_at,
       m.rating,
       s.state,
       s.cancel_reason
FROM sessions s
LEFT JOIN movies m ON m.movie_id = s.movie_id;
