//! Stranding and best blocks on hand-made maps, and against brute force on
//! arbitrary ones.

use proptest::prelude::*;

use super::*;
use crate::{arbitrary, domain::labels::RowLabel};

/// A map drawn as rows from the screen back: `S` a free seat, `X` a taken
/// one, `L`/`R` the free halves of a couple seat, `_` a gap. Seats are
/// numbered from 1 left to right, gaps skipped.
struct Map {
    runs: Runs,
    free: HashSet<SeatLabel>,
    pairs: HashMap<SeatLabel, SeatLabel>,
}

fn map(rows: &[&str]) -> Map {
    let mut seats = Vec::new();
    let mut free = HashSet::new();
    let mut pairs = HashMap::new();
    for (y, row) in rows.iter().enumerate() {
        let label = RowLabel::nth(y as u32).unwrap();
        let mut number = 0;
        for (x, c) in row.chars().enumerate() {
            if c == '_' {
                continue;
            }
            number += 1;
            let seat = SeatLabel::new(label, number);
            seats.push((seat, x as u32, y as u32));
            if c != 'X' {
                free.insert(seat);
            }
            match c {
                'L' => pairs.insert(seat, SeatLabel::new(label, number + 1)),
                'R' => pairs.insert(seat, SeatLabel::new(label, number - 1)),
                _ => None,
            };
        }
    }
    Map {
        runs: Runs::new(seats),
        free,
        pairs,
    }
}

fn labels(seats: &[SeatLabel]) -> Vec<String> {
    seats.iter().map(ToString::to_string).collect()
}

fn seats(text: &[&str]) -> Vec<SeatLabel> {
    text.iter().map(|t| t.parse().unwrap()).collect()
}

impl Map {
    fn best(&self, quantity: usize) -> Vec<(Vec<String>, bool)> {
        self.runs
            .best_blocks(
                &self.free,
                quantity,
                |_| true,
                |s| self.pairs.get(s).copied(),
            )
            .into_iter()
            .map(|b| (labels(&b.seats), b.strands))
            .collect()
    }
}

#[test]
fn a_seat_between_two_taken_ones_is_stranded_but_not_beside_an_aisle_or_row_end() {
    let m = map(&["SXSSXS_S"]);
    // A3 would sit between X (A2) and the new hold: stranded.
    assert_eq!(
        labels(&m.runs.newly_stranded(&m.free, &seats(&["A4"]))),
        ["A3"]
    );
    // A6 is next to the aisle; A1 next to the row end.
    assert!(m.runs.newly_stranded(&m.free, &seats(&["A7"])).is_empty());
    assert!(m.runs.newly_stranded(&m.free, &seats(&["A6"])).is_empty());
    // Filling a gap never strands.
    let gap = map(&["SXSX"]);
    assert!(
        gap.runs
            .newly_stranded(&gap.free, &seats(&["A3"]))
            .is_empty()
    );
    // A seat stranded already is not stranded anew.
    let already = map(&["XSXSS"]);
    assert!(
        already
            .runs
            .newly_stranded(&already.free, &seats(&["A4"]))
            .is_empty()
    );
    assert_eq!(
        labels(&already.runs.newly_stranded(&already.free, &seats(&["A5"]))),
        ["A4"]
    );
}

#[test]
fn the_best_block_is_nearest_the_sweet_spot_two_thirds_back() {
    // Four rows: the sweet spot is row C (two thirds of 3), centre column.
    let m = map(&["SSSSSSSS", "SSSSSSSS", "SSSSSSSS", "SSSSSSSS"]);
    let best = m.best(2);
    assert_eq!(best[0], (vec!["C4".into(), "C5".into()], false));
    // Then the same distance: ties go to the row nearer the sweet spot.
    assert_eq!(best[1].0, ["C3", "C4"]);
    assert_eq!(best[2].0, ["C5", "C6"]);
}

#[test]
fn a_block_that_strands_a_seat_comes_after_every_block_that_does_not() {
    // The naive centre block A4+A5 of `__XX______`-style row would leave
    // A3 alone... here: taken A3 A4; the centre pair A5 A6 strands nothing,
    // but A6 A7 would strand A5.
    let m = map(&["SSXXSSSSSS"]);
    let best = m.best(2);
    assert_eq!(best[0], (vec!["A5".into(), "A6".into()], false));
    assert!(best.iter().skip_while(|(_, s)| !s).all(|(_, s)| *s));
    let stranding: Vec<Vec<String>> = best
        .iter()
        .filter(|(_, s)| *s)
        .map(|(b, _)| b.clone())
        .collect();
    assert!(stranding.contains(&vec!["A6".into(), "A7".into()]));
    // Only stranding blocks left: they are still offered, last.
    let tight = map(&["SXSSSXS"]);
    assert!(tight.best(2).iter().all(|(_, strands)| *strands));
}

#[test]
fn blocks_never_cross_an_aisle_nor_split_a_couple_seat() {
    let m = map(&["SS_SS", "LRLR"]);
    let threes: Vec<Vec<String>> = m.best(3).into_iter().map(|(b, _)| b).collect();
    assert!(threes.is_empty(), "{threes:?}");
    let pairs: Vec<Vec<String>> = m.best(2).into_iter().map(|(b, _)| b).collect();
    assert!(pairs.contains(&vec!["B1".into(), "B2".into()]));
    assert!(
        !pairs.contains(&vec!["B2".into(), "B3".into()]),
        "splits two couple seats"
    );
    assert!(
        !pairs.contains(&vec!["A2".into(), "A3".into()]),
        "crosses the aisle"
    );
}

/// Brute force: every window of `quantity` seats with consecutive columns
/// in one row, all free and no couple split, with its rank computed again.
fn brute_best(m: &Map, quantity: usize) -> Option<(bool, i64)> {
    let all: Vec<(SeatLabel, u32, u32)> = m
        .runs
        .places
        .iter()
        .map(|(label, place)| (*label, place.x, place.y))
        .collect();
    let min_x = all.iter().map(|s| s.1).min()? as i64;
    let max_x = all.iter().map(|s| s.1).max()? as i64;
    // The back row is the last row with a seat.
    let back = all.iter().map(|s| s.2).max()? as i64;
    let mut best: Option<(bool, i64)> = None;
    for &(first, x0, y) in &all {
        let block: Vec<SeatLabel> = (0..quantity as u32)
            .filter_map(|i| all.iter().find(|s| s.2 == y && s.1 == x0 + i).map(|s| s.0))
            .collect();
        let _ = first;
        let fits = block.len() == quantity
            && block.iter().all(|s| m.free.contains(s))
            && block
                .iter()
                .all(|s| m.pairs.get(s).is_none_or(|p| block.contains(p)));
        if !fits {
            continue;
        }
        let strands = !m.runs.newly_stranded(&m.free, &block).is_empty();
        let cx = (2 * x0 as i64 + quantity as i64 - 1) as f64 / 2.0;
        let dx = cx - (min_x + max_x) as f64 / 2.0;
        let dy = y as f64 - back as f64 * 2.0 / 3.0;
        let distance = ((dx * dx + dy * dy) * 36.0).round() as i64;
        let candidate = (strands, distance);
        if best.is_none_or(|b| candidate < b) {
            best = Some(candidate);
        }
    }
    best
}

proptest! {
    #![proptest_config(arbitrary::config())]

    #[test]
    fn the_best_block_is_never_worse_than_any_free_block(
        rows in prop::collection::vec(
            prop::collection::vec(prop_oneof![4 => Just('S'), 3 => Just('X'), 1 => Just('_'), 1 => Just('L')], 1..14),
            1..6,
        ),
        quantity in 1usize..5,
    ) {
        // `L` stands for a couple seat: it becomes `LR`.
        let rows: Vec<String> = rows
            .iter()
            .map(|row| row.iter().map(|c| if *c == 'L' { "LR".to_owned() } else { c.to_string() }).collect())
            .collect();
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        let m = map(&rows);
        let best = m.runs.best_blocks(&m.free, quantity, |_| true, |s| m.pairs.get(s).copied());
        let expected = brute_best(&m, quantity);
        match (best.first(), expected) {
            (None, None) => {}
            (Some(block), Some((strands, distance))) => {
                let rank = m.runs.rank(block);
                prop_assert_eq!((rank.0, rank.1), (strands, distance), "{:?} on {:?}", labels(&block.seats), rows);
                // Never stranding when a block that strands none exists.
                prop_assert!(!block.strands || best.iter().all(|b| b.strands));
            }
            (got, want) => prop_assert!(false, "got {:?}, brute force {:?} on {:?}", got, want, rows),
        }
    }
}
