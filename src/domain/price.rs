//! Money: a session's price per seat kind, ticket types (half price by
//! law for students and seniors), and the price of each seat of a hold,
//! fixed when the seats are held.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{FieldViolation, SeatLabel, layout::SeatKind};

/// The most a seat may cost, in cents.
pub const MAX_PRICE_CENTS: i64 = 100_000_000;

/// Who a ticket is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum TicketType {
    #[default]
    Full,
    /// Half the seat's price, rounded up to the cent (meia-entrada).
    Half,
}

impl TicketType {
    /// What a seat priced `seat_price` costs with this ticket.
    pub fn price(self, seat_price: i64) -> i64 {
        match self {
            Self::Full => seat_price,
            Self::Half => seat_price - seat_price / 2,
        }
    }
}

/// A price as the client gave it; `kind` is `None` when it named no kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindPrice {
    pub kind: Option<SeatKind>,
    pub price_cents: i64,
}

/// The price of every seat kind of a session's room.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceList(BTreeMap<SeatKind, i64>);

impl PriceList {
    pub fn get(&self, kind: SeatKind) -> Option<i64> {
        self.0.get(&kind).copied()
    }

    /// By kind.
    pub fn iter(&self) -> impl Iterator<Item = (SeatKind, i64)> + '_ {
        self.0.iter().map(|(kind, price)| (*kind, *price))
    }

    /// The session's headline price: STANDARD's, else the lowest.
    pub fn headline(&self) -> i64 {
        self.get(SeatKind::Standard)
            .or_else(|| self.0.values().min().copied())
            .unwrap_or(0)
    }
}

impl FromIterator<(SeatKind, i64)> for PriceList {
    fn from_iter<I: IntoIterator<Item = (SeatKind, i64)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// The price list of a room with seats of `kinds`, from the prices given
/// and the old single `price_cents` (STANDARD's price when `given` has
/// none). WHEELCHAIR and COMPANION cost STANDARD's price unless given.
pub fn price_list(
    kinds: &BTreeSet<SeatKind>,
    given: &[KindPrice],
    price_cents: i64,
) -> Result<PriceList, Vec<FieldViolation>> {
    let mut problems = Vec::new();
    let mut listed = BTreeMap::new();
    for (i, price) in given.iter().enumerate() {
        match price.kind {
            None => problems.push(FieldViolation::new(
                format!("prices[{i}].kind"),
                "must be a seat kind, such as SEAT_KIND_STANDARD",
            )),
            Some(kind) if listed.contains_key(&kind) => problems.push(FieldViolation::new(
                format!("prices[{i}].kind"),
                format!("repeats {kind}"),
            )),
            Some(kind) if !kinds.contains(&kind) => problems.push(FieldViolation::new(
                format!("prices[{i}].kind"),
                format!("the room has no {kind} seats"),
            )),
            Some(kind) => {
                listed.insert(kind, price.price_cents);
            }
        }
        if !(1..=MAX_PRICE_CENTS).contains(&price.price_cents) {
            problems.push(FieldViolation::new(
                format!("prices[{i}].price_cents"),
                format!("must be greater than 0 and at most {MAX_PRICE_CENTS}"),
            ));
        }
    }
    let standard = listed.get(&SeatKind::Standard).copied();
    let price_cents_ok = (0..=MAX_PRICE_CENTS).contains(&price_cents);
    if !price_cents_ok || (given.is_empty() && price_cents == 0) {
        problems.push(FieldViolation::new(
            "price_cents",
            format!("must be greater than 0 and at most {MAX_PRICE_CENTS}"),
        ));
    } else if standard.is_some_and(|s| price_cents != 0 && price_cents != s) {
        problems.push(FieldViolation::new(
            "price_cents",
            "differs from the STANDARD price in prices; give one or make them agree",
        ));
    }
    // A bad `price_cents` is named already; the kinds it prices need no second word.
    let standard_named = problems.iter().any(|p| p.field == "price_cents");
    let standard = standard.or((price_cents > 0).then_some(price_cents));
    let mut list = BTreeMap::new();
    for &kind in kinds {
        let priced_as_standard = matches!(
            kind,
            SeatKind::Standard | SeatKind::Wheelchair | SeatKind::Companion
        );
        let price = listed
            .get(&kind)
            .copied()
            .or(standard.filter(|_| priced_as_standard));
        match price {
            Some(price) => {
                list.insert(kind, price);
            }
            None if standard_named && priced_as_standard => {}
            None => problems.push(FieldViolation::new(
                "prices",
                format!("the room has {kind} seats: give SEAT_KIND_{kind} a price"),
            )),
        }
    }
    if problems.is_empty() {
        Ok(PriceList(list))
    } else {
        Err(problems)
    }
}

/// One seat of a hold, priced at hold time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservedSeat {
    pub label: String,
    pub kind: SeatKind,
    pub ticket_type: TicketType,
    pub price_cents: i64,
}

/// The sum of the seats' prices.
pub fn total(seats: &[ReservedSeat]) -> i64 {
    seats.iter().map(|seat| seat.price_cents).sum()
}

/// What a hold needs to know of one seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatTerms {
    pub kind: SeatKind,
    /// FULL price.
    pub price_cents: i64,
    /// The other half of a couple seat.
    pub pair: Option<SeatLabel>,
}

/// What a hold needs to know of its session: its currency and every seat
/// with its kind, price and pair. A published session never changes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTerms {
    pub currency: String,
    pub seats: HashMap<SeatLabel, SeatTerms>,
}

impl SessionTerms {
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
        Ok(seats
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
            .collect())
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
    use crate::arbitrary;

    fn kinds(list: &[SeatKind]) -> BTreeSet<SeatKind> {
        list.iter().copied().collect()
    }

    fn given(list: &[(SeatKind, i64)]) -> Vec<KindPrice> {
        list.iter()
            .map(|&(kind, price_cents)| KindPrice {
                kind: Some(kind),
                price_cents,
            })
            .collect()
    }

    fn fields(problems: Vec<FieldViolation>) -> Vec<String> {
        problems.into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn half_price_rounds_up_to_the_cent() {
        assert_eq!(TicketType::Half.price(2500), 1250);
        assert_eq!(TicketType::Half.price(2501), 1251);
        assert_eq!(TicketType::Half.price(1), 1);
        assert_eq!(TicketType::Full.price(2501), 2501);
    }

    #[test]
    fn wheelchair_and_companion_default_to_standard() {
        use SeatKind::*;
        let list = price_list(
            &kinds(&[Standard, Premium, Wheelchair, Companion, Couple]),
            &given(&[(Premium, 4000), (Couple, 3000), (Companion, 1000)]),
            2500,
        )
        .unwrap();
        let prices: Vec<(SeatKind, i64)> = list.iter().collect();
        assert_eq!(
            prices,
            [
                (Standard, 2500),
                (Premium, 4000),
                (Wheelchair, 2500),
                (Companion, 1000),
                (Couple, 3000)
            ]
        );
        assert_eq!(list.headline(), 2500);
    }

    #[test]
    fn the_old_single_price_is_the_standard_price() {
        let list = price_list(&kinds(&[SeatKind::Standard]), &[], 1800).unwrap();
        assert_eq!(list.get(SeatKind::Standard), Some(1800));
        assert_eq!(
            fields(price_list(&kinds(&[SeatKind::Standard]), &[], 0).unwrap_err()),
            ["price_cents"]
        );
    }

    #[test]
    fn a_missing_price_names_its_kind() {
        use SeatKind::*;
        let problems =
            price_list(&kinds(&[Standard, Premium, Couple]), &given(&[(Standard, 2000)]), 0)
                .unwrap_err();
        let descriptions: Vec<String> = problems.into_iter().map(|p| p.description).collect();
        assert_eq!(
            descriptions,
            [
                "the room has PREMIUM seats: give SEAT_KIND_PREMIUM a price",
                "the room has COUPLE seats: give SEAT_KIND_COUPLE a price"
            ]
        );
    }

    #[test]
    fn bad_prices_are_each_named() {
        use SeatKind::*;
        let list = [
            KindPrice {
                kind: None,
                price_cents: 100,
            },
            KindPrice {
                kind: Some(Premium),
                price_cents: 0,
            },
            KindPrice {
                kind: Some(Premium),
                price_cents: 100,
            },
            KindPrice {
                kind: Some(Couple),
                price_cents: 100,
            },
            KindPrice {
                kind: Some(Standard),
                price_cents: 900,
            },
        ];
        assert_eq!(
            fields(price_list(&kinds(&[Standard, Premium]), &list, 1000).unwrap_err()),
            [
                "prices[0].kind",
                "prices[1].price_cents",
                "prices[2].kind",
                "prices[3].kind",
                "price_cents"
            ]
        );
    }

    fn label(text: &str) -> SeatLabel {
        text.parse().unwrap()
    }

    fn terms() -> SessionTerms {
        let seat = |kind, price_cents, pair: Option<&str>| SeatTerms {
            kind,
            price_cents,
            pair: pair.map(label),
        };
        SessionTerms {
            currency: "BRL".into(),
            seats: HashMap::from([
                (label("A1"), seat(SeatKind::Standard, 2501, None)),
                (label("A2"), seat(SeatKind::Premium, 4000, None)),
                (label("B1"), seat(SeatKind::Couple, 3000, Some("B2"))),
                (label("B2"), seat(SeatKind::Couple, 3000, Some("B1"))),
            ]),
        }
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

        #[test]
        fn a_half_ticket_costs_half_rounded_up(price in 1i64..=MAX_PRICE_CENTS) {
            let half = TicketType::Half.price(price);
            prop_assert!(half * 2 == price || half * 2 == price + 1);
        }
    }
}
