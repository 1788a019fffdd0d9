//! What the demo publishes: its movies, its rooms with their prices, and
//! the evening's shows, at fixed São Paulo times.

use std::time::Duration;

use chrono::{DateTime, Days, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

use crate::domain::{AgeRating, RowLayout, SeatKind};

/// A movie of the demo's catalogue.
pub struct MovieSpec {
    pub title: &'static str,
    pub minutes: u64,
    pub rating: AgeRating,
    pub synopsis: &'static str,
}

impl MovieSpec {
    pub fn duration(&self) -> Duration {
        Duration::from_secs(self.minutes * 60)
    }
}

/// A room of the demo: its name, its rows from the screen back, and what
/// each of its kinds of seat costs (only kinds it has: a price for a kind
/// the room lacks is refused).
pub struct RoomSpec {
    pub name: &'static str,
    pub rows: &'static [(&'static str, &'static str)],
    /// In cents; a couple seat's price is per half. Wheelchair spaces and
    /// companion seats cost the standard price, which is their default.
    pub prices: &'static [(SeatKind, i64)],
}

impl RoomSpec {
    pub fn rows(&self) -> Vec<RowLayout> {
        self.rows
            .iter()
            .map(|(label, seats)| RowLayout {
                label: (*label).to_owned(),
                seats: (*seats).to_owned(),
            })
            .collect()
    }
}

/// One show of the evening: `MOVIES[movie]` in `ROOMS[room]` at
/// `hour:minute` São Paulo time.
pub struct ShowSpec {
    pub movie: usize,
    pub room: usize,
    pub hour: u32,
    pub minute: u32,
}

pub const MOVIES: [MovieSpec; 2] = [
    MovieSpec {
        title: "Filme X",
        minutes: 110,
        rating: AgeRating::Twelve,
        synopsis: "Four friends plan one last heist on the Avenida Paulista; \
                   everything goes wrong except the getaway.",
    },
    MovieSpec {
        title: "Filme Y",
        minutes: 95,
        rating: AgeRating::L,
        synopsis: "A family drives the coast road from Santos to Paraty, \
                   told by their dog.",
    },
];

pub const ROOMS: [RoomSpec; 2] = [
    // From the screen back: two aisles; wheelchair spaces in row A, each with
    // a companion seat beside it and room to turn; couple seats in row H; a
    // premium back row. 104 seats.
    RoomSpec {
        name: "Sala 1",
        rows: &[
            ("A", "WC__SSSSSS__CW"),
            ("B", "SSS_SSSSSS_SSS"),
            ("C", "SSS_SSSSSS_SSS"),
            ("D", "SSS_SSSSSS_SSS"),
            ("E", "SSS_SSSSSS_SSS"),
            ("F", "SSS_SSSSSS_SSS"),
            ("G", "SSS_SSSSSS_SSS"),
            ("H", "_LR_LRLRLR_LR_"),
            ("I", "PPP_PPPPPP_PPP"),
        ],
        prices: &[
            (SeatKind::Standard, 2500),
            (SeatKind::Premium, 3500),
            (SeatKind::Couple, 3000),
        ],
    },
    // The small room: two aisles, a wheelchair space with its companion seat
    // at each end of row A, a premium back row. 50 seats.
    RoomSpec {
        name: "Sala 2",
        rows: &[
            ("A", "WC_SSSSSS_CW"),
            ("B", "SS_SSSSSS_SS"),
            ("C", "SS_SSSSSS_SS"),
            ("D", "SS_SSSSSS_SS"),
            ("E", "PP_PPPPPP_PP"),
        ],
        prices: &[(SeatKind::Standard, 2200), (SeatKind::Premium, 3000)],
    },
];

/// The evening, in São Paulo time. With the default turnaround (15m) no two
/// shows of a room overlap: Filme X in Sala 1 holds it until 21:05, so the
/// next show there starts 21:30. A turnaround over 40m would make the 21:30
/// show clash with the first (ROOM_BUSY): the demo then says so and stops.
pub const SHOWS: [ShowSpec; 3] = [
    ShowSpec {
        movie: 0,
        room: 0,
        hour: 19,
        minute: 0,
    },
    ShowSpec {
        movie: 1,
        room: 1,
        hour: 19,
        minute: 30,
    },
    ShowSpec {
        movie: 0,
        room: 0,
        hour: 21,
        minute: 30,
    },
];

/// São Paulo: UTC-3 all year since 2019 (no daylight saving time).
pub fn sao_paulo() -> FixedOffset {
    FixedOffset::west_opt(3 * 3600).expect("UTC-3 is a valid offset")
}

/// The São Paulo date whose evening the demo plays: today's, until its
/// first show starts; then tomorrow's, so every show is still to come.
pub fn evening(now: DateTime<Utc>) -> NaiveDate {
    let local = now.with_timezone(&sao_paulo());
    let first = &SHOWS[0];
    let first_start = NaiveTime::from_hms_opt(first.hour, first.minute, 0)
        .expect("the first show's time is a valid time");
    let day = local.date_naive();
    if local.time() >= first_start {
        day + Days::new(1)
    } else {
        day
    }
}

/// When `show` starts on the evening of `day`.
pub fn starts_at(day: NaiveDate, show: &ShowSpec) -> DateTime<Utc> {
    let time =
        NaiveTime::from_hms_opt(show.hour, show.minute, 0).expect("a show's time is a valid time");
    sao_paulo()
        .from_local_datetime(&day.and_time(time))
        .single()
        .expect("a fixed offset has no gaps")
        .with_timezone(&Utc)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::domain::{NewRoom, layout};

    #[test]
    fn the_evening_is_today_until_its_first_show_starts() {
        let morning = "2026-11-22T12:00:00Z".parse().unwrap();
        let day = evening(morning);
        assert_eq!(day.to_string(), "2026-11-22");
        assert_eq!(
            starts_at(day, &SHOWS[0]).to_rfc3339(),
            "2026-11-22T22:00:00+00:00"
        );
        assert_eq!(
            starts_at(day, &SHOWS[2]).to_rfc3339(),
            "2026-11-23T00:30:00+00:00"
        );
        // 19:00 in São Paulo has begun: tomorrow's evening, every show to come.
        let seven_pm = "2026-11-22T22:00:00Z".parse().unwrap();
        assert_eq!(evening(seven_pm).to_string(), "2026-11-23");
        let before_midnight = "2026-11-23T02:59:00Z".parse().unwrap();
        assert_eq!(evening(before_midnight).to_string(), "2026-11-23");
    }

    #[test]
    fn the_rooms_are_valid_and_priced_for_exactly_their_kinds() {
        let mut every_kind = BTreeSet::new();
        for (spec, count) in ROOMS.iter().zip([104, 50]) {
            let room = NewRoom {
                name: spec.name.into(),
                rows: spec.rows(),
            };
            let room = layout::validate_room(room).expect("a valid room");
            let seats = layout::place(&room.rows);
            assert_eq!(seats.len(), count, "{}", spec.name);
            let kinds: BTreeSet<SeatKind> = seats.iter().map(|s| s.kind).collect();
            let priced: BTreeSet<SeatKind> = spec.prices.iter().map(|&(kind, _)| kind).collect();
            let defaulted = BTreeSet::from([SeatKind::Wheelchair, SeatKind::Companion]);
            assert_eq!(
                priced,
                kinds.difference(&defaulted).copied().collect(),
                "{}",
                spec.name
            );
            every_kind.extend(kinds);
        }
        assert_eq!(every_kind, SeatKind::ALL.into_iter().collect());
    }

    #[test]
    fn no_two_shows_of_a_room_overlap_with_the_default_turnaround() {
        let turnaround = Duration::from_secs(15 * 60);
        let day = evening("2026-11-22T12:00:00Z".parse().unwrap());
        for (i, a) in SHOWS.iter().enumerate() {
            for b in &SHOWS[i + 1..] {
                if a.room != b.room {
                    continue;
                }
                let (a_start, b_start) = (starts_at(day, a), starts_at(day, b));
                let a_end = a_start + MOVIES[a.movie].duration() + turnaround;
                let b_end = b_start + MOVIES[b.movie].duration() + turnaround;
                assert!(
                    a_end <= b_start || b_end <= a_start,
                    "{a_start} and {b_start}"
                );
            }
        }
    }
}
