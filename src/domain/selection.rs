//! Choosing seats: the rows of a room cut at aisles and gaps into runs of
//! seats side by side; which seats a hold would leave stranded (one
//! AVAILABLE seat between two taken ones); and the best free block of
//! adjacent seats for a party.

use std::collections::{HashMap, HashSet};

use super::SeatLabel;

/// Where a seat is: its run, its position in the run, and its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place {
    run: usize,
    index: usize,
    x: u32,
    y: u32,
}

/// A session's seats as runs: within a row, seats whose columns follow one
/// another with no aisle or gap between; each run left to right.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Runs {
    runs: Vec<Vec<SeatLabel>>,
    places: HashMap<SeatLabel, Place>,
    /// `min x + max x` of the room: twice its horizontal centre.
    centre_x2: i64,
    /// The back row's index.
    back_y: i64,
}

/// A block of adjacent free seats, and whether holding it would strand a seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Left to right.
    pub seats: Vec<SeatLabel>,
    pub strands: bool,
}

impl Runs {
    /// The runs of seats at these places (label, x, y).
    pub fn new(seats: impl IntoIterator<Item = (SeatLabel, u32, u32)>) -> Self {
        let mut seats: Vec<(SeatLabel, u32, u32)> = seats.into_iter().collect();
        seats.sort_by_key(|&(_, x, y)| (y, x));
        let mut runs: Vec<Vec<SeatLabel>> = Vec::new();
        let mut places = HashMap::new();
        let mut previous: Option<(u32, u32)> = None;
        for &(label, x, y) in &seats {
            let continues = previous.is_some_and(|(px, py)| py == y && px + 1 == x);
            if !continues {
                runs.push(Vec::new());
            }
            let run = runs.len() - 1;
            places.insert(
                label,
                Place {
                    run,
                    index: runs[run].len(),
                    x,
                    y,
                },
            );
            runs[run].push(label);
            previous = Some((x, y));
        }
        let xs = seats.iter().map(|&(_, x, _)| i64::from(x));
        let centre_x2 = xs.clone().min().unwrap_or(0) + xs.max().unwrap_or(0);
        let back_y = seats
            .iter()
            .map(|&(_, _, y)| i64::from(y))
            .max()
            .unwrap_or(0);
        Self {
            runs,
            places,
            centre_x2,
            back_y,
        }
    }

    /// The seats within two places of `seats` in their runs (theirs too):
    /// what a hold must lock to judge whether it strands a seat. A seat's
    /// fate depends on it and its two neighbours, and every hold that could
    /// change it locks all three, so such holds run one after the other.
    pub fn around(&self, seats: &[SeatLabel]) -> Vec<SeatLabel> {
        let mut around: Vec<SeatLabel> = seats
            .iter()
            .filter_map(|seat| self.places.get(seat))
            .flat_map(|place| {
                let run = &self.runs[place.run];
                let first = place.index.saturating_sub(2);
                let last = (place.index + 2).min(run.len() - 1);
                run[first..=last].iter().copied()
            })
            .collect();
        around.sort_unstable();
        around.dedup();
        around
    }

    /// The seats that taking `taking` would leave stranded and were not
    /// stranded before, left to right. `free` holds the AVAILABLE seats (at
    /// least those of the runs `taking` is in).
    pub fn newly_stranded(
        &self,
        free: &HashSet<SeatLabel>,
        taking: &[SeatLabel],
    ) -> Vec<SeatLabel> {
        let taken: HashSet<SeatLabel> = taking.iter().copied().collect();
        let free_after = |seat: &SeatLabel| free.contains(seat) && !taken.contains(seat);
        let mut stranded = Vec::new();
        for seat in self.around(taking) {
            if stranded_by(&self.runs, &self.places, seat, &free_after)
                && !stranded_by(&self.runs, &self.places, seat, &|s| free.contains(s))
            {
                stranded.push(seat);
            }
        }
        stranded
    }

    /// Every free block of `quantity` adjacent seats whose seats all pass
    /// `accept` and that splits no couple seat (`pair` names a seat's other
    /// half), best first: blocks that strand no seat, then by the distance
    /// of the block's centre to the sweet spot (the room's horizontal
    /// centre, two thirds of the way from the screen to the back row), then
    /// the row nearer the sweet spot, then the block more to the left.
    pub fn best_blocks(
        &self,
        free: &HashSet<SeatLabel>,
        quantity: usize,
        accept: impl Fn(&SeatLabel) -> bool,
        pair: impl Fn(&SeatLabel) -> Option<SeatLabel>,
    ) -> Vec<Block> {
        let mut ranked = Vec::new();
        if quantity == 0 {
            return Vec::new();
        }
        for run in &self.runs {
            for window in run.windows(quantity) {
                let whole = window.iter().all(|seat| {
                    free.contains(seat)
                        && accept(seat)
                        && pair(seat).is_none_or(|other| window.contains(&other))
                });
                if !whole {
                    continue;
                }
                let block = Block {
                    seats: window.to_vec(),
                    strands: !self.newly_stranded(free, window).is_empty(),
                };
                ranked.push((self.rank(&block), block));
            }
        }
        ranked.sort_by_key(|(rank, _)| *rank);
        ranked.into_iter().map(|(_, block)| block).collect()
    }

    /// Smaller is better: (strands, squared distance x 36, row distance x 3,
    /// leftmost column, row).
    fn rank(&self, block: &Block) -> (bool, i64, i64, u32, u32) {
        let first = self.places[&block.seats[0]];
        let last = self.places[&block.seats[block.seats.len() - 1]];
        // In halves of a column and thirds of a row, so the sums stay whole.
        let dx2 = i64::from(first.x) + i64::from(last.x) - self.centre_x2;
        let dy3 = 3 * i64::from(first.y) - 2 * self.back_y;
        (
            block.strands,
            9 * dx2 * dx2 + 4 * dy3 * dy3,
            dy3.abs(),
            first.x,
            first.y,
        )
    }
}

/// Whether `seat` is free with both direct neighbours in its run taken.
fn stranded_by(
    runs: &[Vec<SeatLabel>],
    places: &HashMap<SeatLabel, Place>,
    seat: SeatLabel,
    free: &dyn Fn(&SeatLabel) -> bool,
) -> bool {
    let Some(place) = places.get(&seat) else {
        return false;
    };
    let run = &runs[place.run];
    let (Some(left), Some(right)) = (
        place.index.checked_sub(1).and_then(|i| run.get(i)),
        run.get(place.index + 1),
    ) else {
        return false;
    };
    free(&seat) && !free(left) && !free(right)
}

#[cfg(test)]
mod tests;
