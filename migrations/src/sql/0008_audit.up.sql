-- The audit trail: one row per admin or staff action, inserted by the
-- transaction of the action itself, so an action rolled back leaves none.
-- `session_id` has no foreign key on purpose: the trail outlives whatever it
-- names, and the insert at the end of an action takes no lock on its session.
CREATE TABLE audit_records (
    audit_record_id  uuid        PRIMARY KEY,
    create_time      timestamptz NOT NULL DEFAULT now(),
    actor            text        NOT NULL,
    request_id       text        NOT NULL,
    action           text        NOT NULL CHECK (action IN (
                         'room_created', 'movie_created', 'session_created', 'session_cancelled',
                         'seats_blocked', 'seats_unblocked', 'sale_refunded', 'ticket_admitted')),
    target           text        NOT NULL,
    session_id       uuid,
    detail           text        NOT NULL
);
-- ListAuditRecords of one session, in id order.
CREATE INDEX audit_records_by_session ON audit_records (session_id, audit_record_id)
    WHERE session_id IS NOT NULL;

-- Append-only: a record, once written, is never changed or removed.
CREATE FUNCTION audit_records_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only'
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER audit_records_append_only
    BEFORE UPDATE OR DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_records_are_append_only();
CREATE TRIGGER audit_records_no_truncate
    BEFORE TRUNCATE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION audit_records_are_append_only();
