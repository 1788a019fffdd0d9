DROP VIEW IF EXISTS seat_states, reservation_states, sale_details;
DROP TABLE IF EXISTS idempotency_keys, outbox, sale_seats, sales, reservation_seats, seats, reservations, sessions;
DROP FUNCTION IF EXISTS seats_sold_is_final(), outbox_notify();
