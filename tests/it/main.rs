//! Every integration test of cinema, in one crate (one build, one link): the
//! black-box tests start the real server in-process on an ephemeral port, each
//! with a database, Redis key prefix and NATS prefix of its own, so they run
//! in parallel; `support` is what they share.
//!
//! Run them with `scripts/test` (which sets DATABASE_URL, REDIS_URL and
//! NATS_URL), or e.g. `cargo test --test it booking::` for one module.

mod support;

mod admission;
mod audit;
mod auth;
mod bench_smoke;
mod blocked_seats;
mod booking;
mod booking_gate;
mod booking_instances;
mod cancel_session;
mod cli;
mod clients;
mod dependency_tls;
mod deployment;
mod events;
mod events_consumer;
mod extensions;
mod faults;
mod hostile_input;
mod jwks;
mod live;
mod operations;
mod prices;
mod programme;
mod refunds;
mod rooms;
mod seat_selection;
mod server;
mod sessions;
mod soak;
mod tls;
mod tls_clients;
mod walkthrough;
mod watch_cli;
mod web;
