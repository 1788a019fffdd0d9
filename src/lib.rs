//! cinema: a box office over gRPC that never sells a seat twice.
//!
//! Layers point one way, down; each module imports only those below it:
//!
//! ```text
//! main.rs ─▶ cli ─▶ server ─▶ grpc ─▶ booking, catalog, tickets, live, figures ─▶ events, gate ─▶ store ─▶ domain
//! ```
//!
//! - [`cli`]: the commands (`serve`, `worker`, `migrate`, `token`, `demo`,
//!   `events tail`, `watch`, `health`, `ticket-key`, `ticket verify`);
//!   [`config`] declares every setting once.
//! - [`server`]: wiring; one tower stack for every RPC, health, reflection,
//!   shutdown in order.
//! - [`grpc`]: the only module that knows tonic and the `cinema.v1` types:
//!   services, every conversion, the one error-to-status map
//!   (`grpc::status`), and the layers (telemetry, auth, rate limit, deadline).
//! - Use cases: [`booking`] (hold, best available, extend, pay and issue
//!   tickets, cancel, refund, expire, idempotency), [`tickets`] (ticket
//!   codes, admission at the door; booking signs codes with it),
//!   [`catalog`] (rooms, sessions, seat maps, blocked seats), [`live`] (live
//!   seat maps over NATS),
//!   [`figures`] (the sales figures, fed by an events consumer).
//! - Ports: [`events`] (every event type, the outbox, the relay to
//!   JetStream, durable consumers), [`gate`] (Redis: seat locks and rate
//!   limits, its Lua beside it), [`store`] (PostgreSQL through SeaORM).
//! - [`domain`]: types and rules, free of any framework.
//! - Beside them: [`auth`] (tokens), [`metrics`] (every Prometheus series),
//!   [`telemetry`] (logs and spans), [`proto`] (generated code), [`tls`]
//!   (the CA a deployment trusts for Redis and NATS).
//!
//! Where each rule lives: a seat is sold at most once (at a time) in
//! `store::seats` and the schema (`migrations/src/sql/0001_schema.up.sql`,
//! `0006_tickets.up.sql`); a ticket admits at most once in
//! `store::tickets` and the schema; a room's
//! layout in `domain::layout`; prices and HALF tickets in `domain::price`,
//! couple seats in `domain::terms`; stranded seats and the best block in
//! `domain::selection` (a hold locks each seat's neighbours in
//! `booking::hold_in`); the Redis gate in `gate/*.lua`; domain errors become
//! gRPC statuses in `grpc::status`; an admin or staff action is audited by
//! its own transaction through `store::audit` (append-only by the schema,
//! `0008_audit.up.sql`).

pub mod auth;
pub mod booking;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod domain;
pub mod events;
pub mod figures;
pub mod gate;
pub mod grpc;
pub mod live;
pub mod metrics;
pub mod proto;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod tickets;
pub mod tls;

#[cfg(test)]
mod arbitrary;
