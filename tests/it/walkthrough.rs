//! Runs the README's grpcurl walkthrough, as written, against a fresh server.

use std::{path::Path, process::Command};

use chrono::{DateTime, FixedOffset, TimeDelta};

use crate::support::{SECRET, TestApp, TicketSigner};

/// The shell block between the walkthrough markers of the README.
pub(crate) fn walkthrough() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let block = readme
        .split("<!-- walkthrough -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- /walkthrough -->").next())
        .expect("the README has a walkthrough block");
    block
        .trim()
        .trim_start_matches("```sh")
        .trim_end_matches("```")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough_works_as_written() {
    let app = TestApp::spawn().await;
    // The README talks to the default address and the demo's secret file;
    // here they are the test server's.
    let script = walkthrough()
        .replace("localhost:50051", &app.addr.to_string())
        .replace("$(cat .local/jwt-secret)", SECRET);
    let cinema_dir = Path::new(env!("CARGO_BIN_EXE_cinema")).parent().unwrap();
    let path = format!(
        "{}:{}",
        cinema_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .env("PATH", path)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the walkthrough failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );

    for expected in [
        "cinema.v1.BookingService",
        "cinema.v1.MovieService",
        "cinema.v1.SessionService",
        "grpc.health.v1.Health",
        "\"status\": \"SERVING\"",
        "\"movieTitle\": \"Filme X\"",
        "\"availableCount\": 16",
        "\"label\": \"B8\"",
        "\"paymentReference\": \"pix-123\"",
        "\"amountCents\": \"5000\"",
        "\"snapshot\": {",
        "\"update\": {",
        // Rooms, prices, a HALF ticket and a blocked seat.
        "cinema.v1.VenueService",
        "\"seats\": \"WCSS_SSCW\"",
        "\"seatCount\": 30",
        // The audit trail of the cancelled show.
        "cinema.v1.AuditService",
        "\"action\":\"AUDIT_ACTION_SESSION_CREATED\"",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("created session ") && !stdout.contains("created session null"),
        "{stdout}"
    );
    assert!(
        stdout.contains("holding A1 and A2 in reservation ")
            && !stdout.contains("reservation null"),
        "{stdout}"
    );
    // The room section prints compact JSON, one object per line: these lines,
    // exactly and in this order (other lines may come between them).
    let expected_lines = [
        // the session's prices: WHEELCHAIR and COMPANION take STANDARD's
        r#"{"kind":"SEAT_KIND_STANDARD","priceCents":"2500"}"#,
        r#"{"kind":"SEAT_KIND_PREMIUM","priceCents":"4000"}"#,
        r#"{"kind":"SEAT_KIND_WHEELCHAIR","priceCents":"2500"}"#,
        r#"{"kind":"SEAT_KIND_COMPANION","priceCents":"2500"}"#,
        r#"{"kind":"SEAT_KIND_COUPLE","priceCents":"3000"}"#,
        // row D of the seat map: three couple seats, priced per half
        r#"{"label":"D1","kind":"SEAT_KIND_COUPLE","priceCents":"3000","pairLabel":"D2"}"#,
        r#"{"label":"D2","kind":"SEAT_KIND_COUPLE","priceCents":"3000","pairLabel":"D1"}"#,
        r#"{"label":"D3","kind":"SEAT_KIND_COUPLE","priceCents":"3000","pairLabel":"D4"}"#,
        r#"{"label":"D4","kind":"SEAT_KIND_COUPLE","priceCents":"3000","pairLabel":"D3"}"#,
        r#"{"label":"D5","kind":"SEAT_KIND_COUPLE","priceCents":"3000","pairLabel":"D6"}"#,
        r#"{"label":"D6","kind":"SEAT_KIND_COUPLE","priceCents":"3000","pairLabel":"D5"}"#,
        // alice's reservation: C5 at half of 4000, the couple seat whole
        r#"{"label":"C4","kind":"SEAT_KIND_PREMIUM","ticketType":"TICKET_TYPE_FULL","priceCents":"4000"}"#,
        r#"{"label":"C5","kind":"SEAT_KIND_PREMIUM","ticketType":"TICKET_TYPE_HALF","priceCents":"2000"}"#,
        r#"{"label":"D1","kind":"SEAT_KIND_COUPLE","ticketType":"TICKET_TYPE_FULL","priceCents":"3000"}"#,
        r#"{"label":"D2","kind":"SEAT_KIND_COUPLE","ticketType":"TICKET_TYPE_FULL","priceCents":"3000"}"#,
        r#"{"totalPriceCents":"12000","currency":"BRL"}"#,
        // B5 blocked, bob refused for exactly B5, then B5 back on sale
        r#"{"label":"B5","status":"SEAT_STATUS_BLOCKED","blockReason":"broken armrest"}"#,
        "  Code: FailedPrecondition",
        r#"{"label":"B5","status":"SEAT_STATUS_AVAILABLE"}"#,
        // bob's best 3 standard seats: row B left of the aisle, B2 HALF
        r#"{"label":"B2","kind":"SEAT_KIND_STANDARD","ticketType":"TICKET_TYPE_HALF","priceCents":"1250"}"#,
        r#"{"label":"B3","kind":"SEAT_KIND_STANDARD","ticketType":"TICKET_TYPE_FULL","priceCents":"2500"}"#,
        r#"{"label":"B4","kind":"SEAT_KIND_STANDARD","ticketType":"TICKET_TYPE_FULL","priceCents":"2500"}"#,
        r#"{"totalPriceCents":"6250","currency":"BRL"}"#,
        // alice refused B5 and B7, which would strand B6
        "  Code: FailedPrecondition",
        // tickets: the verified code, then the edited one refused
        "exit status 1",
        // alice's A1 ticket after the usher admitted it
        r#"{"seatLabel":"A1","status":"TICKET_STATUS_ADMITTED"}"#,
        // alice too late to refund, then an admin refunds A3 of three seats
        "  Code: FailedPrecondition",
        r#"{"amountCents":"7500","refundedCents":"2500"}"#,
        r#"{"seatLabel":"A1","status":"TICKET_STATUS_ADMITTED"}"#,
        r#"{"seatLabel":"A2","status":"TICKET_STATUS_VALID"}"#,
        r#"{"seatLabel":"A3","status":"TICKET_STATUS_REFUNDED"}"#,
        // A3 on sale again, and A1's admitted ticket refused a refund
        r#"{"label":"A3","status":"SEAT_STATUS_AVAILABLE"}"#,
        "  Code: FailedPrecondition",
        // the programme: a second show in Sala 2 refused, the room busy
        "  Code: FailedPrecondition",
        // what's on tomorrow evening, by start time (São Paulo's)
        r#"{"time":"18:00","title":"Filme W","rating":"14","room":"Sala 2"}"#,
        r#"{"time":"19:00","title":"Filme X","rating":"-","room":"Sala 1"}"#,
        r#"{"time":"20:30","title":"Filme Y","rating":"-","room":"Sala 2"}"#,
        // the later show cancelled, Bob's sale refunded in full
        r#"{"state":"SESSION_STATE_CANCELLED","cancelReason":"projector broken"}"#,
        r#"{"amountCents":"5000","refundedCents":"5000"}"#,
        r#"{"seatLabel":"B3","status":"TICKET_STATUS_REFUNDED"}"#,
        r#"{"seatLabel":"B4","status":"TICKET_STATUS_REFUNDED"}"#,
        // and no reservation there any more
        "  Code: FailedPrecondition",
    ];
    let mut lines = stdout.lines();
    for expected in expected_lines {
        assert!(
            lines.any(|line| line == expected),
            "missing (or out of order) {expected:?} in:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("created room ") && !stdout.contains("created room null"),
        "{stdout}"
    );
    let sale_id = after_prefix(&stdout, "alice's sale ");
    let (show, later) = after_prefix(&stdout, "created shows ")
        .split_once(" and ")
        .expect("two show ids");
    // The refusals printed on stdout, one violation each: bob's
    // SEAT_UNAVAILABLE for B5 (B6, asked for with it, is free), alice's
    // SINGLE_SEAT_GAP for B6 (B5 and B7 are free), alice's refund too late
    // for her sale, the admitted A1 refused a refund, the second show in
    // Sala 2 refused for the first, and alice refused the cancelled show.
    assert_eq!(
        refusals(&stdout),
        [
            vec![("SEAT_UNAVAILABLE".to_owned(), "B5".to_owned())],
            vec![("SINGLE_SEAT_GAP".to_owned(), "B6".to_owned())],
            vec![("REFUND_WINDOW_CLOSED".to_owned(), sale_id.to_owned())],
            vec![("TICKET_ADMITTED".to_owned(), "A1".to_owned())],
            vec![("ROOM_BUSY".to_owned(), show.to_owned())],
            vec![("SESSION_CANCELLED".to_owned(), later.to_owned())],
        ],
        "{stdout}"
    );
    assert_programme(&stdout);
    assert_extended(&stdout);
    assert_tickets(&stdout, &stderr);
    assert!(
        stderr.contains(r#"{"type":"SEAT_UNAVAILABLE","subject":"A2""#),
        "{stderr}"
    );
    assert!(
        stderr.contains("Code: InvalidArgument") && stderr.contains(r#""field":"movie_title""#),
        "{stderr}"
    );
    app.stop().await;
}

/// The (type, subject) of every precondition violation of each refusal
/// grpcurl printed, in order.
fn refusals(stdout: &str) -> Vec<Vec<(String, String)>> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("  1)\t"))
        .map(|details| {
            let details: serde_json::Value = serde_json::from_str(details).unwrap();
            assert_eq!(
                details["@type"], "type.googleapis.com/google.rpc.PreconditionFailure",
                "{details}"
            );
            details["violations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| (text(&v["type"]), text(&v["subject"])))
                .collect()
        })
        .collect()
}

/// The rest of the one line that starts with `prefix`.
fn after_prefix<'a>(stdout: &'a str, prefix: &str) -> &'a str {
    let found: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix(prefix))
        .collect();
    let [rest] = found[..] else {
        panic!("one line starting with {prefix:?}, not {found:?} in:\n{stdout}");
    };
    rest
}

/// The lines that start with `prefix`, as JSON.
fn json_lines(stdout: &str, prefix: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .filter(|line| line.starts_with(prefix))
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Alice's three tickets with codes the printed public key (the one
/// derived from the server's secret) checks, `cinema ticket verify`
/// naming A1's ticket and refusing the edited code, and the usher's three
/// scans: ADMITTED, ALREADY_ADMITTED at the first door and time, INVALID.
fn assert_tickets(stdout: &str, stderr: &str) {
    let public_key = after_prefix(stdout, "public key ");
    let verifier = TicketSigner::derived_from(SECRET).verifier();
    assert_eq!(public_key, verifier.public_key());
    let tickets = json_lines(stdout, r#"{"ticketId":"#);
    let seats: Vec<(String, String)> = tickets
        .iter()
        .map(|t| (text(&t["seatLabel"]), text(&t["status"])))
        .collect();
    assert_eq!(
        seats,
        ["A1", "A2", "A3"].map(|seat| (seat.to_owned(), "TICKET_STATUS_VALID".to_owned())),
        "{stdout}"
    );
    for ticket in &tickets {
        let code = text(&ticket["code"]);
        assert_eq!(code.len(), 107, "{code}");
        assert!(
            code.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{code}"
        );
        let id = verifier.verify(&code).expect("a genuine code");
        assert_eq!(id.to_string(), text(&ticket["ticketId"]));
    }
    assert_eq!(
        after_prefix(stdout, "genuine: ticket "),
        text(&tickets[0]["ticketId"])
    );
    assert!(
        stderr.contains(
            "cinema: not a ticket of this key: edited, forged or signed by another box office"
        ),
        "{stderr}"
    );

    let scans = json_lines(stdout, r#"{"result":"#);
    let [admitted, again, invalid] = &scans[..] else {
        panic!("three scans, not {scans:?} in:\n{stdout}");
    };
    assert_eq!(text(&admitted["result"]), "ADMISSION_RESULT_ADMITTED");
    assert_eq!(text(&again["result"]), "ADMISSION_RESULT_ALREADY_ADMITTED");
    for scan in [admitted, again] {
        assert_eq!(text(&scan["seatLabel"]), "A1");
        assert_eq!(text(&scan["firstGate"]), "door-1");
        DateTime::parse_from_rfc3339(&text(&scan["firstAdmitTime"])).expect("a time");
    }
    assert_eq!(admitted["firstAdmitTime"], again["firstAdmitTime"]);
    assert_eq!(
        invalid,
        &serde_json::json!({
            "result": "ADMISSION_RESULT_INVALID",
            "seatLabel": null,
            "firstGate": null,
            "firstAdmitTime": null,
        })
    );
}

/// Filme W's shows: the first as created (the movie's title and rating,
/// the room until 1h40 of movie and 15 minutes of turnaround have passed),
/// then both as ListSessions finds them by the movie, a day apart.
fn assert_programme(stdout: &str) {
    let times = |show: &serde_json::Value| {
        let time = |field: &str| DateTime::parse_from_rfc3339(&text(&show[field])).unwrap();
        (time("startsAt"), time("endsAt"))
    };
    let created = json_lines(stdout, r#"{"movieTitle":"Filme W","#);
    let [created] = &created[..] else {
        panic!("one show created, not {created:?} in:\n{stdout}");
    };
    assert_eq!(
        (text(&created["rating"]), text(&created["room"])),
        ("AGE_RATING_14".to_owned(), "Sala 2".to_owned())
    );
    let (starts, ends) = times(created);
    assert_eq!(ends - starts, TimeDelta::minutes(100 + 15));
    let found = json_lines(stdout, r#"{"startsAt":"#);
    let [first, second] = &found[..] else {
        panic!("two shows of the movie, not {found:?} in:\n{stdout}");
    };
    assert_eq!(times(first), (starts, ends));
    assert_eq!(
        times(second),
        (starts + TimeDelta::days(1), ends + TimeDelta::days(1))
    );
    assert!(
        found.iter().all(|show| show["room"] == "Sala 2"),
        "{stdout}"
    );
}

fn text(value: &serde_json::Value) -> String {
    value.as_str().expect("a string").to_owned()
}

/// The hold bob got, then after his extension two seconds later: one
/// extension fewer left, and an end later by those seconds at least.
fn assert_extended(stdout: &str) {
    let holds: Vec<(DateTime<FixedOffset>, u64)> = stdout
        .lines()
        .filter(|line| line.starts_with(r#"{"expireTime":"#))
        .map(|line| {
            let hold: serde_json::Value = serde_json::from_str(line).unwrap();
            let end = DateTime::parse_from_rfc3339(hold["expireTime"].as_str().unwrap());
            (end.unwrap(), hold["extensionsLeft"].as_u64().unwrap())
        })
        .collect();
    let [(first_end, 2), (extended_end, 1)] = holds[..] else {
        panic!("two holds with 2 then 1 extensions left, not {holds:?} in:\n{stdout}");
    };
    assert!(
        extended_end - first_end >= TimeDelta::seconds(2),
        "{first_end} then {extended_end}"
    );
}
