//! The one place where domain errors become gRPC statuses. Client mistakes get
//! their contract code with google.rpc details; outages and bugs are logged
//! here with their detail and reach the client only as a generic message.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, PreconditionViolation, StatusExt};

use crate::error::{ClosedReason, Error};

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        match err {
            Error::InvalidArgument(violations) => {
                let message = violations
                    .iter()
                    .map(|v| format!("{}: {}", v.field, v.description))
                    .collect::<Vec<_>>()
                    .join("; ");
                let details = ErrorDetails::with_bad_request(
                    violations
                        .into_iter()
                        .map(|v| FieldViolation::new(v.field, v.description))
                        .collect::<Vec<_>>(),
                );
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
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
                                "the seat is held or sold",
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
            Error::Contended => {
                Status::aborted("another request is taking one of these seats right now; retry")
            }
            Error::RateLimited { retry_after } => Status::with_error_details(
                Code::ResourceExhausted,
                "too many requests; retry later",
                ErrorDetails::with_retry_info(Some(retry_after)),
            ),
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

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
