//! Token rules: who may call what.

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tonic::{Code, Request};

use crate::support::{
    Client, SECRET, TestApp,
    pb::{CreateSessionRequest, ListSessionsRequest, ReserveSeatsRequest},
};

fn sign(claims: serde_json::Value, secret: &str, algorithm: Algorithm) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn in_secs(secs: i64) -> i64 {
    Utc::now().timestamp() + secs
}

#[tokio::test]
async fn calls_without_a_valid_token_are_unauthenticated() {
    let app = TestApp::spawn().await;
    let bad_tokens = [
        sign(serde_json::json!({"sub": "eve", "exp": in_secs(600)}), "another-secret-another-secret-another", Algorithm::HS256),
        sign(serde_json::json!({"sub": "eve", "exp": in_secs(-120)}), SECRET, Algorithm::HS256),
        sign(serde_json::json!({"sub": "eve"}), SECRET, Algorithm::HS256),
        sign(serde_json::json!({"exp": in_secs(600)}), SECRET, Algorithm::HS256),
        sign(serde_json::json!({"sub": "", "exp": in_secs(600)}), SECRET, Algorithm::HS256),
        sign(serde_json::json!({"sub": "eve", "exp": in_secs(600)}), SECRET, Algorithm::HS384),
        // alg: none, with an admin role.
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJldmUiLCJyb2xlcyI6WyJhZG1pbiJdLCJleHAiOjQxMDI0NDQ4MDB9.".into(),
        "garbage".into(),
    ];
    for token in bad_tokens {
        let status = Client::new(&app.channel, token.as_str())
            .list_sessions(0, "")
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{token}");
    }
    let status = app
        .sessions()
        .list_sessions(Request::new(ListSessionsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = app
        .booking()
        .reserve_seats(Request::new(ReserveSeatsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    app.stop().await;
}

#[tokio::test]
async fn only_admins_create_sessions() {
    let app = TestApp::spawn().await;
    let user = sign(
        serde_json::json!({"sub": "alice", "roles": ["viewer"], "exp": in_secs(600)}),
        SECRET,
        Algorithm::HS256,
    );
    let status = Client::new(&app.channel, user)
        .create_session(CreateSessionRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // The role check comes before validation: a non-admin learns nothing about the fields.
    let admin = sign(
        serde_json::json!({"sub": "root", "roles": ["admin"], "exp": in_secs(600)}),
        SECRET,
        Algorithm::HS256,
    );
    let status = Client::new(&app.channel, admin)
        .create_session(CreateSessionRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    app.stop().await;
}

/// `header.payload.signature`, signed with HMAC-SHA256 whatever `header` says.
fn hmac_token(header: &str, payload: &str, secret: &str) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use hmac::{Hmac, Mac};
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(signed.as_bytes());
    format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[tokio::test]
async fn oversized_confused_and_edited_tokens_are_unauthenticated() {
    let app = TestApp::spawn().await;
    let claims = format!(
        r#"{{"sub":"eve","roles":["admin"],"exp":{}}}"#,
        in_secs(600)
    );
    let user = app.token("eve");
    let (header, _, signature) = {
        let mut parts = user.split('.');
        (
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
        )
    };
    let admin_payload = {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        URL_SAFE_NO_PAD.encode(&claims)
    };
    let refused = [
        // Correctly signed, but over the 8 KiB a token may have.
        (
            "oversized",
            sign(
                serde_json::json!({"sub": "eve", "exp": in_secs(600), "pad": "x".repeat(9 * 1024)}),
                SECRET,
                Algorithm::HS256,
            ),
        ),
        // An RSA algorithm named, with the shared secret as an HMAC key.
        (
            "RS256 signed with the secret",
            hmac_token(r#"{"alg":"RS256","typ":"JWT"}"#, &claims, SECRET),
        ),
        (
            "ES256 signed with the secret",
            hmac_token(r#"{"alg":"ES256","typ":"JWT"}"#, &claims, SECRET),
        ),
        (
            "alg None",
            hmac_token(r#"{"alg":"None","typ":"JWT"}"#, &claims, SECRET),
        ),
        // A user's token whose claims were edited to make it an admin's.
        (
            "edited claims",
            format!("{header}.{admin_payload}.{signature}"),
        ),
        ("no signature", format!("{header}.{admin_payload}.")),
        ("two parts", format!("{header}.{admin_payload}")),
        ("four parts", format!("{user}.{signature}")),
        ("dots", "..".into()),
        ("not base64", "%%%.***.!!!".into()),
    ];
    for (what, token) in refused {
        let status = Client::new(&app.channel, token)
            .create_session(CreateSessionRequest::default())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{what}");
    }
    // The same claims, signed as they should be, do get in.
    let good = hmac_token(r#"{"alg":"HS256","typ":"JWT"}"#, &claims, SECRET);
    let status = Client::new(&app.channel, good)
        .create_session(CreateSessionRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    app.stop().await;
}

#[tokio::test]
async fn a_megabyte_of_authorization_is_refused_and_the_server_serves_on() {
    let app = TestApp::spawn().await;
    let huge = "a".repeat(1 << 20);
    let status = Client::new(&app.channel, huge)
        .list_sessions(0, "")
        .await
        .unwrap_err();
    // HTTP/2 refuses headers this large (GOAWAY, ENHANCE_YOUR_CALM) before
    // the server sees them.
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    app.user("alice")
        .list_sessions(0, "")
        .await
        .expect("the server serves on");
    app.stop().await;
}
