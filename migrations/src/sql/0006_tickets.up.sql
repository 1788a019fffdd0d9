-- Tickets: one per seat of a sale, each admitting its holder once.

CREATE TABLE tickets (
    ticket_id    uuid        PRIMARY KEY,
    sale_id      uuid        NOT NULL REFERENCES sales ON DELETE CASCADE,
    session_id   uuid        NOT NULL REFERENCES sessions ON DELETE CASCADE,
    seat_label   text        NOT NULL,
    ticket_type  text        NOT NULL CHECK (ticket_type IN ('full', 'half')),
    -- What the ticket's QR code carries: its id, signed (src/tickets/code.rs).
    code         text        NOT NULL UNIQUE,
    status       text        NOT NULL DEFAULT 'valid'
                             CHECK (status IN ('valid', 'admitted', 'refunded')),
    -- The first (and only) admission.
    admit_time   timestamptz,
    admit_gate   text,
    UNIQUE (sale_id, seat_label),
    CHECK ((status = 'admitted') = (admit_time IS NOT NULL)),
    CHECK ((admit_time IS NULL) = (admit_gate IS NULL))
);
CREATE INDEX tickets_by_sale ON tickets (sale_id);

-- An admitted ticket never changes again: it admitted someone.
CREATE FUNCTION tickets_admitted_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ticket % was admitted and cannot change', OLD.ticket_id
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER tickets_admitted_is_final
    BEFORE UPDATE ON tickets
    FOR EACH ROW
    WHEN (OLD.status = 'admitted' AND NEW IS DISTINCT FROM OLD)
    EXECUTE FUNCTION tickets_admitted_is_final();

-- Refunds: a sale's seats go back on sale; the sale keeps their tickets,
-- REFUNDED. A seat is sold at most once *at a time*: sale_seats keeps
-- every sale of a seat, and at most one of them is not refunded.
ALTER TABLE sale_seats ADD COLUMN refunded boolean NOT NULL DEFAULT false;
ALTER TABLE sale_seats DROP CONSTRAINT sale_seats_pkey;
ALTER TABLE sale_seats ADD PRIMARY KEY (sale_id, label);
CREATE UNIQUE INDEX sale_seats_sold_once ON sale_seats (session_id, label) WHERE NOT refunded;

-- A sold seat changes again only to go back on sale once its sale of it
-- is refunded.
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

ALTER TABLE sales ADD COLUMN refunded_cents bigint NOT NULL DEFAULT 0
    CHECK (refunded_cents BETWEEN 0 AND amount_cents);

-- Each refund: which seats, how much, why and who.
CREATE TABLE refunds (
    refund_id     uuid        PRIMARY KEY,
    sale_id       uuid        NOT NULL REFERENCES sales ON DELETE CASCADE,
    seat_labels   text[]      NOT NULL,
    amount_cents  bigint      NOT NULL CHECK (amount_cents > 0),
    reason        text        NOT NULL,
    actor         text        NOT NULL,
    create_time   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_by_sale ON refunds (sale_id);

-- The sales figures count admissions and refunds too.
ALTER TABLE session_sales
    ADD COLUMN tickets_admitted bigint NOT NULL DEFAULT 0,
    ADD COLUMN tickets_refunded bigint NOT NULL DEFAULT 0,
    ADD COLUMN refunded_cents bigint NOT NULL DEFAULT 0;

-- Sales read with what was refunded.
DROP VIEW sale_details;
CREATE VIEW sale_details AS
SELECT sa.sale_id,
       sa.reservation_id,
       sa.session_id,
       sa.user_id,
       sa.amount_cents,
       sa.refunded_cents,
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
