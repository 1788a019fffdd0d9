//! RefundSale: seats go back on sale at once; windows, admitted and
//! refunded seats refused by name; retries refund once; and a refund and an
//! admission racing on one ticket end in exactly one of them.

use std::time::Duration;

use tonic::Code;

use crate::support::{
    PATIENCE, TestApp,
    db::{count, strings},
    eventually,
    pb::{AdmissionResult, Sale, SeatStatus, TicketStatus, seat_map_event::Event},
    precondition_violations,
    process::ServerProcess,
    seat, violated_fields, violation,
    watch::{next, watch_from_snapshot},
};

fn statuses(sale: &Sale) -> Vec<(String, TicketStatus)> {
    sale.tickets
        .iter()
        .map(|t| (t.seat_label.clone(), t.status()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunded_seats_go_back_on_sale_everywhere_and_are_refunded_once() {
    let app = TestApp::spawn().await;
    let other = ServerProcess::spawn(&app).await;
    let session = app
        .session_starting_in(chrono::Duration::minutes(24 * 60))
        .await;
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let sale = alice.buy(&session, &["A1", "A2", "A3"]).await;
    let before = seat(&app.seat_map(&session).await, "A2").1;
    let watcher = app.user("watcher").on(&other.channel);
    let (mut stream, _) = watch_from_snapshot(&watcher, &session).await;

    let request_id = uuid::Uuid::new_v4().to_string();
    let partial = alice
        .on(&other.channel)
        .refund(&sale.sale_id, &["A2"], &request_id)
        .await
        .unwrap();
    assert_eq!(partial.refunded_cents, 2500);
    assert_eq!(
        statuses(&partial),
        [
            ("A1".into(), TicketStatus::Valid),
            ("A2".into(), TicketStatus::Refunded),
            ("A3".into(), TicketStatus::Valid)
        ]
    );
    assert_eq!(
        seat(&app.seat_map(&session).await, "A2"),
        (SeatStatus::Available, before + 1)
    );
    let Event::Update(freed) = next(&mut stream).await else {
        panic!("the refund reached the watcher as something else")
    };
    let a2 = &freed.seats[0];
    assert_eq!(
        (a2.label.as_str(), a2.status(), a2.version),
        ("A2", SeatStatus::Available, before + 1)
    );
    // The same request again refunds nothing more.
    let again = alice
        .refund(&sale.sale_id, &["A2"], &request_id)
        .await
        .unwrap();
    assert_eq!(again, partial);
    // Someone else buys the seat at once: a second sale of it.
    let resold = bob.buy(&session, &["A2"]).await;
    assert_eq!(resold.seat_labels, ["A2"]);

    let twice = alice.refund(&sale.sale_id, &["A2"], "").await.unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition);
    assert_eq!(
        precondition_violations(&twice),
        [violation("ALREADY_REFUNDED", "A2")]
    );
    let rest = alice.refund(&sale.sale_id, &[], "").await.unwrap();
    assert_eq!(rest.refunded_cents, 1250 + 2500 + 2500);
    assert!(
        rest.tickets
            .iter()
            .all(|t| t.status() == TicketStatus::Refunded)
    );
    let nothing_left = alice.refund(&sale.sale_id, &[], "").await.unwrap_err();
    assert_eq!(
        precondition_violations(&nothing_left),
        [
            violation("ALREADY_REFUNDED", "A1"),
            violation("ALREADY_REFUNDED", "A2"),
            violation("ALREADY_REFUNDED", "A3")
        ]
    );
    let listed = alice.list_purchases(10, "").await.unwrap().sales;
    assert_eq!(listed[0].refunded_cents, 6250);

    let db = app.db().await;
    let events = strings(
        &db,
        "SELECT subject FROM outbox WHERE subject IN ('sale.refunded', 'seat.released') ORDER BY seq",
    )
    .await;
    assert_eq!(
        events,
        [
            "sale.refunded",
            "seat.released",
            "sale.refunded",
            "seat.released",
            "seat.released"
        ]
    );
    assert_eq!(count(&db, "SELECT count(*)::bigint FROM refunds").await, 2);

    let stranger = bob.refund(&sale.sale_id, &[], "").await.unwrap_err();
    assert_eq!(stranger.code(), Code::PermissionDenied);
    let bad = alice
        .refund(&resold.sale_id, &["A2"], "")
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::PermissionDenied);
    let unknown = bob
        .refund(&resold.sale_id, &["B9", "x"], "no")
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&unknown), ["seat_labels[1]", "request_id"]);
    let unknown = bob.refund(&resold.sale_id, &["B9"], "").await.unwrap_err();
    assert_eq!(violated_fields(&unknown), ["seat_labels[0]"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyers_refund_until_the_cutoff_and_admins_until_the_start() {
    let app =
        TestApp::spawn_with(|s| s.tickets.refund_cutoff = Duration::from_secs(48 * 3600)).await;
    let session = app
        .session_starting_in(chrono::Duration::minutes(24 * 60))
        .await;
    let alice = app.user("alice");
    let sale = alice.buy(&session, &["B1", "B2"]).await;
    let late = alice.refund(&sale.sale_id, &[], "").await.unwrap_err();
    assert_eq!(
        precondition_violations(&late),
        [violation("REFUND_WINDOW_CLOSED", &sale.sale_id)]
    );
    let by_admin = app
        .admin()
        .refund(&sale.sale_id, &["B1"], "")
        .await
        .unwrap();
    assert_eq!(by_admin.refunded_cents, 1250);

    // A session that starts in a few seconds: once it has, nobody refunds.
    let soon = app.session_starting_in(chrono::Duration::seconds(4)).await;
    let bought = alice.buy(&soon, &["A1"]).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = app
        .admin()
        .refund(&bought.sale_id, &[], "")
        .await
        .unwrap_err();
    assert_eq!(
        precondition_violations(&after),
        [violation("REFUND_WINDOW_CLOSED", &bought.sale_id)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admission_and_a_refund_racing_on_one_ticket_end_in_exactly_one() {
    let app = TestApp::spawn_with(|s| s.tickets.refund_cutoff = Duration::ZERO).await;
    let other = ServerProcess::spawn_with_env(&app, &[("CINEMA_REFUND_CUTOFF", "0s")]).await;
    let session = app.session_starting_in(chrono::Duration::minutes(30)).await;
    let (alice, usher) = (app.user("alice"), app.staff("usher").on(&other.channel));

    let sale = alice.buy(&session, &["A1", "A2"]).await;
    let admitted = usher.admit(&sale.tickets[0].code, "door").await.unwrap();
    assert_eq!(admitted.result(), AdmissionResult::Admitted);
    let refused = alice.refund(&sale.sale_id, &[], "").await.unwrap_err();
    assert_eq!(
        precondition_violations(&refused),
        [violation("TICKET_ADMITTED", "A1")]
    );

    let mut outcomes = (0, 0);
    for label in ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8"] {
        let sale = alice.buy(&session, &[label]).await;
        let code = sale.tickets[0].code.clone();
        let (scan, refund) = tokio::join!(
            usher.admit(&code, "door"),
            alice.refund(&sale.sale_id, &[], "")
        );
        match (scan.unwrap().result(), refund) {
            (AdmissionResult::Admitted, Err(status)) => {
                assert_eq!(
                    precondition_violations(&status),
                    [violation("TICKET_ADMITTED", label)]
                );
                outcomes.0 += 1;
            }
            (AdmissionResult::Refunded, Ok(refunded)) => {
                assert_eq!(refunded.refunded_cents, 1250);
                outcomes.1 += 1;
            }
            (result, refund) => panic!("{label}: admission {result:?} and refund {refund:?}"),
        }
    }
    assert_eq!(outcomes.0 + outcomes.1, 8, "{outcomes:?}");

    let admin = app.admin();
    let figures = eventually(PATIENCE, || async {
        let sales = admin.session_sales(&session).await.unwrap();
        let counted = sales.tickets_admitted + sales.tickets_refunded;
        (counted == 9).then_some(sales)
    })
    .await;
    assert_eq!(figures.tickets_admitted, 1 + outcomes.0);
    assert_eq!(figures.refunded_cents, 1250 * outcomes.1);
    assert_eq!(
        figures.net_revenue_cents,
        figures.revenue_cents - figures.refunded_cents
    );
}
