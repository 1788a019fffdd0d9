//! ReserveBestAvailable: the best free block of adjacent seats, chosen and
//! held in one step against every other instance.

use std::collections::{BTreeSet, HashMap, HashSet};

use uuid::Uuid;

use super::{
    Booking,
    idempotency::{Operation, Request},
    reserve::Gaps,
};
use crate::{
    domain::{
        Caller, Error, FieldViolation, Reservation, Result, Rule, SeatKind, SeatLabel,
        SessionState, TicketType,
    },
    store,
};

/// Each round reads the map once and tries its blocks best first. A block
/// someone else is taking or has taken costs one Redis round trip to pass
/// over, so a crowd asking at once spreads over the blocks instead of all
/// queueing for the best one.
const BLOCKS_PER_ROUND: usize = 2_000;
/// Rounds before giving up (ABORTED): a block that became stranding, or
/// seats freed meanwhile, need a fresh read; only a crowd taking seats
/// faster than this caller can read the map makes it try that often.
const ROUNDS: usize = 5;

/// A request for the best adjacent seats, its fields checked.
pub struct BestAvailable {
    pub session_id: Uuid,
    pub party: Party,
    pub request_id: Option<Uuid>,
}

impl BestAvailable {
    /// The kinds best available chooses from when the request names none.
    pub const DEFAULT_KINDS: [SeatKind; 3] =
        [SeatKind::Standard, SeatKind::Premium, SeatKind::Couple];

    fn fingerprint(&self) -> String {
        let party = &self.party;
        let kinds: Vec<String> = party.kinds.iter().map(ToString::to_string).collect();
        format!(
            "{}:best:{}:{}:half={}",
            self.session_id,
            party.quantity,
            kinds.join(","),
            party.half
        )
    }
}

/// What a best-available request asks for: how many seats, of which
/// kinds, how many HALF tickets.
pub struct Party {
    pub quantity: usize,
    pub kinds: BTreeSet<SeatKind>,
    pub half: usize,
}

impl Booking {
    /// Checks a party against the seat limit, naming every bad field; an
    /// unknown kind arrives as `None`, no kind at all means the default ones.
    pub fn party(&self, quantity: u32, kinds: &[Option<SeatKind>], half: u32) -> Result<Party> {
        let mut problems = Vec::new();
        let quantity = quantity as usize;
        if !(1..=self.max_seats).contains(&quantity) {
            problems.push(FieldViolation::new(
                "quantity",
                format!("must be from 1 to {}", self.max_seats),
            ));
        }
        for (i, kind) in kinds.iter().enumerate() {
            if kind.is_none() {
                problems.push(FieldViolation::new(
                    format!("kinds[{i}]"),
                    "must be a seat kind, such as SEAT_KIND_STANDARD",
                ));
            }
        }
        let half = half as usize;
        if half > quantity {
            problems.push(FieldViolation::new(
                "half_price_quantity",
                "must be at most quantity",
            ));
        }
        if !problems.is_empty() {
            return Err(Error::InvalidArgument(problems));
        }
        let kinds: BTreeSet<SeatKind> = if kinds.is_empty() {
            BestAvailable::DEFAULT_KINDS.into()
        } else {
            kinds.iter().flatten().copied().collect()
        };
        Ok(Party {
            quantity,
            kinds,
            half,
        })
    }

    /// Holds the best free block of `quantity` adjacent seats for the caller.
    pub async fn reserve_best(
        &self,
        caller: &Caller,
        request: BestAvailable,
    ) -> Result<Reservation> {
        let fingerprint = request.fingerprint();
        let retry = request.request_id.map(|request_id| Request {
            caller,
            request_id,
            operation: Operation::ReserveBest,
            fingerprint: &fingerprint,
        });
        if let Some(retry) = &retry
            && let Some(earlier) = retry.replay(&self.db).await?
        {
            return self.get_reservation(caller, earlier).await;
        }
        let terms = self.terms.get(&self.db, request.session_id).await?;
        if terms.starts_at <= chrono::Utc::now() {
            return Err(Error::refused(Rule::SessionStarted, request.session_id));
        }
        let accept = |seat: &SeatLabel| {
            terms
                .seats
                .get(seat)
                .is_some_and(|s| request.party.kinds.contains(&s.kind))
        };
        let pair = |seat: &SeatLabel| terms.seats.get(seat).and_then(|s| s.pair);
        for _ in 0..ROUNDS {
            let free: HashSet<SeatLabel> = store::seats::available(&self.db, request.session_id)
                .await?
                .iter()
                .filter_map(|label| label.parse().ok())
                .collect();
            let blocks = terms
                .runs
                .best_blocks(&free, request.party.quantity, accept, pair);
            let Some(first) = blocks.first() else {
                return Err(self.no_block(request.session_id).await);
            };
            // Only when no block strands none may the hold strand a seat.
            let gaps = if first.strands {
                Gaps::Allow
            } else {
                Gaps::Refuse
            };
            for block in blocks.iter().take(BLOCKS_PER_ROUND) {
                let half: HashMap<SeatLabel, TicketType> = block
                    .seats
                    .iter()
                    .take(request.party.half)
                    .map(|seat| (*seat, TicketType::Half))
                    .collect();
                let seats = terms.priced(&block.seats, &half);
                let held = self
                    .hold(
                        caller,
                        request.session_id,
                        &seats,
                        &terms,
                        gaps,
                        retry.as_ref(),
                    )
                    .await;
                match held {
                    Ok(held) => return self.finish_hold(caller, held).await,
                    // Someone else took part of it first: the next block.
                    Err(
                        Error::Contended
                        | Error::SeatsUnavailable(_)
                        | Error::Refused {
                            rule: Rule::SingleSeatGap,
                            ..
                        },
                    ) => {}
                    Err(other) => return Err(other),
                }
            }
        }
        Err(Error::Contended)
    }

    /// Why no block was found: the session was cancelled (none of its seats
    /// is on sale), or not enough adjacent seats are free.
    async fn no_block(&self, session_id: Uuid) -> Error {
        match store::sessions::state(&self.db, session_id).await {
            Ok(Some(SessionState::Cancelled)) => Error::refused(Rule::SessionCancelled, session_id),
            Ok(_) => Error::refused(Rule::NotEnoughAdjacentSeats, session_id),
            Err(err) => err,
        }
    }
}
