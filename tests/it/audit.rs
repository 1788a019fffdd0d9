//! The audit trail (ListAuditRecords): every admin and staff action leaves
//! exactly one record, with its caller, request id, target and session;
//! refused actions and replayed requests leave none; admins read it page by
//! page, whole or by session; and nobody changes it afterwards.

use std::collections::HashSet;

use sea_orm::ConnectionTrait;
use tonic::Code;

use crate::support::{
    TestApp,
    audit::{record, seen},
    in_hours,
    pb::{AgeRating, AuditAction, ListAuditRecordsRequest, UnblockSeatsRequest},
    programme::movie_request,
    session_request, violated_fields,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_and_staff_action_is_recorded_once_with_its_caller() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let tagged = |request_id: &str| admin.with_request_id(request_id);

    let room = tagged("req-room")
        .create_room("Sala 9", &[("A", "SSSS_SSSS"), ("B", "SSSS_SSSS")])
        .await
        .unwrap();
    let movie = tagged("req-movie")
        .create_movie(movie_request("Filme Z", 100, AgeRating::AgeRating12))
        .await
        .unwrap();
    // Starts in 30 minutes: its tickets admit now.
    let mut soon = session_request("Filme X", 0, 2, 8);
    soon.starts_at = in_hours(0).map(|mut at| {
        at.seconds += 30 * 60;
        at
    });
    let show = tagged("req-show")
        .create_session(soon)
        .await
        .unwrap()
        .session_id;
    tagged("req-block")
        .block(&show, &["A2", "A1"], " broken arm ")
        .await
        .unwrap();
    tagged("req-unblock").unblock(&show, &["A1"]).await.unwrap();
    let alice = app.user("alice");
    let sale = alice.buy(&show, &["B1", "B2"]).await;
    let refunded = tagged("req-refund")
        .refund(&sale.sale_id, &["B2"], "")
        .await
        .unwrap();
    assert_eq!(refunded.refunded_cents, 2500);
    let usher = app.staff("usher").with_request_id("req-admit");
    let b1 = &sale.tickets[0];
    assert_eq!(b1.seat_label, "B1");
    usher.admit(&b1.code, " North ").await.unwrap();
    // A second scan admits nobody: nothing to record.
    usher.admit(&b1.code, "North").await.unwrap();

    // A buyer's own refund is not audited; the cancellation's refunds are
    // counted in its record.
    let later = app.create_session(2, 8).await.session_id;
    let bought = alice.buy(&later, &["A1", "A2"]).await;
    alice.refund(&bought.sale_id, &["A2"], "").await.unwrap();
    let key = uuid::Uuid::new_v4().to_string();
    tagged("req-cancel")
        .cancel_session(&later, "projector broken", &key)
        .await
        .unwrap();
    // A retry is answered from the first request; a second cancellation
    // finds nothing to do.
    tagged("req-cancel-retry")
        .cancel_session(&later, "projector broken", &key)
        .await
        .unwrap();
    tagged("req-cancel-again")
        .cancel_session(&later, "projector broken", "")
        .await
        .unwrap();

    let trail = admin.audit_trail("", 100).await;
    use AuditAction as A;
    assert_eq!(
        seen(&trail),
        [
            record("admin", "req-room", A::RoomCreated, &room.room_id, ""),
            record("admin", "req-movie", A::MovieCreated, &movie.movie_id, ""),
            record("admin", "req-show", A::SessionCreated, &show, &show),
            record("admin", "req-block", A::SeatsBlocked, &show, &show),
            record("admin", "req-unblock", A::SeatsUnblocked, &show, &show),
            record("admin", "req-refund", A::SaleRefunded, &sale.sale_id, &show),
            record(
                "usher",
                "req-admit",
                A::TicketAdmitted,
                &b1.ticket_id,
                &show
            ),
            // Made without a request id of the test's: the server's own.
            record(
                "admin",
                &trail[7].request_id,
                A::SessionCreated,
                &later,
                &later
            ),
            record("admin", "req-cancel", A::SessionCancelled, &later, &later),
        ]
    );
    let details: Vec<&str> = trail.iter().map(|r| r.detail.as_str()).collect();
    assert_eq!(
        details[..7],
        [
            "Sala 9, 16 seats",
            "Filme Z",
            details[2],
            "seats A1 A2; reason: broken arm",
            "seats A1",
            "seats B2; 2500 BRL cents; reason: plans changed",
            "seat B1 at gate \"North\"",
        ]
    );
    assert!(
        details[2].starts_with("Filme X in Sala 1 at "),
        "{details:?}"
    );
    assert_eq!(
        details[8],
        "reason: projector broken; 0 holds cancelled, 1 sales refunded (1250 cents)"
    );
    assert!(uuid::Uuid::try_parse(&trail[7].request_id).is_ok());
    let ids: HashSet<&str> = trail.iter().map(|r| r.audit_record_id.as_str()).collect();
    assert_eq!(ids.len(), trail.len());
    let now = chrono::Utc::now().timestamp();
    for r in &trail {
        let at = r.create_time.expect("a create time").seconds;
        assert!((now - 300..=now + 5).contains(&at), "{r:?}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_actions_record_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let show = app.create_session(2, 8).await.session_id;
    let before = seen(&admin.audit_trail("", 100).await);
    assert_eq!(before.len(), 1);

    let bob = app.user("bob");
    let denied = bob
        .create_room("Sala 9", &[("A", "SSSS_SSSS"), ("B", "SSSS_SSSS")])
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let denied = bob.block(&show, &["A1"], "").await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let unknown = admin.block(&show, &["Z9"], "").await.unwrap_err();
    assert_eq!(violated_fields(&unknown), ["seat_labels[0]"]);
    let bad_room = admin.create_room("Sala 9", &[("A", "SS")]).await;
    assert_eq!(bad_room.unwrap_err().code(), Code::InvalidArgument);
    // Refused inside the transaction, after its seats were locked.
    app.user("alice").buy(&show, &["B1"]).await;
    let taken = admin.block(&show, &["B1", "B2"], "").await.unwrap_err();
    assert_eq!(taken.code(), Code::FailedPrecondition);
    let missing = uuid::Uuid::new_v4().to_string();
    let gone = admin.block(&missing, &["A1"], "").await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    let usher = app.staff("usher");
    let invalid = usher.admit("not a ticket code", "North").await.unwrap();
    assert_eq!(
        invalid.result(),
        crate::support::pb::AdmissionResult::Invalid
    );

    assert_eq!(seen(&admin.audit_trail("", 100).await), before);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_the_whole_trail_or_of_one_session_hold_every_record_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let first = app.create_session(2, 8).await.session_id;
    let second = app.create_session(2, 8).await.session_id;
    for seat in ["A1", "A2", "A3", "A4", "A5"] {
        admin.block(&first, &[seat], "camera").await.unwrap();
        if seat <= "A2" {
            admin.block(&second, &[seat], "camera").await.unwrap();
        }
    }
    let whole = admin.audit_trail("", 100).await;
    assert_eq!(whole.len(), 9);
    for page_size in [1, 2, 4] {
        assert_eq!(admin.audit_trail("", page_size).await, whole);
    }
    let of = |session: &str| -> Vec<_> {
        whole
            .iter()
            .filter(|r| r.session_id == session)
            .cloned()
            .collect()
    };
    assert_eq!(of(&first).len(), 6);
    assert_eq!(admin.audit_trail(&first, 4).await, of(&first));
    assert_eq!(admin.audit_trail(&second, 2).await, of(&second));
    assert_eq!(admin.audit_trail(&second, 0).await, of(&second));

    // A page is as long as asked for, and its token goes on from it.
    let page = admin.list_audit_records(&first, 4, "").await.unwrap();
    assert_eq!(page.audit_records, of(&first)[..4]);
    let rest = admin
        .list_audit_records(&first, 4, &page.next_page_token)
        .await
        .unwrap();
    assert_eq!(rest.audit_records, of(&first)[4..]);
    assert_eq!(rest.next_page_token, "");
    // A token is good only with the filter it was made with.
    for other in [second.as_str(), ""] {
        let status = admin
            .list_audit_records(other, 4, &page.next_page_token)
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(violated_fields(&status), ["page_token"]);
    }
    let nobody = uuid::Uuid::new_v4().to_string();
    let empty = admin.list_audit_records(&nobody, 0, "").await.unwrap();
    assert_eq!(
        (empty.audit_records.len(), empty.next_page_token.as_str()),
        (0, "")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_read_the_trail_and_bad_requests_name_their_fields() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    app.create_session(2, 8).await;
    for caller in [app.user("bob"), app.staff("usher")] {
        let status = caller.list_audit_records("", 0, "").await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
    }
    let anonymous = admin
        .audit()
        .list_audit_records(ListAuditRecordsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    let cases: [(&str, i32, &str, &[&str]); 5] = [
        ("", 0, "not-a-token", &["page_token"]),
        ("", -1, "", &["page_size"]),
        ("not-a-uuid", 0, "", &["session_id"]),
        ("not-a-uuid", -5, "", &["session_id", "page_size"]),
        ("", i32::MIN, "", &["page_size"]),
    ];
    for (session_id, page_size, page_token, fields) in cases {
        let status = admin
            .list_audit_records(session_id, page_size, page_token)
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{fields:?}");
        assert_eq!(violated_fields(&status), fields);
    }
    // Above the maximum is the maximum.
    let page = admin.list_audit_records("", 10_000, "").await.unwrap();
    assert_eq!(page.audit_records.len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_refuses_to_change_or_remove_a_record() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await.session_id;
    // The unblock of a seat that is not blocked changes nothing, yet was
    // done; the request id the server made up for it comes back.
    let request = app.admin().request(UnblockSeatsRequest {
        session_id: session.clone(),
        seat_labels: vec!["A1".into()],
        reason: String::new(),
    });
    let answer = app.sessions().unblock_seats(request).await.unwrap();
    let request_id = answer
        .metadata()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let db = app.db().await;
    for statement in [
        "UPDATE audit_records SET actor = 'someone else'",
        "DELETE FROM audit_records",
        "TRUNCATE audit_records",
    ] {
        let refused = db.execute_unprepared(statement).await;
        assert!(refused.is_err(), "{statement} was allowed");
    }
    db.close().await.unwrap();
    let trail = app.admin().audit_trail("", 10).await;
    assert_eq!(
        seen(&trail),
        [
            record(
                "admin",
                &trail[0].request_id,
                AuditAction::SessionCreated,
                &session,
                &session
            ),
            record(
                "admin",
                &request_id,
                AuditAction::SeatsUnblocked,
                &session,
                &session
            ),
        ]
    );
    app.stop().await;
}
