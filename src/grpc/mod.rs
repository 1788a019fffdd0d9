//! The gRPC adapter, the only module that knows tonic and the `cinema.v1`
//! wire types: each service decodes and validates a request, reads the
//! caller, calls a use case and encodes the answer ([`booking`],
//! [`sessions`], [`venue`], [`movies`], [`ticket`], [`audit`]); [`convert`]
//! holds every conversion, [`status`] the one map from domain errors to gRPC
//! statuses, [`layers`] the stack every call goes through, [`web`] the
//! browser's way in (gRPC-Web, CORS, the web app).

mod audit;
mod booking;
pub mod codec;
pub mod convert;
pub mod layers;
mod movies;
pub mod paging;
mod sessions;
pub mod status;
mod ticket;
mod venue;
pub mod web;

pub use audit::AuditApi;
pub use booking::BookingApi;
pub use movies::MovieApi;
pub use sessions::SessionApi;
pub use ticket::TicketApi;
pub use venue::VenueApi;
