//! Hostile ListAuditRecords requests and request ids through the server:
//! every answer carries a code of the contract, only an admin reads the
//! trail, and whatever `x-request-id` a client sends, the record keeps a
//! sane one.

use proptest::prelude::*;
use tonic::Code;

use super::{
    CONTRACT_CODES, check_cases, code_of,
    strategies::{cases, id_text, text},
};
use crate::support::pb::{AuditAction, ListAuditRecordsRequest};
use crate::support::{Client, TestApp};

#[test]
fn arbitrary_listings_and_request_ids_get_only_contract_codes() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(TestApp::spawn());
    let session = runtime.block_on(app.create_session(2, 8)).session_id;
    let (admin, user) = (app.admin(), app.user("fuzzer"));
    let token = runtime
        .block_on(admin.list_audit_records("", 1, ""))
        .map(|page| page.next_page_token)
        .unwrap_or_default();
    let strategy = (
        prop_oneof![id_text(), Just(session.clone()), Just(String::new())],
        any::<i32>(),
        prop_oneof![text(), Just(token)],
        // Printable ASCII, as metadata may carry it, of any length; HTTP
        // trims the ends of a header value.
        "[ -~]{0,200}".prop_map(|id| id.trim().to_owned()),
    );
    check_cases(strategy, (cases() / 10).max(1), |case| {
        let (session_id, page_size, page_token, request_id) = case;
        let request = ListAuditRecordsRequest {
            page_size,
            page_token,
            session_id,
        };
        let answers: Vec<(&str, Code, String)> = runtime.block_on(async {
            let mut answers = Vec::new();
            let listed = admin
                .audit()
                .list_audit_records(admin.request(request.clone()))
                .await;
            answers.push(("ListAuditRecords", code_of(&listed), format!("{listed:?}")));
            let denied = user.audit().list_audit_records(user.request(request)).await;
            let refused = code_of(&denied) == Code::PermissionDenied;
            answers.push((
                "ListAuditRecords by a user is PERMISSION_DENIED",
                if refused { Code::Ok } else { Code::Internal },
                format!("{denied:?}"),
            ));
            answers.push(sane_request_id(&admin, &session, &request_id).await);
            answers
        });
        for (what, code, answer) in answers {
            prop_assert!(CONTRACT_CODES.contains(&code), "{what}: {answer}");
        }
        Ok(())
    });
    runtime.block_on(app.stop());
}

/// Blocks a seat with `request_id` as the call's `x-request-id`: the record
/// keeps it, trimmed, if it is sane (1 to 128 visible characters), else the
/// id the server made up (a UUID).
async fn sane_request_id(
    admin: &Client,
    session: &str,
    request_id: &str,
) -> (&'static str, Code, String) {
    let what = "the audit record keeps a sane request id";
    let blocked = admin
        .with_request_id(request_id)
        .block(session, &["A1"], "fuzz")
        .await;
    if let Err(status) = blocked {
        return (what, status.code(), format!("{status:?}"));
    }
    let trail = admin.audit_trail(session, 100).await;
    let Some(last) = trail.last() else {
        return (what, Code::Internal, "no record".into());
    };
    let sent = request_id.trim();
    let sane = !sent.is_empty() && sent.len() <= 128 && !sent.contains(' ');
    let kept = if sane {
        last.request_id == sent
    } else {
        uuid::Uuid::try_parse(&last.request_id).is_ok()
    };
    let fine = kept && last.action() == AuditAction::SeatsBlocked;
    let code = if fine { Code::Ok } else { Code::Internal };
    (
        what,
        code,
        format!("sent {request_id:?}, recorded {last:?}"),
    )
}
