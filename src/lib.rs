//! cinema: a box office over gRPC that never sells a seat twice.
//!
//! A request travels down these modules:
//!
//! - [`server`] runs the tonic server: health, reflection, the [`auth`]
//!   interceptor, one layer stack for every RPC, server limits, graceful shutdown.
//! - [`api`] decodes and validates each request, calls the domain, encodes the
//!   answer; `api::status` turns every [`error::Error`] into a gRPC status.
//! - [`booking`] holds seats, takes payment, cancels and expires holds: the
//!   transactions and the rule that a seat is sold at most once.
//! - [`locks`] is the Redis gate in front of those transactions.
//! - [`catalog`] publishes sessions and reads seat maps.
//! - [`store`] holds the PostgreSQL pool and the SeaORM entities. PostgreSQL
//!   is the only source of truth: the schema (the `migration` crate) makes a
//!   double sale impossible even if the code above it is wrong.
//! - [`deadline`] bounds how long any call may take to answer.
//! - [`ratelimit`] keeps each caller within its budget, across instances,
//!   through the Redis connection of [`redis`].
//! - [`config`] reads every setting once, [`telemetry`] sets up logs and the
//!   span of every RPC, [`metrics`] names every Prometheus series,
//!   [`paging`] makes tamper-evident page tokens, [`proto`] is the generated code.

pub mod api;
pub mod auth;
pub mod booking;
pub mod catalog;
pub mod config;
pub mod deadline;
pub mod demo;
pub mod error;
pub mod events;
pub mod live;
pub mod locks;
pub mod metrics;
pub mod paging;
pub mod proto;
pub mod ratelimit;
pub mod redis;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod watch_view;
