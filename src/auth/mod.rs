//! Who is calling: JWTs, as sent in `authorization: Bearer <token>`.
//!
//! Two kinds of token, and a rule that keeps them apart:
//! - `alg: HS256` tokens are checked with the shared secret
//!   (`CINEMA_JWT_SECRET`) and nothing else; `cinema token` mints them.
//! - `alg: RS256`, `ES256` and `EdDSA` tokens are checked only with the
//!   identity provider's key named by their `kid` in the JWKS ([`jwks`]);
//!   that key's type (and curve) must be the algorithm's, and its own `alg`,
//!   when the JWK has one, must equal the header's.
//!
//! Every other algorithm (`none` included) is refused, as is an asymmetric
//! token without a `kid` or when no JWKS is configured. For every token,
//! `sub` is the user id, `exp` is required, `iss`/`aud` must match when
//! configured, and the roles array (`"admin"`, `"staff"`) is read at a
//! configurable dot path (`roles` by default, `realm_access.roles` for
//! Keycloak). The gRPC auth layer (`grpc::layers::auth`) verifies each
//! call's token once, here.

mod fetch;
pub mod jwks;
#[cfg(test)]
mod rules_tests;

use std::{sync::Arc, time::Duration};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;

use crate::{
    config::{IdentitySettings, Secret},
    domain::{Caller, Error},
};

pub use jwks::KeyStore;

/// The role that may publish sessions.
pub const ADMIN_ROLE: &str = "admin";
/// The role of the people at the door, who admit tickets.
pub const STAFF_ROLE: &str = "staff";

/// Tokens longer than this are refused before any parsing.
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// A user id is at most this many characters.
const MAX_USER_ID_LEN: usize = 128;

/// The claims `cinema token` writes.
#[derive(Debug, Serialize)]
struct Claims {
    sub: String,
    roles: Vec<String>,
    exp: u64,
    iat: u64,
}

/// What every token must carry beyond a good signature.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub issuer: Option<String>,
    pub audience: Option<String>,
    /// The dot path of the roles array; empty means `roles`.
    pub roles_claim: Vec<String>,
}

impl Policy {
    pub fn from_settings(settings: &IdentitySettings) -> Self {
        Self {
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            roles_claim: settings.roles_claim.split('.').map(str::to_owned).collect(),
        }
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut validation = Validation::new(alg);
        let mut required = vec!["exp", "sub"];
        validation.leeway = 5;
        if let Some(issuer) = &self.issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        match &self.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        validation
    }

    /// The roles at the configured path, or none.
    fn roles<'a>(&self, claims: &'a serde_json::Value) -> Vec<&'a str> {
        let path: &[String] = &self.roles_claim;
        let found = if path.is_empty() {
            claims.get("roles")
        } else {
            path.iter().try_fold(claims, |value, name| value.get(name))
        };
        found
            .and_then(serde_json::Value::as_array)
            .map(|roles| roles.iter().filter_map(serde_json::Value::as_str).collect())
            .unwrap_or_default()
    }
}

/// The JWKS key store the settings ask for, if any (not yet fetched:
/// [`KeyStore::run`] does that).
pub fn key_store(settings: &IdentitySettings) -> Option<Arc<KeyStore>> {
    let source = match (&settings.jwks_url, &settings.jwks_file) {
        (Some(url), _) => jwks::Source::Url(url.clone()),
        (None, Some(path)) => jwks::Source::File(path.clone()),
        (None, None) => return None,
    };
    Some(KeyStore::new(source, settings.jwks_min_refresh))
}

/// Signs tokens with the shared secret; verifies them with it or the JWKS.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Keys>,
}

struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    policy: Policy,
    hs256: Validation,
    jwks: Option<Arc<KeyStore>>,
}

impl Authenticator {
    /// HS256 tokens only, with no issuer or audience rule.
    pub fn new(secret: &Secret) -> Self {
        Self::with_policy(secret, Policy::default(), None)
    }

    /// The shared secret, the claim rules, and maybe the JWKS keys.
    pub fn with_policy(secret: &Secret, policy: Policy, jwks: Option<Arc<KeyStore>>) -> Self {
        let bytes = secret.expose().as_bytes();
        Self {
            inner: Arc::new(Keys {
                encoding: EncodingKey::from_secret(bytes),
                decoding: DecodingKey::from_secret(bytes),
                hs256: policy.validation(Algorithm::HS256),
                policy,
                jwks,
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
            iat: now,
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
        let head = jsonwebtoken::decode_header(token)
            .map_err(|_| Error::Unauthenticated("invalid token"))?;
        let claims = match head.alg {
            Algorithm::HS256 => decode(token, &self.inner.decoding, &self.inner.hs256)?,
            alg if jwks::ASYMMETRIC.contains(&alg) => {
                let store = self.inner.jwks.as_ref().ok_or(Error::Unauthenticated(
                    "no identity provider keys are configured",
                ))?;
                let kid = head
                    .kid
                    .as_deref()
                    .ok_or(Error::Unauthenticated("token has no kid"))?;
                let key = store
                    .key(kid)
                    .ok_or(Error::Unauthenticated("unknown key id; try again shortly"))?;
                if !jwks::key_fits(alg, &key.jwk) {
                    return Err(Error::Unauthenticated(
                        "token algorithm does not fit its key",
                    ));
                }
                decode(token, &key.decoding, &self.inner.policy.validation(alg))?
            }
            _ => return Err(Error::Unauthenticated("token algorithm not accepted")),
        };
        let user_id = claims
            .get("sub")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .trim();
        // The user id is stored as PostgreSQL text, which cannot hold a NUL.
        if user_id.is_empty() || user_id.chars().count() > MAX_USER_ID_LEN || user_id.contains('\0')
        {
            return Err(Error::Unauthenticated(
                "token subject must be 1 to 128 characters, with no NUL character",
            ));
        }
        let roles = self.inner.policy.roles(&claims);
        Ok(Caller {
            user_id: user_id.to_owned(),
            is_admin: roles.contains(&ADMIN_ROLE),
            is_staff: roles.contains(&STAFF_ROLE),
            // The call's, filled in by the gRPC auth layer.
            request_id: String::new(),
        })
    }
}

fn decode(
    token: &str,
    key: &DecodingKey,
    validation: &Validation,
) -> Result<serde_json::Value, Error> {
    jsonwebtoken::decode::<serde_json::Value>(token, key, validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                Error::Unauthenticated("token expired")
            }
            jsonwebtoken::errors::ErrorKind::InvalidIssuer => {
                Error::Unauthenticated("token issuer not accepted")
            }
            jsonwebtoken::errors::ErrorKind::InvalidAudience => {
                Error::Unauthenticated("token audience not accepted")
            }
            _ => Error::Unauthenticated("invalid token"),
        })
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
                request_id: String::new(),
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
