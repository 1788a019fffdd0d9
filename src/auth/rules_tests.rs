//! The claim rules and the algorithm rules, with keys from the JWKS test
//! fixtures.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use serde_json::{Value, json};

use super::*;

const SECRET: &str = "a-test-secret-that-is-long-enough-for-hs256";
const ED25519_DER: &[u8] = include_bytes!("../../tests/it/fixtures/jwks/ed25519.pk8.der");
const P256_DER: &[u8] = include_bytes!("../../tests/it/fixtures/jwks/p256.pk8.der");

fn later() -> u64 {
    jsonwebtoken::get_current_timestamp() + 600
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn signed(alg: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn ed_key() -> EncodingKey {
    EncodingKey::from_ed_der(ED25519_DER)
}

fn ec_key() -> EncodingKey {
    EncodingKey::from_ec_der(P256_DER)
}

fn policy(issuer: Option<&str>, audience: Option<&str>, roles: &str) -> Policy {
    Policy {
        issuer: issuer.map(str::to_owned),
        audience: audience.map(str::to_owned),
        roles_claim: roles.split('.').map(str::to_owned).collect(),
    }
}

fn verify(auth: &Authenticator, token: &str) -> Result<Caller, Error> {
    auth.verify(Some(&format!("Bearer {token}")))
}

/// An authenticator whose JWKS (a file) holds the Ed25519 key as `ed` and
/// the P-256 key as `ec`.
async fn with_jwks(policy: Policy) -> (Authenticator, Arc<KeyStore>) {
    let mut keys = Vec::new();
    for (key, alg, kid) in [
        (ed_key(), Algorithm::EdDSA, "ed"),
        (ec_key(), Algorithm::ES256, "ec"),
    ] {
        let mut jwk = Jwk::from_encoding_key(&key, alg).unwrap();
        jwk.common.key_id = Some(kid.into());
        keys.push(jwk);
    }
    let path = std::env::temp_dir().join(format!("cinema-jwks-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&path, json!({ "keys": keys }).to_string()).unwrap();
    let store = KeyStore::new(jwks::Source::File(path.clone()), Duration::from_secs(30));
    assert_eq!(store.refresh().await.unwrap(), 2);
    std::fs::remove_file(path).unwrap();
    let auth = Authenticator::with_policy(&Secret::new(SECRET), policy, Some(store.clone()));
    (auth, store)
}

#[test]
fn roles_are_read_at_the_configured_dot_path() {
    let claims = json!({"sub": "kc", "exp": later(), "realm_access": {"roles": ["admin", "staff"]}, "roles": ["staff"]});
    let token = hs256(&claims, SECRET.as_bytes());
    let keycloak = Authenticator::with_policy(
        &Secret::new(SECRET),
        policy(None, None, "realm_access.roles"),
        None,
    );
    let caller = verify(&keycloak, &token).unwrap();
    assert!(caller.is_admin && caller.is_staff);
    let plain = Authenticator::new(&Secret::new(SECRET));
    let caller = verify(&plain, &token).unwrap();
    assert!(!caller.is_admin && caller.is_staff);
    // Not an array, or not there: no roles.
    for claims in [
        json!({"sub": "kc", "exp": later(), "realm_access": {"roles": "admin"}}),
        json!({"sub": "kc", "exp": later(), "realm_access": ["admin"]}),
        json!({"sub": "kc", "exp": later()}),
    ] {
        let caller = verify(&keycloak, &hs256(&claims, SECRET.as_bytes())).unwrap();
        assert!(!caller.is_admin && !caller.is_staff, "{claims}");
    }
}

#[test]
fn issuer_and_audience_are_enforced_when_set() {
    let auth = Authenticator::with_policy(
        &Secret::new(SECRET),
        policy(Some("https://idp.example"), Some("cinema"), "roles"),
        None,
    );
    let good = json!({"sub": "a", "exp": later(), "iss": "https://idp.example", "aud": "cinema"});
    assert!(verify(&auth, &hs256(&good, SECRET.as_bytes())).is_ok());
    let listed = json!({"sub": "a", "exp": later(), "iss": "https://idp.example", "aud": ["other", "cinema"]});
    assert!(verify(&auth, &hs256(&listed, SECRET.as_bytes())).is_ok());
    for claims in [
        json!({"sub": "a", "exp": later()}),
        json!({"sub": "a", "exp": later(), "iss": "https://idp.example"}),
        json!({"sub": "a", "exp": later(), "aud": "cinema"}),
        json!({"sub": "a", "exp": later(), "iss": "https://evil.example", "aud": "cinema"}),
        json!({"sub": "a", "exp": later(), "iss": "https://idp.example", "aud": "other"}),
    ] {
        let result = verify(&auth, &hs256(&claims, SECRET.as_bytes()));
        assert!(matches!(result, Err(Error::Unauthenticated(_))), "{claims}");
    }
    // Unset: an audience in the token is not held against it.
    let plain = Authenticator::new(&Secret::new(SECRET));
    assert!(verify(&plain, &hs256(&good, SECRET.as_bytes())).is_ok());
}

#[tokio::test]
async fn jwks_tokens_verify_with_the_key_their_kid_names() {
    let (auth, _) = with_jwks(Policy::default()).await;
    let claims = json!({"sub": "ada", "exp": later(), "roles": ["admin"]});
    let caller = verify(
        &auth,
        &signed(Algorithm::EdDSA, &ed_key(), Some("ed"), &claims),
    )
    .unwrap();
    assert!(caller.user_id == "ada" && caller.is_admin);
    assert!(
        verify(
            &auth,
            &signed(Algorithm::ES256, &ec_key(), Some("ec"), &claims)
        )
        .is_ok()
    );
    // HS256 tokens still verify with the shared secret.
    assert!(verify(&auth, &hs256(&claims, SECRET.as_bytes())).is_ok());
}

#[tokio::test]
async fn algorithm_confusion_is_refused() {
    let (auth, store) = with_jwks(Policy::default()).await;
    let claims = json!({"sub": "eve", "exp": later(), "roles": ["admin"]});
    let ed_public = match &store.key("ed").unwrap().jwk.algorithm {
        jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(okp) => okp.x.clone(),
        _ => unreachable!(),
    };
    let ed_jwk_json = serde_json::to_string(&store.key("ed").unwrap().jwk).unwrap();
    let none = {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        let head = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"ed"}"#);
        format!("{head}.{}.", URL_SAFE_NO_PAD.encode(claims.to_string()))
    };
    let mut hs_with_kid = Header::new(Algorithm::HS256);
    hs_with_kid.kid = Some("ed".into());
    let refused = [
        // HS256 signed with the public key (as text or bytes) as the secret.
        hs256(&claims, ed_public.as_bytes()),
        hs256(&claims, ed_jwk_json.as_bytes()),
        jsonwebtoken::encode(
            &hs_with_kid,
            &claims,
            &EncodingKey::from_secret(ed_public.as_bytes()),
        )
        .unwrap(),
        none,
        // The header's alg is not the key's.
        signed(Algorithm::ES256, &ec_key(), Some("ed"), &claims),
        signed(Algorithm::EdDSA, &ed_key(), Some("ec"), &claims),
        // No kid, an unknown kid, an algorithm not accepted.
        signed(Algorithm::EdDSA, &ed_key(), None, &claims),
        signed(Algorithm::EdDSA, &ed_key(), Some("nope"), &claims),
        signed(
            Algorithm::HS384,
            &EncodingKey::from_secret(SECRET.as_bytes()),
            None,
            &claims,
        ),
    ];
    for token in refused {
        let result = verify(&auth, &token);
        assert!(
            matches!(result, Err(Error::Unauthenticated(_))),
            "{token}: {result:?}"
        );
    }
    // Asymmetric tokens without a JWKS configured.
    let plain = Authenticator::new(&Secret::new(SECRET));
    let token = signed(Algorithm::EdDSA, &ed_key(), Some("ed"), &claims);
    assert!(matches!(
        verify(&plain, &token),
        Err(Error::Unauthenticated(_))
    ));
}
