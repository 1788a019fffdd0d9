//! Opaque, tamper-evident page tokens for keyset pagination.
//!
//! A token is the cursor (the sort key of the last item returned) as JSON,
//! followed by an HMAC over it, base64url-encoded. A token that was edited,
//! truncated or made for another listing fails the check: INVALID_ARGUMENT.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::{Serialize, de::DeserializeOwned};
use sha2::Sha256;

use crate::{config::Secret, domain::Error};

const MAC_LEN: usize = 16;
const DEFAULT_PAGE_SIZE: u64 = 50;
const MAX_PAGE_SIZE: u64 = 100;
const MAX_TOKEN_LEN: usize = 1024;

/// Makes and checks page tokens.
#[derive(Clone)]
pub struct PageTokens {
    key: Vec<u8>,
}

impl PageTokens {
    /// Derives the token key from the server secret, so every instance agrees.
    pub fn new(secret: &Secret) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(b"cinema page tokens v1");
        Self {
            key: mac.finalize().into_bytes().to_vec(),
        }
    }

    /// The token for the page after `cursor` in the listing named `scope`.
    pub fn encode<C: Serialize>(&self, scope: &str, cursor: &C) -> String {
        let json = serde_json::to_vec(cursor).expect("cursors serialize");
        let mut bytes = json.clone();
        bytes.extend_from_slice(&self.mac(scope, &json));
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The cursor in `token`, or `None` for an empty token (the first page).
    pub fn decode<C: DeserializeOwned>(
        &self,
        scope: &str,
        token: &str,
    ) -> Result<Option<C>, Error> {
        if token.is_empty() {
            return Ok(None);
        }
        let invalid = || Error::invalid("page_token", "not a page token of this listing");
        if token.len() > MAX_TOKEN_LEN {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
        let split = bytes.len().checked_sub(MAC_LEN).ok_or_else(invalid)?;
        let (json, mac) = bytes.split_at(split);
        if self.mac(scope, json) != mac {
            return Err(invalid());
        }
        serde_json::from_slice(json)
            .map(Some)
            .map_err(|_| invalid())
    }

    /// Ends a page: `items` were fetched as `limit + 1`, and one item more
    /// than the limit means another page follows. Cuts it off and returns the
    /// token for that page (made from the last item kept), or "" at the end.
    pub fn finish_page<T, C: Serialize>(
        &self,
        scope: &str,
        items: &mut Vec<T>,
        limit: u64,
        cursor: impl Fn(&T) -> C,
    ) -> String {
        if items.len() as u64 <= limit {
            return String::new();
        }
        items.truncate(limit as usize);
        items
            .last()
            .map(|last| self.encode(scope, &cursor(last)))
            .unwrap_or_default()
    }

    fn mac(&self, scope: &str, json: &[u8]) -> [u8; MAC_LEN] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(scope.as_bytes());
        mac.update(&[0]);
        mac.update(json);
        let mut out = [0; MAC_LEN];
        out.copy_from_slice(&mac.finalize().into_bytes()[..MAC_LEN]);
        out
    }
}

/// The number of items to return for a requested `page_size`.
pub fn page_size(requested: i32) -> Result<u64, Error> {
    match u64::try_from(requested) {
        Err(_) => Err(Error::invalid("page_size", "must not be negative")),
        Ok(0) => Ok(DEFAULT_PAGE_SIZE),
        Ok(n) => Ok(n.min(MAX_PAGE_SIZE)),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;
    use crate::arbitrary;

    fn tokens() -> PageTokens {
        PageTokens::new(&Secret::new("a-test-secret-that-is-long-enough-for-hs256"))
    }

    #[test]
    fn a_token_round_trips_in_its_own_scope_only() {
        let tokens = tokens();
        let token = tokens.encode("sessions", &(42_i64, "x"));
        assert_eq!(
            tokens.decode::<(i64, String)>("sessions", &token).unwrap(),
            Some((42, "x".into()))
        );
        assert!(tokens.decode::<(i64, String)>("purchases", &token).is_err());
        assert_eq!(
            tokens.decode::<(i64, String)>("sessions", "").unwrap(),
            None
        );
    }

    #[test]
    fn an_edited_token_is_refused() {
        let tokens = tokens();
        let token = tokens.encode("sessions", &(42_i64, "x"));
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        bytes[1] ^= 1;
        for bad in [
            URL_SAFE_NO_PAD.encode(bytes),
            "%%%".into(),
            "AA".into(),
            token[1..].to_owned(),
        ] {
            assert!(
                matches!(
                    tokens.decode::<(i64, String)>("sessions", &bad),
                    Err(Error::InvalidArgument(_))
                ),
                "{bad} was accepted"
            );
        }
    }

    #[test]
    fn a_page_with_one_item_too_many_has_a_next_token() {
        let tokens = tokens();
        let mut full = vec![1_i64, 2, 3];
        let token = tokens.finish_page("n", &mut full, 2, |last| *last);
        assert_eq!(full, [1, 2]);
        assert_eq!(tokens.decode::<i64>("n", &token).unwrap(), Some(2));
        let mut last_page = vec![1_i64, 2];
        assert_eq!(tokens.finish_page("n", &mut last_page, 2, |last| *last), "");
        assert_eq!(last_page, [1, 2]);
    }

    #[test]
    fn page_sizes_default_and_cap() {
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(7).unwrap(), 7);
        assert_eq!(page_size(10_000).unwrap(), MAX_PAGE_SIZE);
        assert!(page_size(-1).is_err());
    }

    proptest! {
        #![proptest_config(arbitrary::config())]

        #[test]
        fn only_a_token_of_the_listing_opens_a_page(token in arbitrary::text(), scope in arbitrary::text()) {
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
            match page_size(size) {
                Ok(n) => prop_assert!(size >= 0 && (1..=100).contains(&n)),
                Err(err) => prop_assert!(size < 0 && matches!(err, Error::InvalidArgument(_))),
            }
        }
    }
}
