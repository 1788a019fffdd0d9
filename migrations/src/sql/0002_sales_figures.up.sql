-- Sales figures per session, kept by the `sales-figures` events consumer
-- (src/events/consumer.rs), not by the booking transactions: they trail the
-- sales by the time an event takes to arrive, and booking never waits on them.

-- Running totals of one session. A row appears with the session's first
-- counted event; until then the figures are zero (GetSessionSales says so).
CREATE TABLE session_sales (
    session_id     uuid        PRIMARY KEY REFERENCES sessions ON DELETE CASCADE,
    tickets_sold   bigint      NOT NULL DEFAULT 0,
    revenue_cents  bigint      NOT NULL DEFAULT 0,
    holds_expired  bigint      NOT NULL DEFAULT 0,
    -- When an event last changed these figures.
    update_time    timestamptz NOT NULL DEFAULT now()
);

-- The events each consumer has already counted. JetStream delivers at least
-- once (a redelivery, or the same event published again), so a consumer
-- records the event id in the transaction that applies it: a second delivery
-- finds the row and changes nothing.
CREATE TABLE processed_events (
    consumer      text        NOT NULL,
    event_id      uuid        NOT NULL,
    process_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
