//! The terms of a session, as a hold needs them: every seat with its kind,
//! price and couple partner, and when it starts; pricing the seats of a request with their
//! ticket types, and naming every seat it cannot have.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{
    FieldViolation, SeatLabel,
    layout::SeatKind,
    price::{ReservedSeat, TicketType},
    selection::Runs,
};

/// What a hold needs to know of one seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatTerms {
    pub kind: SeatKind,
    /// FULL price.
    pub price_cents: i64,
    /// The other half of a couple seat.
    pub pair: Option<SeatLabel>,
    /// Column counting gaps, from 0 at the left.
    pub x: u32,
    /// Row from 0 at the screen.
    pub y: u32,
}

/// What a hold needs to know of its session: its currency and every seat
/// with its kind, price and pair. A published session never changes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTerms {
    pub currency: String,
    pub seats: HashMap<SeatLabel, SeatTerms>,
    /// Whether a hold may strand a single seat.
    pub allow_gaps: bool,
    /// The seats as runs side by side, to judge stranding and find blocks.
    pub runs: Runs,
    /// When the session starts: nothing is booked from then on.
    pub starts_at: DateTime<Utc>,
}

impl SessionTerms {
    pub fn new(
        currency: String,
        seats: HashMap<SeatLabel, SeatTerms>,
        allow_gaps: bool,
        starts_at: DateTime<Utc>,
    ) -> Self {
        let runs = Runs::new(seats.iter().map(|(label, seat)| (*label, seat.x, seat.y)));
        Self {
            currency,
            seats,
            allow_gaps,
            runs,
            starts_at,
        }
    }

    /// `seats` (of this session) priced with their ticket types.
    pub fn priced(
        &self,
        seats: &[SeatLabel],
        ticket_types: &HashMap<SeatLabel, TicketType>,
    ) -> Vec<ReservedSeat> {
        seats
            .iter()
            .filter_map(|label| {
                let terms = self.seats.get(label)?;
                let ticket_type = ticket_types.get(label).copied().unwrap_or_default();
                Some(ReservedSeat {
                    label: label.to_string(),
                    kind: terms.kind,
                    ticket_type,
                    price_cents: ticket_type.price(terms.price_cents),
                })
            })
            .collect()
    }

    /// Prices the requested seats (`raw` as sent, `seats` parsed in the
    /// same set) with their ticket types, or names every seat the session
    /// does not have and every couple seat asked for without its other half.
    pub fn price(
        &self,
        raw: &[String],
        seats: &[SeatLabel],
        ticket_types: &HashMap<SeatLabel, TicketType>,
    ) -> Result<Vec<ReservedSeat>, Vec<FieldViolation>> {
        let mut problems = Vec::new();
        for (i, text) in raw.iter().enumerate() {
            let label = text.trim().parse::<SeatLabel>().ok();
            let Some(terms) = label.and_then(|l| self.seats.get(&l)) else {
                problems.push(no_such_seat(i, text));
                continue;
            };
            if let (Some(label), Some(pair)) = (label, terms.pair)
                && !seats.contains(&pair)
            {
                problems.push(FieldViolation::new(
                    format!("seat_labels[{i}]"),
                    format!("{label} and {pair} are one couple seat: reserve both or neither"),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(self.priced(seats, ticket_types))
    }

    /// Names every requested seat the session does not have.
    pub fn check_seats(&self, raw: &[String]) -> Result<(), Vec<FieldViolation>> {
        let problems: Vec<FieldViolation> = raw
            .iter()
            .enumerate()
            .filter(|(_, text)| {
                let label = text.trim().parse::<SeatLabel>().ok();
                !label.is_some_and(|label| self.seats.contains_key(&label))
            })
            .map(|(i, text)| no_such_seat(i, text))
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

fn no_such_seat(index: usize, text: &str) -> FieldViolation {
    FieldViolation::new(
        format!("seat_labels[{index}]"),
        format!("this session has no seat {}", text.trim()),
    )
}

/// The ticket types a request names, keyed by label: every key must be one
/// of the requested seats and every value a ticket type (`None`: the wire
/// value was not one; the UNSPECIFIED value arrives as FULL).
pub fn ticket_types(
    seats: &[SeatLabel],
    raw: &[(String, Option<TicketType>)],
) -> Result<HashMap<SeatLabel, TicketType>, Vec<FieldViolation>> {
    let mut problems = Vec::new();
    let mut types = HashMap::new();
    let mut keys: Vec<&(String, Option<TicketType>)> = raw.iter().collect();
    // A map arrives in any order: name its problems in one.
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, ticket_type) in keys {
        let field = format!("ticket_types[{key}]");
        match key.trim().parse::<SeatLabel>() {
            Ok(label) if seats.contains(&label) => match ticket_type {
                Some(ticket_type) => {
                    types.insert(label, *ticket_type);
                }
                None => problems.push(FieldViolation::new(
                    field,
                    "must be TICKET_TYPE_FULL or TICKET_TYPE_HALF",
                )),
            },
            _ => problems.push(FieldViolation::new(field, "is not one of seat_labels")),
        }
    }
    if problems.is_empty() {
        Ok(types)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{arbitrary, domain::price::total};

    fn fields(problems: Vec<FieldViolation>) -> Vec<String> {
        problems.into_iter().map(|p| p.field).collect()
    }

    fn label(text: &str) -> SeatLabel {
        text.parse().unwrap()
    }

    fn terms() -> SessionTerms {
        let seat = |kind, price_cents, pair: Option<&str>| SeatTerms {
            kind,
            price_cents,
            pair: pair.map(label),
            x: 0,
            y: 0,
        };
        SessionTerms::new(
            "BRL".into(),
            HashMap::from([
                (label("A1"), seat(SeatKind::Standard, 2501, None)),
                (label("A2"), seat(SeatKind::Premium, 4000, None)),
                (label("B1"), seat(SeatKind::Couple, 3000, Some("B2"))),
                (label("B2"), seat(SeatKind::Couple, 3000, Some("B1"))),
            ]),
            false,
            Utc::now(),
        )
    }

    fn strings(labels: &[&str]) -> Vec<String> {
        labels.iter().map(|l| (*l).to_owned()).collect()
    }

    #[test]
    fn seats_are_priced_by_kind_and_ticket_type() {
        let raw = strings(&["A1", "A2", "B1", "B2"]);
        let seats: Vec<SeatLabel> = raw.iter().map(|l| label(l)).collect();
        let types = HashMap::from([(label("A1"), TicketType::Half)]);
        let priced = terms().price(&raw, &seats, &types).unwrap();
        let prices: Vec<i64> = priced.iter().map(|s| s.price_cents).collect();
        assert_eq!(prices, [1251, 4000, 3000, 3000]);
        assert_eq!(total(&priced), 11251);
    }

    #[test]
    fn half_a_couple_seat_or_an_unknown_seat_is_named() {
        let raw = strings(&["B2", "C9", "A1"]);
        let seats = vec![label("A1"), label("B2"), label("C9")];
        let problems = terms().price(&raw, &seats, &HashMap::new()).unwrap_err();
        let named: Vec<(String, String)> = problems
            .into_iter()
            .map(|p| (p.field, p.description))
            .collect();
        assert_eq!(
            named,
            [
                (
                    "seat_labels[0]".into(),
                    "B2 and B1 are one couple seat: reserve both or neither".into()
                ),
                (
                    "seat_labels[1]".into(),
                    "this session has no seat C9".into()
                ),
            ]
        );
    }

    #[test]
    fn ticket_types_must_name_requested_seats() {
        let seats = vec![label("A1"), label("A2")];
        let raw = vec![
            ("A2".to_owned(), Some(TicketType::Half)),
            ("B7".to_owned(), Some(TicketType::Half)),
            ("A1".to_owned(), None),
        ];
        let problems = ticket_types(&seats, &raw).unwrap_err();
        assert_eq!(fields(problems), ["ticket_types[A1]", "ticket_types[B7]"]);
        let ok = ticket_types(&seats, &raw[..1]).unwrap();
        assert_eq!(ok.get(&label("A2")), Some(&TicketType::Half));
    }

    proptest! {
        #![proptest_config(arbitrary::config())]

        #[test]
        fn ticket_maps_are_accepted_only_for_requested_seats(raw in arbitrary::ticket_maps()) {
            let seats = vec![label("A1"), label("B2")];
            let raw: Vec<(String, Option<TicketType>)> = raw
                .into_iter()
                .map(|(key, value)| (key, match value { 0 | 1 => Some(TicketType::Full), 2 => Some(TicketType::Half), _ => None }))
                .collect();
            match ticket_types(&seats, &raw) {
                Ok(types) => prop_assert!(types.keys().all(|l| seats.contains(l))),
                Err(problems) => {
                    prop_assert!(!problems.is_empty() && problems.len() <= raw.len());
                    prop_assert!(problems.iter().all(|p| p.field.starts_with("ticket_types[")));
                }
            }
        }
    }
}
