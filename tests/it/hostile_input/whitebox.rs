// To move next to the code under src/ (#[cfg(test)])
//
// Properties of library internals, checked directly rather than through a
// server: seat labels, page tokens, the authenticator, id and timestamp
// conversion, session validation, payment references, and decoding
// arbitrary bytes as every request type. They belong with the code they
// test, as unit tests; until they move there they run here. The strategies
// they draw from are in `strategies.rs`.

use cinema::{
    api::convert,
    auth::Authenticator,
    booking::{self, labels, parse_payment_reference},
    catalog::{self, NewSession, layout::SeatLabel},
    config::Secret,
    error::Error,
    paging::{self, PageTokens},
    proto::v1::{
        CancelReservationRequest, ConfirmPaymentRequest, CreateSessionRequest,
        GetReservationRequest, GetSeatMapRequest, GetSessionRequest, GetSessionSalesRequest,
        ListPurchasesRequest, ListSessionsRequest, ReserveSeatsRequest, WatchSeatMapRequest,
    },
};
use proptest::prelude::*;
use prost::Message;
use uuid::Uuid;

use super::strategies::{config, id_text, label_texts, text};
use crate::support::SECRET;

fn tokens() -> PageTokens {
    PageTokens::new(&Secret::new(SECRET))
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn seat_labels_parse_or_name_each_bad_one(raw in label_texts(), max in 1usize..12) {
        match booking::parse_labels(&raw, max) {
            Ok(parsed) => {
                prop_assert!(!parsed.is_empty() && parsed.len() <= max && parsed.len() == raw.len());
                prop_assert!(parsed.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
            }
            Err(problems) => {
                prop_assert!(!problems.is_empty());
                for problem in problems {
                    let field = problem.field.as_str();
                    let indexed = field
                        .strip_prefix("seat_labels[")
                        .and_then(|rest| rest.strip_suffix(']'))
                        .and_then(|i| i.parse::<usize>().ok());
                    prop_assert!(field == "seat_labels" || indexed.is_some_and(|i| i < raw.len()), "{field}");
                }
            }
        }
    }

    #[test]
    fn labels_outside_any_room_are_named(raw in label_texts(), rows in any::<i32>(), per_row in any::<i32>()) {
        if let Err(problems) = labels::check_in_room(&raw, rows, per_row) {
            prop_assert!(problems.len() <= raw.len());
        }
    }

    #[test]
    fn a_seat_label_reads_back_as_written(text in text()) {
        if let Ok(label) = text.trim().parse::<SeatLabel>() {
            prop_assert_eq!(label.to_string().parse::<SeatLabel>().ok(), Some(label));
            prop_assert!(label.fits(26, 50) || label.number() > 50 || label.number() == 0);
        }
    }

    #[test]
    fn only_a_token_of_the_listing_opens_a_page(token in text(), scope in text()) {
        let decoded = tokens().decode::<(chrono::DateTime<chrono::Utc>, Uuid)>(&scope, &token);
        if token.is_empty() {
            prop_assert!(matches!(decoded, Ok(None)));
        } else {
            prop_assert!(matches!(decoded, Err(Error::InvalidArgument(_))));
        }
    }

    #[test]
    fn an_edited_page_token_is_refused(at in any::<i64>(), id in any::<u128>(), position in any::<usize>(), flip in 1u8..) {
        let tokens = tokens();
        let cursor = (at, Uuid::from_u128(id));
        let token = tokens.encode("sessions", &cursor);
        let mut bytes = token.clone().into_bytes();
        let i = position % bytes.len();
        bytes[i] ^= flip;
        let edited = String::from_utf8_lossy(&bytes).into_owned();
        prop_assume!(edited != token);
        let decoded = tokens.decode::<(i64, Uuid)>("sessions", &edited);
        prop_assert!(matches!(decoded, Err(Error::InvalidArgument(_))), "{edited} gave {decoded:?}");
        prop_assert!(tokens.decode::<(i64, Uuid)>("purchases:eve", &token).is_err());
    }

    #[test]
    fn page_sizes_are_bounded(size in any::<i32>()) {
        match paging::page_size(size) {
            Ok(n) => prop_assert!(size >= 0 && (1..=100).contains(&n)),
            Err(err) => prop_assert!(size < 0 && matches!(err, Error::InvalidArgument(_))),
        }
    }

    #[test]
    fn no_made_up_authorization_gets_in(header in text(), token in text()) {
        let auth = Authenticator::new(&Secret::new(SECRET));
        for header in [header, format!("Bearer {token}"), format!("Bearer {token}.{token}.{token}")] {
            prop_assert!(matches!(auth.verify(Some(&header)), Err(Error::Unauthenticated(_))), "{header}");
        }
    }

    #[test]
    fn ids_are_uuids_or_invalid(text in id_text()) {
        let valid = Uuid::try_parse(text.trim()).is_ok();
        match convert::parse_id("session_id", &text) {
            Ok(_) => prop_assert!(valid),
            Err(err) => prop_assert!(!valid && matches!(err, Error::InvalidArgument(_))),
        }
        let optional = convert::parse_optional_id("request_id", &text);
        prop_assert_eq!(optional.is_ok(), valid || text.trim().is_empty());
    }

    #[test]
    fn any_timestamp_converts_or_is_missing(seconds in any::<i64>(), nanos in any::<i32>()) {
        let converted = convert::datetime(Some(prost_types::Timestamp { seconds, nanos }));
        if let Some(at) = converted {
            prop_assert_eq!(at.timestamp(), seconds);
        }
    }

    #[test]
    fn a_new_session_is_valid_or_each_problem_is_named(
        movie_title in text(), room in text(), seconds in any::<i64>(), price_cents in any::<i64>(),
        currency in text(), rows in any::<u32>(), seats_per_row in any::<u32>(),
    ) {
        let new = NewSession {
            movie_title, room, starts_at: chrono::DateTime::from_timestamp(seconds, 0),
            price_cents, currency, rows, seats_per_row,
        };
        match catalog::validate(new, chrono::Utc::now()) {
            Ok(valid) => {
                prop_assert!((1..=26).contains(&valid.rows) && (1..=50).contains(&valid.seats_per_row));
                prop_assert!(valid.rows * valid.seats_per_row >= 16 && valid.price_cents > 0);
                prop_assert!(valid.currency.len() == 3);
            }
            Err(Error::InvalidArgument(problems)) => {
                const FIELDS: [&str; 7] = ["movie_title", "room", "starts_at", "price_cents", "currency", "rows", "seats_per_row"];
                prop_assert!(!problems.is_empty());
                prop_assert!(problems.iter().all(|p| FIELDS.contains(&p.field.as_str())));
            }
            Err(other) => prop_assert!(false, "{other:?}"),
        }
    }

    #[test]
    fn payment_references_are_trimmed_and_bounded(reference in text()) {
        match parse_payment_reference(&reference) {
            Ok(kept) => prop_assert!(kept == reference.trim() && !kept.is_empty()),
            Err(err) => prop_assert!(matches!(err, Error::InvalidArgument(_))),
        }
    }

    #[test]
    fn any_bytes_decode_or_fail_as_every_request(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        // A decoding failure is an error value, never a panic.
        let _ = ReserveSeatsRequest::decode(bytes.as_slice());
        let _ = ConfirmPaymentRequest::decode(bytes.as_slice());
        let _ = CancelReservationRequest::decode(bytes.as_slice());
        let _ = GetReservationRequest::decode(bytes.as_slice());
        let _ = ListPurchasesRequest::decode(bytes.as_slice());
        let _ = CreateSessionRequest::decode(bytes.as_slice());
        let _ = GetSessionRequest::decode(bytes.as_slice());
        let _ = ListSessionsRequest::decode(bytes.as_slice());
        let _ = GetSeatMapRequest::decode(bytes.as_slice());
        let _ = WatchSeatMapRequest::decode(bytes.as_slice());
        let _ = GetSessionSalesRequest::decode(bytes.as_slice());
    }
}
