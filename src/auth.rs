//! Who is calling: HS256 JWTs, as sent in `authorization: Bearer <token>`.
//!
//! `sub` is the user id, `roles` may contain `"admin"` and `"staff"`, `exp`
//! is required.
//! The gRPC auth layer (`grpc::layers::auth`) verifies each call's token
//! once, here; `cinema token` and the tests mint them.

use std::{sync::Arc, time::Duration};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::{
    config::Secret,
    domain::{Caller, Error},
};

/// The role that may publish sessions.
pub const ADMIN_ROLE: &str = "admin";
/// The role of the people at the door, who admit tickets.
pub const STAFF_ROLE: &str = "staff";

/// Tokens longer than this are refused before any parsing.
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// A user id is at most this many characters.
const MAX_USER_ID_LEN: usize = 128;

/// The claims cinema reads and writes.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    roles: Vec<String>,
    exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
}

/// Signs and verifies tokens with the shared secret.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Keys>,
}

struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl Authenticator {
    pub fn new(secret: &Secret) -> Self {
        let bytes = secret.expose().as_bytes();
        // Only HS256: `alg: none` and every other algorithm are refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 5;
        Self {
            inner: Arc::new(Keys {
                encoding: EncodingKey::from_secret(bytes),
                decoding: DecodingKey::from_secret(bytes),
                validation,
            }),
        }
    }

    /// Mints a token for `user_id`, valid for `ttl`.
    pub fn mint(&self, user_id: &str, admin: bool, ttl: Duration) -> Result<String, Error> {
        let roles: &[&str] = if admin { &[ADMIN_ROLE] } else { &[] };
        self.mint_with_roles(user_id, roles, ttl)
    }

    /// Mints a token for `user_id` with these roles, valid for `ttl`.
    pub fn mint_with_roles(
        &self,
        user_id: &str,
        roles: &[&str],
        ttl: Duration,
    ) -> Result<String, Error> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: user_id.to_owned(),
            roles: roles.iter().map(|role| (*role).to_owned()).collect(),
            exp: now.saturating_add(ttl.as_secs()),
            iat: Some(now),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.inner.encoding,
        )
        .map_err(|e| Error::Internal(format!("signing a token: {e}")))
    }

    /// Verifies an `authorization` header value and returns who is calling.
    pub fn verify(&self, authorization: Option<&str>) -> Result<Caller, Error> {
        let header =
            authorization.ok_or(Error::Unauthenticated("missing authorization metadata"))?;
        let token = bearer_token(header).ok_or(Error::Unauthenticated(
            "authorization must be \"Bearer <token>\"",
        ))?;
        if token.len() > MAX_TOKEN_LEN {
            return Err(Error::Unauthenticated("token too long"));
        }
        let claims =
            jsonwebtoken::decode::<Claims>(token, &self.inner.decoding, &self.inner.validation)
                .map_err(|e| match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                        Error::Unauthenticated("token expired")
                    }
                    _ => Error::Unauthenticated("invalid token"),
                })?
                .claims;
        let user_id = claims.sub.trim();
        // The user id is stored as PostgreSQL text, which cannot hold a NUL.
        if user_id.is_empty() || user_id.chars().count() > MAX_USER_ID_LEN || user_id.contains('\0')
        {
            return Err(Error::Unauthenticated(
                "token subject must be 1 to 128 characters, with no NUL character",
            ));
        }
        Ok(Caller {
            user_id: user_id.to_owned(),
            is_admin: claims.roles.iter().any(|r| r == ADMIN_ROLE),
            is_staff: claims.roles.iter().any(|r| r == STAFF_ROLE),
        })
    }
}

fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::arbitrary;

    fn auth(secret: &str) -> Authenticator {
        Authenticator::new(&Secret::new(secret))
    }

    const SECRET: &str = "a-test-secret-that-is-long-enough-for-hs256";

    #[test]
    fn a_minted_token_verifies_with_its_roles() {
        let auth = auth(SECRET);
        let token = auth.mint("alice", true, Duration::from_secs(60)).unwrap();
        let caller = auth.verify(Some(&format!("Bearer {token}"))).unwrap();
        assert_eq!(
            caller,
            Caller {
                user_id: "alice".into(),
                is_admin: true,
                is_staff: false,
            }
        );
        let usher = auth
            .mint_with_roles("usher", &[STAFF_ROLE], Duration::from_secs(60))
            .unwrap();
        let caller = auth.verify(Some(&format!("Bearer {usher}"))).unwrap();
        assert!(caller.is_staff && !caller.is_admin);
        let token = auth.mint("bob", false, Duration::from_secs(60)).unwrap();
        assert!(
            !auth
                .verify(Some(&format!("bearer {token}")))
                .unwrap()
                .is_admin
        );
    }

    #[test]
    fn forged_malformed_and_missing_tokens_are_refused() {
        let token = auth("another-secret-that-is-also-long-enough")
            .mint("eve", true, Duration::from_secs(60))
            .unwrap();
        let auth = auth(SECRET);
        for header in [
            None,
            Some("Bearer".to_owned()),
            Some("Basic abc".to_owned()),
            Some("Bearer not.a.jwt".to_owned()),
            Some(format!("Bearer {token}")),
            Some(format!("Bearer {}", "a".repeat(MAX_TOKEN_LEN + 1))),
        ] {
            assert!(
                matches!(
                    auth.verify(header.as_deref()),
                    Err(Error::Unauthenticated(_))
                ),
                "{header:?} was accepted"
            );
        }
    }

    #[test]
    fn an_unsigned_token_is_refused() {
        // {"alg":"none","typ":"JWT"} . {"sub":"eve","roles":["admin"],"exp":4102444800} .
        let token = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJldmUiLCJyb2xlcyI6WyJhZG1pbiJdLCJleHAiOjQxMDI0NDQ4MDB9.";
        let result = auth(SECRET).verify(Some(&format!("Bearer {token}")));
        assert!(matches!(result, Err(Error::Unauthenticated(_))));
    }

    proptest! {
        #![proptest_config(arbitrary::config())]

        #[test]
        fn no_made_up_authorization_gets_in(header in arbitrary::text(), token in arbitrary::text()) {
            let auth = auth(SECRET);
            for header in [header, format!("Bearer {token}"), format!("Bearer {token}.{token}.{token}")] {
                prop_assert!(matches!(auth.verify(Some(&header)), Err(Error::Unauthenticated(_))), "{header}");
            }
        }
    }
}
