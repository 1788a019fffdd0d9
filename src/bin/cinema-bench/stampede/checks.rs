//! What must hold after a race: no seat won twice, the right number of
//! winners, every refusal one the contract allows, and the database agrees.

use std::collections::BTreeSet;

use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::{Race, callers::Answer};
use crate::{database::ServerDatabase, report::Check};

pub(super) fn race_checks(
    kind: Race,
    name: &str,
    answers: &[Answer],
    winners: &[&Answer],
) -> Vec<Check> {
    let mut checks = Vec::new();
    if kind == Race::OneSeat {
        checks.push(Check::equal(&format!("{name}: winners"), 1, winners.len()));
    } else {
        let mut taken = BTreeSet::new();
        let twice = winners
            .iter()
            .flat_map(|w| &w.wanted)
            .filter(|label| !taken.insert(label.as_str()))
            .count();
        checks.push(Check::equal(
            &format!("{name}: seats won by two callers"),
            0,
            twice,
        ));
        checks.push(Check::holds(
            &format!("{name}: winners"),
            "1 or 2",
            winners.len(),
            (1..=2).contains(&winners.len()),
        ));
    }
    let outside = answers
        .iter()
        .filter(|a| match &a.answer {
            Ok(_) => false,
            Err(status) => !refusal_allowed(status, &a.wanted),
        })
        .count();
    checks.push(Check::equal(
        &format!("{name}: refusals outside the contract"),
        0,
        outside,
    ));
    checks
}

/// The server's database holds a reservation per winner (besides the
/// `fillers` held before the race) and no seat sold twice.
pub(super) async fn database_checks(
    name: &str,
    database: &ServerDatabase,
    session_id: &str,
    winners: usize,
    fillers: usize,
) -> anyhow::Result<Vec<Check>> {
    Ok(vec![
        Check::equal(
            &format!("{name}: reservations stored = winners"),
            winners as i64,
            database.reservations(session_id).await? - fillers as i64,
        ),
        Check::equal(
            &format!("{name}: seats sold twice"),
            0,
            database.seats_sold_twice(&[session_id.to_owned()]).await?,
        ),
    ])
}

/// ABORTED, or FAILED_PRECONDITION naming only requested seats.
fn refusal_allowed(status: &Status, wanted: &[String]) -> bool {
    match status.code() {
        Code::Aborted => true,
        Code::FailedPrecondition => {
            let named = unavailable_seats(status);
            !named.is_empty() && named.iter().all(|label| wanted.contains(label))
        }
        _ => false,
    }
}

/// The seats a refusal names as SEAT_UNAVAILABLE.
pub(super) fn unavailable_seats(status: &Status) -> Vec<String> {
    status
        .get_details_precondition_failure()
        .map(|failure| {
            failure
                .violations
                .into_iter()
                .filter(|v| v.r#type == "SEAT_UNAVAILABLE")
                .map(|v| v.subject)
                .collect()
        })
        .unwrap_or_default()
}
