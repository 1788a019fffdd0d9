//! Token rules: who may call what.

mod common;

use chrono::Utc;
use cinema::proto::v1::{CreateSessionRequest, ListSessionsRequest, ReserveSeatsRequest};
use common::{SECRET, TestApp, authed};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tonic::{Code, Request};

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
        let status = app
            .sessions()
            .list_sessions(authed(ListSessionsRequest::default(), &token))
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
    let status = app
        .sessions()
        .create_session(authed(CreateSessionRequest::default(), &user))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // The role check comes before validation: a non-admin learns nothing about the fields.
    let admin = sign(
        serde_json::json!({"sub": "root", "roles": ["admin"], "exp": in_secs(600)}),
        SECRET,
        Algorithm::HS256,
    );
    let status = app
        .sessions()
        .create_session(authed(CreateSessionRequest::default(), &admin))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    app.stop().await;
}
