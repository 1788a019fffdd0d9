//! The box office's own types and rules, free of any framework: seat labels,
//! rooms and their layouts, movies, prices and ticket types, sessions, seats and seat maps, reservations and sales, who is
//! calling, the audit trail, and the one [`Error`] every layer speaks.
//!
//! Only std, chrono, uuid and thiserror are imported here; the layers above
//! turn these types into rows (`store`), messages (`grpc`, `events`) and keys
//! (`gate`).

pub mod audit;
pub mod caller;
pub mod error;
pub mod figures;
pub mod labels;
pub mod layout;
pub mod movie;
pub mod price;
pub mod reservation;
pub mod seat;
pub mod selection;
pub mod session;
pub mod terms;
pub mod text;
pub mod ticket;

pub use audit::{AuditAction, AuditEntry, AuditRecord};
pub use caller::Caller;
pub use error::{ClosedReason, Error, FieldViolation, Result, Rule, Violations, valid};
pub use figures::SessionSales;
pub use labels::SeatLabel;
pub use layout::{NewRoom, Room, RowLayout, SeatKind};
pub use movie::{AgeRating, Movie, NewMovie};
pub use price::{KindPrice, PriceList, ReservedSeat, TicketType};
pub use reservation::{Reservation, ReservationStatus, Sale};
pub use seat::{ChangedSeat, Seat, SeatMap, SeatStatus};
pub use session::{NewSession, Session, SessionFilter, SessionState, ValidSession};
pub use terms::SessionTerms;
pub use ticket::{Ticket, TicketStatus};
