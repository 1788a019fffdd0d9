//! Hostile input for the property tests beside every decoder and validator
//! (and, through the server, in `tests/it/hostile_input`):
//! any text (SQL, control and non-ASCII characters), ids that are sometimes
//! UUIDs, and seat labels that are sometimes valid. `PROPTEST_CASES` scales
//! the number of cases (256 by default).

use proptest::prelude::*;
use uuid::Uuid;

/// Cases per property: `PROPTEST_CASES`, or 256.
pub fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

/// [`cases`] cases per property.
pub fn config() -> ProptestConfig {
    config_with(cases())
}

/// `cases` cases per property; a failing case is shrunk and printed, not saved.
pub fn config_with(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Any text: mostly short, with ASCII, SQL, control and non-ASCII characters.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(
            prop_oneof![
                Just("'".to_owned()),
                Just("; DROP TABLE seats; --".to_owned()),
                Just("\0".to_owned()),
                Just("A1".to_owned()),
                Just(" ".to_owned()),
                Just("🎬".to_owned()),
                Just("ção".to_owned()),
                any::<char>().prop_map(String::from),
                (0u32..30).prop_map(|n| n.to_string()),
                prop::char::range('A', 'Z').prop_map(String::from),
            ],
            0..6
        )
        .prop_map(|parts| parts.concat()),
    ]
}

/// Text that is sometimes a valid UUID.
pub fn id_text() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        any::<u128>().prop_map(|n| Uuid::from_u128(n).to_string()),
        any::<u128>().prop_map(|n| format!(" {} ", Uuid::from_u128(n).simple())),
    ]
}

/// Lists of seat labels, some valid, most not.
pub fn label_texts() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            text(),
            (prop::char::range('A', 'a'), 0u32..60).prop_map(|(r, n)| format!("{r}{n}")),
        ],
        0..14,
    )
}

/// Row patterns: mostly made of layout characters, sometimes anything.
pub fn row_pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(
            prop_oneof![
                Just('S'), Just('P'), Just('W'), Just('C'), Just('_'), Just('L'), Just('R'),
                Just('X'), Just('s'),
            ],
            0..64,
        )
        .prop_map(|cs| cs.into_iter().collect()),
        4 => (1usize..61).prop_map(|n| "S".repeat(n)),
        1 => text(),
    ]
}

/// Room layouts as (row label, pattern), some valid, most not.
pub fn layouts() -> impl Strategy<Value = Vec<(String, String)>> {
    let label = prop_oneof![
        3 => prop::char::range('A', 'Z').prop_map(String::from),
        1 => (prop::char::range('A', 'Z'), prop::char::range('A', 'Z')).prop_map(|(a, b)| format!("{a}{b}")),
        1 => text(),
    ];
    prop::collection::vec((label, row_pattern()), 0..28)
}

/// Ticket-type maps: label keys (some not requested, some not labels) and
/// wire values, some of them not a ticket type.
pub fn ticket_maps() -> impl Strategy<Value = Vec<(String, i32)>> {
    prop::collection::vec(
        (
            prop_oneof![
                text(),
                (prop::char::range('A', 'C'), 1u32..5).prop_map(|(r, n)| format!("{r}{n}")),
            ],
            prop_oneof![Just(0), Just(1), Just(2), any::<i32>()],
        ),
        0..6,
    )
}
