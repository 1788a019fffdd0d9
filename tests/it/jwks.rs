//! Tokens from an identity provider: RS256, ES256 and EdDSA, checked with the
//! keys a JWKS endpoint serves (a stand-in HTTP server here, which counts its
//! fetches), next to cinema's own HS256 tokens.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    task::JoinHandle,
};
use tonic::Code;

use crate::support::{Client, TestApp, session_request, wait::poll};

const RSA_A: &[u8] = include_bytes!("fixtures/jwks/rsa-a.pkcs1.der");
const RSA_B: &[u8] = include_bytes!("fixtures/jwks/rsa-b.pkcs1.der");
const P256: &[u8] = include_bytes!("fixtures/jwks/p256.pk8.der");
const ED25519: &[u8] = include_bytes!("fixtures/jwks/ed25519.pk8.der");

fn key(der: &[u8], alg: Algorithm) -> EncodingKey {
    match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_der(der),
        Algorithm::ES256 => EncodingKey::from_ec_der(der),
        _ => EncodingKey::from_ed_der(der),
    }
}

/// The public JWK of a fixture key, with this `kid`.
fn jwk(der: &[u8], alg: Algorithm, kid: &str) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(&key(der, alg), alg).unwrap();
    jwk.common.key_id = Some(kid.into());
    jwk
}

fn jwks(keys: &[Jwk]) -> String {
    json!({ "keys": keys }).to_string()
}

fn sign(der: &[u8], alg: Algorithm, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key(der, alg)).unwrap()
}

fn claims(user: &str, extra: Value) -> Value {
    let mut claims = json!({"sub": user, "exp": Utc::now().timestamp() + 600});
    claims
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    claims
}

/// A JWKS endpoint: answers every GET with `status` and `body`.
struct Idp {
    url: String,
    answer: Arc<Mutex<(u16, String)>>,
    fetches: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Idp {
    async fn start(body: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/realms/test/certs",
            listener.local_addr().unwrap()
        );
        let answer = Arc::new(Mutex::new((200, body)));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (state, count) = (answer.clone(), fetches.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (state, count) = (state.clone(), count.clone());
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    count.fetch_add(1, Ordering::SeqCst);
                    let (status, body) = state.lock().unwrap().clone();
                    let response = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self {
            url,
            answer,
            fetches,
            task,
        }
    }

    fn serve(&self, status: u16, body: String) {
        *self.answer.lock().unwrap() = (status, body);
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

async fn list(app: &TestApp, token: &str) -> Result<(), Code> {
    Client::new(&app.channel, token)
        .list_sessions(0, "")
        .await
        .map(drop)
        .map_err(|status| status.code())
}

/// Until the server has the keys (the first fetch runs in the background).
async fn accepted_soon(app: &TestApp, token: &str) {
    poll(Duration::from_secs(10), Duration::from_millis(50), || {
        list(app, token)
    })
    .await
    .unwrap_or_else(|code| panic!("still {code:?}"));
}

#[tokio::test]
async fn rs256_es256_and_eddsa_tokens_from_the_jwks_get_in() {
    let idp = Idp::start(jwks(&[
        jwk(RSA_A, Algorithm::RS256, "rsa"),
        jwk(P256, Algorithm::ES256, "ec"),
        jwk(ED25519, Algorithm::EdDSA, "ed"),
    ]))
    .await;
    let url = idp.url.clone();
    let app = TestApp::spawn_with(|s| {
        s.identity.jwks_url = Some(url);
        s.identity.roles_claim = "realm_access.roles".into();
    })
    .await;
    let user = claims("ada", json!({}));
    accepted_soon(&app, &sign(RSA_A, Algorithm::RS256, Some("rsa"), &user)).await;
    for (der, alg, kid) in [
        (P256, Algorithm::ES256, "ec"),
        (ED25519, Algorithm::EdDSA, "ed"),
    ] {
        assert_eq!(
            list(&app, &sign(der, alg, Some(kid), &user)).await,
            Ok(()),
            "{alg:?}"
        );
    }
    // The admin role, where Keycloak puts it.
    let admin = claims("root", json!({"realm_access": {"roles": ["admin"]}}));
    Client::new(
        &app.channel,
        sign(ED25519, Algorithm::EdDSA, Some("ed"), &admin),
    )
    .create_session(session_request("Filme X", 24, 2, 8))
    .await
    .expect("an admin from the identity provider creates a session");
    let not_admin = claims("eve", json!({"roles": ["admin"]}));
    let status = Client::new(
        &app.channel,
        sign(P256, Algorithm::ES256, Some("ec"), &not_admin),
    )
    .create_session(session_request("Filme X", 24, 2, 8))
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // cinema's own HS256 tokens keep working.
    app.user("alice").list_sessions(0, "").await.unwrap();
    assert_eq!(idp.fetches(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_new_kid_is_fetched_once_per_window_and_an_outage_keeps_the_keys() {
    let idp = Idp::start(jwks(&[jwk(RSA_A, Algorithm::RS256, "a")])).await;
    let url = idp.url.clone();
    let app = TestApp::spawn_with(|s| {
        s.identity.jwks_url = Some(url);
        s.identity.jwks_min_refresh = Duration::from_secs(3);
    })
    .await;
    let user = claims("ada", json!({}));
    let old = sign(RSA_A, Algorithm::RS256, Some("a"), &user);
    accepted_soon(&app, &old).await;
    assert_eq!(idp.fetches(), 1);

    // Rotation: the provider adds key b; a token naming it gets in after one refetch.
    idp.serve(
        200,
        jwks(&[
            jwk(RSA_A, Algorithm::RS256, "a"),
            jwk(RSA_B, Algorithm::RS256, "b"),
        ]),
    );
    let new = sign(RSA_B, Algorithm::RS256, Some("b"), &user);
    accepted_soon(&app, &new).await;
    assert_eq!(idp.fetches(), 2);
    // Another unknown kid within the window: refused, and no fetch yet.
    let unknown = sign(RSA_B, Algorithm::RS256, Some("c"), &user);
    assert_eq!(list(&app, &unknown).await, Err(Code::Unauthenticated));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(list(&app, &unknown).await, Err(Code::Unauthenticated));
    assert_eq!(
        idp.fetches(),
        2,
        "a second fetch within the minimum interval"
    );

    // Outage: the provider fails (the deferred fetch meets a 500), then is gone.
    idp.serve(500, "oops".into());
    poll(
        Duration::from_secs(10),
        Duration::from_millis(100),
        || async { if idp.fetches() >= 3 { Ok(()) } else { Err(()) } },
    )
    .await
    .expect("the refresh asked for is made after the window");
    assert_eq!(list(&app, &old).await, Ok(()));
    assert_eq!(list(&app, &new).await, Ok(()));
    idp.task.abort();
    let _ = idp.task.await;
    assert_eq!(
        list(&app, &sign(RSA_B, Algorithm::RS256, Some("d"), &user)).await,
        Err(Code::Unauthenticated)
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(list(&app, &old).await, Ok(()));
    assert_eq!(list(&app, &new).await, Ok(()));
    app.stop().await;
}

#[tokio::test]
async fn issuer_and_audience_are_required_when_set() {
    let idp = Idp::start(jwks(&[jwk(ED25519, Algorithm::EdDSA, "ed")])).await;
    let url = idp.url.clone();
    let app = TestApp::spawn_with(|s| {
        s.identity.jwks_url = Some(url);
        s.identity.issuer = Some("https://idp.test/realms/test".into());
        s.identity.audience = Some("cinema".into());
    })
    .await;
    let iss = "https://idp.test/realms/test";
    let good = claims("ada", json!({"iss": iss, "aud": ["account", "cinema"]}));
    accepted_soon(&app, &sign(ED25519, Algorithm::EdDSA, Some("ed"), &good)).await;
    for extra in [
        json!({"iss": "https://evil.test", "aud": "cinema"}),
        json!({"iss": iss, "aud": "account"}),
        json!({"iss": iss}),
        json!({"aud": "cinema"}),
    ] {
        let token = sign(
            ED25519,
            Algorithm::EdDSA,
            Some("ed"),
            &claims("eve", extra.clone()),
        );
        assert_eq!(
            list(&app, &token).await,
            Err(Code::Unauthenticated),
            "{extra}"
        );
    }
    // The rule holds for HS256 tokens too: one without iss and aud is refused.
    assert_eq!(
        list(&app, &app.token("alice")).await,
        Err(Code::Unauthenticated)
    );
    app.stop().await;
}

/// `header.payload.signature`, HMAC-SHA256 with `secret`, whatever `header` says.
fn hmac_token(header: &Value, payload: &Value, secret: &[u8]) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use hmac::{Hmac, Mac};
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(signed.as_bytes());
    format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[tokio::test]
async fn algorithm_confusion_is_unauthenticated() {
    let rsa = jwk(RSA_A, Algorithm::RS256, "rsa");
    let mut labelled_rs384 = jwk(RSA_B, Algorithm::RS256, "rs384");
    labelled_rs384.common.key_algorithm = Some(jsonwebtoken::jwk::KeyAlgorithm::RS384);
    let ed = jwk(ED25519, Algorithm::EdDSA, "ed");
    let idp = Idp::start(jwks(&[
        rsa.clone(),
        jwk(P256, Algorithm::ES256, "ec"),
        ed.clone(),
        labelled_rs384,
    ]))
    .await;
    let url = idp.url.clone();
    let app = TestApp::spawn_with(|s| s.identity.jwks_url = Some(url)).await;
    let admin = claims("eve", json!({"roles": ["admin"]}));
    accepted_soon(&app, &sign(RSA_A, Algorithm::RS256, Some("rsa"), &admin)).await;

    let rsa_json = serde_json::to_string(&rsa).unwrap();
    let (n, x) = match (&rsa.algorithm, &ed.algorithm) {
        (
            jsonwebtoken::jwk::AlgorithmParameters::RSA(rsa),
            jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(ed),
        ) => (rsa.n.clone(), ed.x.clone()),
        _ => unreachable!(),
    };
    let refused = [
        (
            "HS256 with the RSA JWK as secret",
            hmac_token(
                &json!({"alg": "HS256", "kid": "rsa"}),
                &admin,
                rsa_json.as_bytes(),
            ),
        ),
        (
            "HS256 with the modulus as secret",
            hmac_token(&json!({"alg": "HS256", "kid": "rsa"}), &admin, n.as_bytes()),
        ),
        (
            "HS256 with the Ed25519 key as secret",
            hmac_token(&json!({"alg": "HS256", "kid": "ed"}), &admin, x.as_bytes()),
        ),
        (
            "RS256 HMAC'd with the modulus",
            hmac_token(&json!({"alg": "RS256", "kid": "rsa"}), &admin, n.as_bytes()),
        ),
        (
            "alg none",
            hmac_token(&json!({"alg": "none", "kid": "rsa"}), &admin, b"")
                .rsplit_once('.')
                .unwrap()
                .0
                .to_owned()
                + ".",
        ),
        (
            "ES256 naming the RSA key",
            sign(P256, Algorithm::ES256, Some("rsa"), &admin),
        ),
        (
            "EdDSA naming the P-256 key",
            sign(ED25519, Algorithm::EdDSA, Some("ec"), &admin),
        ),
        (
            "RS256 naming the Ed25519 key",
            sign(RSA_A, Algorithm::RS256, Some("ed"), &admin),
        ),
        (
            "RS256 with a key labelled RS384",
            sign(RSA_B, Algorithm::RS256, Some("rs384"), &admin),
        ),
        (
            "RS256 without a kid",
            sign(RSA_A, Algorithm::RS256, None, &admin),
        ),
        (
            "RS256 signed by another key",
            sign(RSA_B, Algorithm::RS256, Some("rsa"), &admin),
        ),
    ];
    for (what, token) in refused {
        let status = Client::new(&app.channel, token)
            .create_session(session_request("Filme X", 24, 2, 8))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{what}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_provider_down_at_start_stops_nothing_and_its_keys_are_taken_when_they_come() {
    let idp = Idp::start("down".into()).await;
    idp.serve(500, "down".into());
    let url = idp.url.clone();
    let app = TestApp::spawn_with(|s| {
        s.identity.jwks_url = Some(url);
        s.identity.jwks_min_refresh = Duration::from_millis(500);
    })
    .await;
    let token = sign(
        ED25519,
        Algorithm::EdDSA,
        Some("ed"),
        &claims("ada", json!({})),
    );
    assert_eq!(list(&app, &token).await, Err(Code::Unauthenticated));
    app.user("alice").list_sessions(0, "").await.unwrap();
    idp.serve(200, jwks(&[jwk(ED25519, Algorithm::EdDSA, "ed")]));
    accepted_soon(&app, &token).await;
    app.stop().await;
}

#[tokio::test]
async fn keys_may_come_from_a_jwks_file() {
    let path = std::env::temp_dir().join(format!("cinema-jwks-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&path, jwks(&[jwk(P256, Algorithm::ES256, "ec")])).unwrap();
    let file = path.clone();
    let app = TestApp::spawn_with(|s| s.identity.jwks_file = Some(file)).await;
    accepted_soon(
        &app,
        &sign(
            P256,
            Algorithm::ES256,
            Some("ec"),
            &claims("ada", json!({})),
        ),
    )
    .await;
    app.stop().await;
    std::fs::remove_file(path).unwrap();
}
