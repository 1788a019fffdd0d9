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
