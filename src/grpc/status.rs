//! The one place where domain errors become gRPC statuses. Client mistakes get
//! their contract code with google.rpc details; outages and bugs are logged
//! here with their detail and reach the client only as a generic message.
//! Also the names metrics and logs give codes and outcomes.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, PreconditionViolation, StatusExt};

use crate::domain::{ClosedReason, Error, Rule};

/// The details and message of an INVALID_ARGUMENT travel in response
/// headers, which clients cap (16 KiB by default): past this many bytes of
/// violations, the rest are counted instead of listed. Only input made to
/// break things gets near it.
const MAX_VIOLATION_BYTES: usize = 6 * 1024;

/// How many violations the message names; the details list them all.
const NAMED_IN_MESSAGE: usize = 5;

fn invalid_argument(violations: Vec<crate::domain::FieldViolation>) -> Status {
    let total = violations.len();
    let mut bytes = 0;
    let mut listed: Vec<FieldViolation> = violations
        .into_iter()
        .take_while(|v| {
            bytes += v.field.len() + v.description.len();
            bytes <= MAX_VIOLATION_BYTES
        })
        .map(|v| FieldViolation::new(v.field, v.description))
        .collect();
    let unlisted = total - listed.len();
    if unlisted > 0 {
        listed.push(FieldViolation::new(
            "",
            format!("and {unlisted} more problems, not listed"),
        ));
    }
    let mut message = listed
        .iter()
        .take(NAMED_IN_MESSAGE)
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ");
    if total > NAMED_IN_MESSAGE {
        message.push_str(&format!(" (and {} more)", total - NAMED_IN_MESSAGE));
    }
    Status::with_error_details(
        Code::InvalidArgument,
        message,
        ErrorDetails::with_bad_request(listed),
    )
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        match err {
            Error::InvalidArgument(violations) => invalid_argument(violations),
            Error::Unauthenticated(why) => Status::unauthenticated(why),
            Error::PermissionDenied(why) => Status::permission_denied(why),
            Error::NotFound { resource_type, id } => Status::with_error_details(
                Code::NotFound,
                format!("{resource_type} {id} not found"),
                ErrorDetails::with_resource_info(
                    format!("cinema.v1.{}", capitalized(resource_type)),
                    id,
                    "",
                    format!("no {resource_type} has this id"),
                ),
            ),
            Error::SeatsUnavailable(labels) => Status::with_error_details(
                Code::FailedPrecondition,
                format!("seats not available: {}", labels.join(", ")),
                ErrorDetails::with_precondition_failure(
                    labels
                        .into_iter()
                        .map(|label| {
                            PreconditionViolation::new(
                                "SEAT_UNAVAILABLE",
                                label,
                                "the seat is held, sold or blocked",
                            )
                        })
                        .collect::<Vec<_>>(),
                ),
            ),
            Error::ReservationClosed {
                reason,
                reservation_id,
            } => {
                let (kind, message) = match reason {
                    ClosedReason::Expired => ("RESERVATION_EXPIRED", "the reservation expired"),
                    ClosedReason::Cancelled => {
                        ("RESERVATION_CANCELLED", "the reservation was cancelled")
                    }
                    ClosedReason::Confirmed => {
                        ("RESERVATION_CONFIRMED", "the reservation is already paid")
                    }
                };
                Status::with_error_details(
                    Code::FailedPrecondition,
                    message,
                    ErrorDetails::with_precondition_failure_violation(
                        kind,
                        reservation_id.to_string(),
                        message,
                    ),
                )
            }
            Error::Refused { rule, subjects } => {
                let (kind, description) = refusal(rule);
                Status::with_error_details(
                    Code::FailedPrecondition,
                    format!("{description}: {}", subjects.join(", ")),
                    ErrorDetails::with_precondition_failure(
                        subjects
                            .into_iter()
                            .map(|subject| PreconditionViolation::new(kind, subject, description))
                            .collect::<Vec<_>>(),
                    ),
                )
            }
            Error::Contended => {
                Status::aborted("another request is taking one of these seats right now; retry")
            }
            Error::RateLimited { retry_after } => Status::with_error_details(
                Code::ResourceExhausted,
                "too many requests; retry later",
                ErrorDetails::with_retry_info(Some(retry_after)),
            ),
            Error::ShuttingDown => Status::unavailable("the server is shutting down; call again"),
            Error::Unavailable(detail) => {
                tracing::warn!(%detail, "dependency unavailable");
                Status::unavailable("the service is temporarily unavailable; retry later")
            }
            Error::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

/// The PreconditionFailure type of a rule, and what it says.
fn refusal(rule: Rule) -> (&'static str, &'static str) {
    match rule {
        Rule::SingleSeatGap => (
            "SINGLE_SEAT_GAP",
            "the hold would leave this seat alone between taken seats",
        ),
        Rule::NotEnoughAdjacentSeats => (
            "NOT_ENOUGH_ADJACENT_SEATS",
            "no block of that many adjacent seats is free in this session",
        ),
        Rule::ExtensionLimit => (
            "EXTENSION_LIMIT",
            "the reservation was extended as often as it may be",
        ),
        Rule::ReservationPaid => ("RESERVATION_PAID", "the reservation is paid"),
        Rule::RefundWindowClosed => ("REFUND_WINDOW_CLOSED", "it is too late to refund this sale"),
        Rule::TicketAdmitted => (
            "TICKET_ADMITTED",
            "this seat's ticket admitted someone and cannot be refunded",
        ),
        Rule::AlreadyRefunded => ("ALREADY_REFUNDED", "this seat was refunded already"),
        Rule::RoomBusy => ("ROOM_BUSY", "another session takes the room at that time"),
        Rule::SessionCancelled => (
            "SESSION_CANCELLED",
            "the session was cancelled; nothing of it is on sale",
        ),
        Rule::SessionStarted => ("SESSION_STARTED", "the session has started"),
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// How a ReserveSeats call ended, as the reservations metric counts it.
pub fn reservation_outcome<T>(reserved: &Result<T, Error>) -> &'static str {
    match reserved {
        Ok(_) => "held",
        Err(Error::SeatsUnavailable(_)) => "unavailable",
        Err(Error::Refused { .. }) => "refused",
        Err(Error::Contended) => "contended",
        Err(Error::InvalidArgument(_)) => "invalid",
        Err(Error::NotFound { .. }) => "not_found",
        Err(_) => "failed",
    }
}

/// The canonical name of a gRPC code (`NOT_FOUND`), as grpcurl and the gRPC
/// documentation spell it; tonic's own `Display` gives a sentence instead.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_their_canonical_names() {
        assert_eq!(code_name(Code::NotFound), "NOT_FOUND");
        assert_eq!(code_name(Code::ResourceExhausted), "RESOURCE_EXHAUSTED");
    }
}
