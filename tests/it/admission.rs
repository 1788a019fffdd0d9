//! Tickets and admission at the door: one ticket per seat sold, a code
//! anyone checks offline with the public key, and a ticket that admits
//! exactly once, whatever the number of scans at once on either instance.

use std::{collections::HashMap, sync::Arc};

use tokio::{sync::Barrier, task::JoinSet};
use tonic::Code;

use crate::support::{
    TestApp, TicketSigner,
    db::{count, rows},
    pb::{AdmissionResult, TicketStatus, TicketType},
    process::ServerProcess,
    violated_fields,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_issues_one_ticket_per_seat_with_a_code_checked_offline() {
    let app = TestApp::spawn().await;
    let session = app.session_starting_in(chrono::Duration::minutes(30)).await;
    let alice = app.user("alice");
    let sale = alice.buy(&session, &["B2", "A7"]).await;
    let tickets: Vec<(String, TicketType, TicketStatus)> = sale
        .tickets
        .iter()
        .map(|t| (t.seat_label.clone(), t.ticket_type(), t.status()))
        .collect();
    assert_eq!(
        tickets,
        [
            ("A7".into(), TicketType::Full, TicketStatus::Valid),
            ("B2".into(), TicketType::Half, TicketStatus::Valid)
        ]
    );
    // The test server's key is derived from its token secret.
    let verifier = TicketSigner::derived_from(crate::support::SECRET).verifier();
    for ticket in &sale.tickets {
        assert_eq!(
            verifier.verify(&ticket.code).map(|id| id.to_string()),
            Some(ticket.ticket_id.clone())
        );
        assert_eq!(
            (ticket.sale_id.as_str(), ticket.session_id.as_str()),
            (sale.sale_id.as_str(), session.as_str())
        );
    }
    let listed = alice.list_purchases(10, "").await.unwrap().sales;
    assert_eq!(listed[0].tickets, sale.tickets);

    let first = &sale.tickets[0];
    assert_eq!(&alice.get_ticket(&first.ticket_id).await.unwrap(), first);
    assert_eq!(
        &app.staff("usher")
            .get_ticket(&first.ticket_id)
            .await
            .unwrap(),
        first
    );
    let denied = app
        .user("bob")
        .get_ticket(&first.ticket_id)
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let unknown = uuid::Uuid::new_v4().to_string();
    let missing = alice.get_ticket(&unknown).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_scans_at_once_on_two_instances_admit_a_ticket_once() {
    let app = TestApp::spawn().await;
    let other = ServerProcess::spawn(&app).await;
    let session = app.session_starting_in(chrono::Duration::minutes(30)).await;
    let sale = app.user("alice").buy(&session, &["A1"]).await;
    let code = sale.tickets[0].code.clone();

    let start = Arc::new(Barrier::new(100));
    let mut scans = JoinSet::new();
    for scan in 0..100 {
        let channel = if scan % 2 == 0 {
            &app.channel
        } else {
            &other.channel
        };
        let usher = app.staff(&format!("usher-{}", scan % 4)).on(channel);
        let (start, code) = (Arc::clone(&start), code.clone());
        scans.spawn(async move {
            start.wait().await;
            usher.admit(&code, &format!("door {scan}")).await
        });
    }
    let answers: Vec<_> = scans
        .join_all()
        .await
        .into_iter()
        .map(|answer| answer.unwrap())
        .collect();
    let mut results: HashMap<AdmissionResult, usize> = HashMap::new();
    for answer in &answers {
        *results.entry(answer.result()).or_default() += 1;
    }
    assert_eq!(
        (
            results.get(&AdmissionResult::Admitted),
            results.get(&AdmissionResult::AlreadyAdmitted)
        ),
        (Some(&1), Some(&99)),
        "{results:?}"
    );
    let first = answers
        .iter()
        .find(|a| a.result() == AdmissionResult::Admitted)
        .unwrap();
    for answer in &answers {
        assert_eq!(
            (&answer.first_gate, &answer.first_admit_time),
            (&first.first_gate, &first.first_admit_time)
        );
        assert_eq!(
            answer.ticket.as_ref().unwrap().status(),
            TicketStatus::Admitted
        );
    }
    let db = app.db().await;
    let events = count(
        &db,
        "SELECT count(*)::bigint FROM outbox WHERE subject = 'ticket.admitted'",
    )
    .await;
    assert_eq!(events, 1, "one ticket.admitted event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_refunded_forged_and_unauthorised_scans_change_nothing() {
    let app = TestApp::spawn().await;
    let usher = app.staff("usher");
    let tomorrow = app
        .session_starting_in(chrono::Duration::minutes(24 * 60))
        .await;
    let early = app.user("alice").buy(&tomorrow, &["A1"]).await;
    let scan = usher.admit(&early.tickets[0].code, "door 1").await.unwrap();
    assert_eq!(scan.result(), AdmissionResult::NotYetOpen);
    assert_eq!(scan.ticket.unwrap().status(), TicketStatus::Valid);
    assert_eq!(
        (scan.first_gate.as_str(), scan.first_admit_time),
        ("", None)
    );

    let soon = app.session_starting_in(chrono::Duration::minutes(30)).await;
    let sale = app.user("bob").buy(&soon, &["A1", "A2"]).await;
    let db = app.db().await;
    rows(
        &db,
        &format!(
            "UPDATE tickets SET status = 'refunded' WHERE ticket_id = '{}' RETURNING status",
            sale.tickets[1].ticket_id
        ),
    )
    .await;
    let refunded = usher.admit(&sale.tickets[1].code, "door 1").await.unwrap();
    assert_eq!(refunded.result(), AdmissionResult::Refunded);

    let code = &sale.tickets[0].code;
    let mut edited = code.clone().into_bytes();
    edited[10] = if edited[10] == b'A' { b'B' } else { b'A' };
    let foreign = TicketSigner::from_seed([9; 32]).code(sale.tickets[0].ticket_id.parse().unwrap());
    for bad in [
        String::from_utf8(edited).unwrap(),
        foreign,
        "not a code".into(),
        String::new(),
    ] {
        let answer = usher.admit(&bad, "door 1").await.unwrap();
        assert_eq!(
            (answer.result(), answer.ticket),
            (AdmissionResult::Invalid, None),
            "{bad:?}"
        );
    }
    let denied = app.user("bob").admit(code, "door 1").await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let long_gate = usher.admit(code, &"g".repeat(101)).await.unwrap_err();
    assert_eq!(violated_fields(&long_gate), ["gate"]);
    // None of that admitted the ticket: an admin's scan does.
    let admitted = app.admin().admit(code, " main door ").await.unwrap();
    assert_eq!(
        (admitted.result(), admitted.first_gate.as_str()),
        (AdmissionResult::Admitted, "main door")
    );
}
