//! Money: a session's price per seat kind, ticket types (half price by
//! law for students and seniors), and the seats of a hold with the price
//! each was held at.

use std::collections::{BTreeMap, BTreeSet};

use super::{FieldViolation, layout::SeatKind};

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
        let problems = price_list(
            &kinds(&[Standard, Premium, Couple]),
            &given(&[(Standard, 2000)]),
            0,
        )
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

    proptest! {
        #![proptest_config(arbitrary::config())]

        #[test]
        fn a_half_ticket_costs_half_rounded_up(price in 1i64..=MAX_PRICE_CENTS) {
            let half = TicketType::Half.price(price);
            prop_assert!(half * 2 == price || half * 2 == price + 1);
        }
    }
}
