//! The gRPC surface: each service decodes and validates a request, calls the
//! domain, and encodes the answer. `status` maps every domain error to a gRPC
//! status, in one place.

mod booking;
pub mod codec;
pub mod convert;
mod sessions;
mod status;

pub use booking::BookingApi;
pub use sessions::SessionApi;
