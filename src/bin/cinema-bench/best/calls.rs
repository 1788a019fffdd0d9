//! One ReserveBestAvailable call as the checks need it: which session,
//! when it was sent and answered, and what came back.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant, SystemTime},
};

use cinema::{
    grpc::status::code_name,
    proto::v1::{Reservation, booking_service_client::BookingServiceClient},
};
use tonic::{
    Code, Status,
    metadata::{Ascii, MetadataValue},
    transport::Channel,
};
use tonic_types::StatusExt;

use crate::{client::reserve_best, stats::Calls};

/// The refusal that says no block of the size asked for is left.
pub const NOT_ENOUGH: &str = "NOT_ENOUGH_ADJACENT_SEATS";

/// One call: its session (an index into the scenario's sessions), its
/// times, and its answer.
pub struct Call {
    pub session: usize,
    pub sent: Instant,
    pub answered: Instant,
    pub outcome: Outcome,
}

pub enum Outcome {
    /// A reservation of these seats, held until `expires`.
    Held {
        seats: Vec<String>,
        expires: SystemTime,
    },
    /// Any refusal: its code, and the PreconditionFailure types it named.
    Refused { code: Code, types: Vec<String> },
}

impl Call {
    /// Calls ReserveBestAvailable for `quantity` seats of `session_id` and
    /// times it.
    pub async fn make(
        booking: &mut BookingServiceClient<Channel>,
        bearer: &MetadataValue<Ascii>,
        (session, session_id): (usize, &str),
        quantity: u32,
    ) -> Self {
        let sent = Instant::now();
        let answer = reserve_best(booking, bearer, session_id, quantity).await;
        Self {
            session,
            sent,
            answered: Instant::now(),
            outcome: Outcome::from(answer),
        }
    }

    pub fn code(&self) -> Code {
        match &self.outcome {
            Outcome::Held { .. } => Code::Ok,
            Outcome::Refused { code, .. } => *code,
        }
    }

    pub fn held(&self) -> Option<&[String]> {
        match &self.outcome {
            Outcome::Held { seats, .. } => Some(seats),
            Outcome::Refused { .. } => None,
        }
    }

    /// When the hold ends, if the call got one.
    pub fn expires(&self) -> Option<SystemTime> {
        match &self.outcome {
            Outcome::Held { expires, .. } => Some(*expires),
            Outcome::Refused { .. } => None,
        }
    }

    /// FAILED_PRECONDITION with NOT_ENOUGH_ADJACENT_SEATS: no block left.
    pub fn not_enough(&self) -> bool {
        matches!(&self.outcome, Outcome::Refused { code: Code::FailedPrecondition, types }
            if types.iter().any(|t| t == NOT_ENOUGH))
    }

    pub fn aborted(&self) -> bool {
        self.code() == Code::Aborted
    }
}

impl From<Result<Reservation, Status>> for Outcome {
    fn from(answer: Result<Reservation, Status>) -> Self {
        match answer {
            Ok(reservation) => Outcome::Held {
                expires: reservation
                    .expire_time
                    .map_or(SystemTime::UNIX_EPOCH, system_time),
                seats: reservation.seat_labels,
            },
            Err(status) => Outcome::Refused {
                code: status.code(),
                types: precondition_types(&status),
            },
        }
    }
}

/// A protobuf timestamp as a system time (before 1970 counts as 1970).
fn system_time(at: prost_types::Timestamp) -> SystemTime {
    let seconds = u64::try_from(at.seconds).unwrap_or_default();
    let nanos = u32::try_from(at.nanos).unwrap_or_default();
    SystemTime::UNIX_EPOCH + Duration::new(seconds, nanos)
}

/// Holds that ended before `now`: the checks count on none, since a seat
/// freed mid-run could be given again.
pub fn holds_ended_before(calls: &[Call], now: SystemTime) -> usize {
    calls
        .iter()
        .filter_map(Call::expires)
        .filter(|expires| *expires <= now)
        .count()
}

/// The violation types of a refusal's PreconditionFailure, if it has one.
fn precondition_types(status: &Status) -> Vec<String> {
    status
        .get_details_precondition_failure()
        .map(|failure| failure.violations.into_iter().map(|v| v.r#type).collect())
        .unwrap_or_default()
}

/// Every call's latency and code, for the figures.
pub fn as_calls<'a>(calls: impl IntoIterator<Item = &'a Call>) -> Calls {
    let mut all = Calls::default();
    for call in calls {
        all.record_took(call.answered - call.sent, call.code());
    }
    all
}

/// Refusals counted by code, or by precondition type when they name one
/// (`FAILED_PRECONDITION/NOT_ENOUGH_ADJACENT_SEATS`).
pub fn refusals(calls: &[Call]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for call in calls {
        if let Outcome::Refused { code, types } = &call.outcome {
            let name = match types.first() {
                Some(kind) => format!("{}/{kind}", code_name(*code)),
                None => code_name(*code).to_owned(),
            };
            *counts.entry(name).or_default() += 1;
        }
    }
    counts
}
