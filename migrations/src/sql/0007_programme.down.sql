-- Back to sessions without movies or states. Cancelled sessions stay in the
-- tables as they are (their seats BLOCKED); tickets refunded after their
-- admission forget the admission.
DROP VIEW session_states;
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

CREATE OR REPLACE FUNCTION tickets_admitted_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ticket % was admitted and cannot change', OLD.ticket_id
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
ALTER TABLE tickets DROP CONSTRAINT tickets_admission_check;
UPDATE tickets SET admit_time = NULL, admit_gate = NULL WHERE status = 'refunded';
ALTER TABLE tickets ADD CONSTRAINT tickets_check CHECK ((status = 'admitted') = (admit_time IS NOT NULL));

CREATE OR REPLACE FUNCTION seats_sold_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'available' AND NOT EXISTS (
        SELECT 1 FROM sale_seats ss
         WHERE ss.session_id = OLD.session_id AND ss.label = OLD.label AND NOT ss.refunded) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'seat %/% is sold and cannot change', OLD.session_id, OLD.label
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

DROP INDEX sessions_by_movie, sessions_by_room;
ALTER TABLE sessions
    DROP CONSTRAINT sessions_room_free,
    DROP COLUMN movie_id,
    DROP COLUMN ends_at,
    DROP COLUMN state,
    DROP COLUMN cancel_reason,
    DROP COLUMN cancel_time;
DROP TABLE movies;
