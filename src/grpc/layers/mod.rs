//! The one tower stack every RPC goes through, outermost first (see
//! `server.rs`): [`telemetry`] (request id, span, log line, metrics),
//! [`auth`] (who is calling), [`rate_limit`] (per-caller budgets), the
//! refusal of calls without a valid token, then [`deadline`] (the server's
//! own time limit).

pub mod auth;
pub mod deadline;
pub mod rate_limit;
pub mod telemetry;
