//! The one error type of every layer. `grpc::status` maps it to gRPC codes,
//! in one place; internal details are logged there and never sent to a client.

use std::time::Duration;

/// A problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// Everything that can go wrong while serving a request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed; one violation per problem.
    #[error("invalid request: {0:?}")]
    InvalidArgument(Vec<FieldViolation>),

    /// No token, or a token that is malformed, forged or expired.
    #[error("unauthenticated: {0}")]
    Unauthenticated(&'static str),

    /// The caller may not do this.
    #[error("permission denied: {0}")]
    PermissionDenied(&'static str),

    /// No resource of that type has that id.
    #[error("{resource_type} {id} not found")]
    NotFound {
        resource_type: &'static str,
        id: String,
    },

    /// These seats are held or sold by someone else.
    #[error("seats unavailable: {0:?}")]
    SeatsUnavailable(Vec<String>),

    /// The reservation cannot go on: it expired, was cancelled or was already paid.
    #[error("reservation {reservation_id} is {reason:?}")]
    ReservationClosed {
        reason: ClosedReason,
        reservation_id: uuid::Uuid,
    },

    /// A rule of the box office refuses the request as it stands; each
    /// subject (a seat label or an id) is named.
    #[error("refused by {rule:?}: {subjects:?}")]
    Refused { rule: Rule, subjects: Vec<String> },

    /// Another request is taking one of these seats right now; a retry may succeed.
    #[error("seat lock contended")]
    Contended,

    /// Too many requests; retry after the delay.
    #[error("rate limited")]
    RateLimited { retry_after: Duration },

    /// This instance is shutting down: the client should go to another one.
    #[error("shutting down")]
    ShuttingDown,

    /// A dependency (PostgreSQL) cannot be reached.
    #[error("unavailable: {0}")]
    Unavailable(String),

    /// A bug or an unexpected answer from a dependency.
    #[error("internal: {0}")]
    Internal(String),
}

/// A rule that can refuse a request whose fields are well formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The hold would leave a single seat stranded between taken ones.
    SingleSeatGap,
    /// No block of that many adjacent free seats exists.
    NotEnoughAdjacentSeats,
    /// The reservation was extended as often as it may be.
    ExtensionLimit,
    /// The reservation is paid: its hold cannot change.
    ReservationPaid,
    /// Too late to refund this sale.
    RefundWindowClosed,
    /// This seat's ticket admitted someone: it cannot be refunded.
    TicketAdmitted,
    /// This seat was refunded already.
    AlreadyRefunded,
    /// Another scheduled session takes the room at that time.
    RoomBusy,
    /// The session was cancelled: nothing of it is on sale.
    SessionCancelled,
    /// The session has started: too late to book it or cancel it.
    SessionStarted,
}

/// Why a reservation can no longer be paid or cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedReason {
    Expired,
    Cancelled,
    Confirmed,
}

impl Error {
    pub fn refused(rule: Rule, subject: impl ToString) -> Self {
        Self::Refused {
            rule,
            subjects: vec![subject.to_string()],
        }
    }

    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    pub fn not_found(resource_type: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            resource_type,
            id: id.to_string(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Gathers the field violations of a whole request, so a client learns every
/// problem at once instead of one per round trip.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// The value, or `None` after noting why it is invalid.
    pub fn check<T>(&mut self, result: Result<T>) -> Result<Option<T>> {
        match result {
            Ok(value) => Ok(Some(value)),
            Err(Error::InvalidArgument(found)) => {
                self.0.extend(found);
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }

    /// INVALID_ARGUMENT with everything noted, if anything was.
    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(self.0))
        }
    }
}

/// The value of a field that [`Violations::finish`] found valid.
pub fn valid<T>(value: Option<T>) -> Result<T> {
    value.ok_or_else(|| Error::Internal("a field was invalid yet no violation was noted".into()))
}
