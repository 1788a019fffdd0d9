//! `cinema watch`, the real binary, against a server started here.

use std::{process::Stdio, time::Duration};

use chrono::{DateTime, Local};
use prost_types::Timestamp;
use tokio::{
    io::{AsyncBufReadExt, BufReader, Lines},
    process::{Child, ChildStdout, Command},
};

use crate::support::{
    Client, TestApp,
    client::room_session_request,
    pb::{ExtendReservationRequest, Reservation, ReserveBestAvailableRequest, SeatKind},
};

/// How long the child may take to print what a test waits for.
const OUTPUT_TIMEOUT: Duration = Duration::from_secs(20);

/// `cinema watch SESSION` against `app`, stdout and stderr piped.
fn watch_command(app: &TestApp, session_id: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cinema"));
    command
        .env_remove("CINEMA_TOKEN")
        .args(["watch", session_id])
        .args(["--addr", &format!("http://{}", app.addr)])
        .args(["--token", &app.token("w")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Reads lines until one satisfies `wanted`; returns every line read.
async fn read_until(
    lines: &mut Lines<BufReader<ChildStdout>>,
    wanted: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut seen = Vec::new();
    let reading = async {
        while let Some(line) = lines.next_line().await.expect("read the watch output") {
            let found = wanted(&line);
            seen.push(line);
            if found {
                return true;
            }
        }
        false
    };
    match tokio::time::timeout(OUTPUT_TIMEOUT, reading).await {
        Ok(true) => seen,
        Ok(false) => panic!("watch exited before printing it; printed {seen:?}"),
        Err(_) => panic!("not printed within {OUTPUT_TIMEOUT:?}; printed {seen:?}"),
    }
}

async fn stop(mut child: Child) {
    child.kill().await.expect("kill the watch");
}

/// Starts `cinema watch` and reads its map, up to the legend's last line.
async fn start_watch(
    app: &TestApp,
    session_id: &str,
) -> (Child, Lines<BufReader<ChildStdout>>, Vec<String>) {
    let mut child = watch_command(app, session_id)
        .spawn()
        .expect("start cinema watch");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let map = read_until(&mut lines, |line| line.starts_with("status:")).await;
    (child, lines, map)
}

/// An update line without its leading time of arrival, which must be one.
fn change_of(line: &str) -> &str {
    let (time, change) = line.split_once(' ').expect("a time and a change");
    assert!(
        chrono::NaiveTime::parse_from_str(time, "%H:%M:%S").is_ok(),
        "{line}"
    );
    change
}

/// A time as `cinema watch` shows it: `12:00:30` on this machine's clock.
fn clock(at: Option<Timestamp>) -> String {
    let at = at.expect("a time");
    let at = DateTime::from_timestamp(at.seconds, u32::try_from(at.nanos).unwrap()).unwrap();
    at.with_timezone(&Local).format("%H:%M:%S").to_string()
}

/// How a reservation's seats read on the watch when it took or moved
/// them: `B3 HELD v1 until 12:00:30, B4 HELD v1 until 12:00:30`.
fn held_line(reservation: &Reservation, version: i64, suffix: &str) -> String {
    let until = clock(reservation.expire_time);
    let seats: Vec<String> = reservation
        .seat_labels
        .iter()
        .map(|label| format!("{label} HELD v{version} until {until}{suffix}"))
        .collect();
    seats.join(", ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_prints_the_seat_map_then_a_line_per_change() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await.session_id;
    let mut child = watch_command(&app, &session)
        .spawn()
        .expect("start cinema watch");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();

    let map = read_until(&mut lines, |line| line.starts_with("status:")).await;
    let header =
        format!("Session {session}  available 16  held 0  sold 0  blocked 0  last change ");
    assert!(map.iter().any(|l| l.starts_with(&header)), "{map:#?}");
    let row_a = format!(
        "A  {}",
        (1..=8)
            .map(|n| format!(" S{n:>2} "))
            .collect::<String>()
            .trim_end()
    );
    assert!(map.contains(&row_a), "no plain row A in {map:#?}");
    assert!(map.iter().any(|l| l.starts_with("B ")), "{map:#?}");
    assert!(!map.concat().contains('\x1b'), "colours in piped output");

    // The map was printed, so the watch is subscribed: this change reaches it.
    let held = app
        .user("alice")
        .reserve(&session, &["A1"])
        .await
        .expect("reserve A1");
    let updates = read_until(&mut lines, |line| line.contains("A1 HELD v1")).await;
    let line = updates.last().expect("the matching line");
    // `12:01:02 A1 HELD v1 until 12:01:32`: a time, then the change.
    assert_eq!(change_of(line), held_line(&held, 1, ""));

    stop(child).await;
    app.stop().await;
}

/// "Filme X" tomorrow in a room of rows `WC_SSSS_CW` and `PP_LRLR_PP`:
/// aisles, wheelchair spaces with companion seats, premium seats and two
/// couple seats.
async fn create_session_in_a_room(admin: &Client) -> String {
    let room = admin
        .create_room("Sala 2", &[("A", "WC_SSSS_CW"), ("B", "PP_LRLR_PP")])
        .await
        .expect("create a room");
    let prices = [
        (SeatKind::Standard, 2500),
        (SeatKind::Premium, 3500),
        (SeatKind::Couple, 3000),
    ];
    admin
        .create_session(room_session_request(&room.room_id, 24, &prices))
        .await
        .expect("create a session in the room")
        .session_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_draws_a_room_by_position_with_kinds_couples_and_blocked_seats() {
    let app = TestApp::spawn().await;
    let (admin, alice) = (app.admin(), app.user("alice"));
    let session = create_session_in_a_room(&admin).await;
    admin
        .block(&session, &["A4"], "broken")
        .await
        .expect("block A4");
    let sold = alice.reserve(&session, &["B1"]).await.expect("reserve B1");
    alice
        .confirm(&sold.reservation_id)
        .await
        .expect("pay for B1");
    let mut child = watch_command(&app, &session)
        .spawn()
        .expect("start cinema watch");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();

    let map = read_until(&mut lines, |line| line.starts_with("status:")).await;
    let header =
        format!("Session {session}  available 14  held 0  sold 1  blocked 1  last change ");
    assert!(map[0].starts_with(&header), "{map:#?}");
    assert_eq!(
        map[1..],
        [
            "   --------------------- screen ---------------------",
            "A   W 1  C 2       S 3 #S 4# S 5  S 6       C 7  W 8",
            "B  [P 1] P 2       L 3==R 4  L 5==R 6       P 7  P 8",
            "blocked: A4 \"broken\"",
            "kinds:  S standard  P premium  W wheelchair space  C companion  \
             L==R couple seat (two halves)  blank: aisle",
            "status:  S 7  available  (S 7) held  [S 7] sold  #S 7# blocked",
        ],
        "{map:#?}"
    );

    // The map was printed, so the watch is subscribed: these changes reach it.
    let couple = alice
        .reserve(&session, &["B5", "B6"])
        .await
        .expect("reserve the couple seat B5-B6");
    let held = read_until(&mut lines, |line| line.contains(" B5 ")).await;
    let line = held.last().expect("the matching line");
    assert_eq!(change_of(line), held_line(&couple, 1, ""));
    admin
        .block(&session, &["A5"], "camera")
        .await
        .expect("block A5");
    let blocked = read_until(&mut lines, |line| line.contains(" A5 ")).await;
    let line = blocked.last().expect("the matching line");
    assert_eq!(change_of(line), "A5 BLOCKED v1 \"camera\"");

    stop(child).await;
    app.stop().await;
}

/// Holds the best `quantity` adjacent seats for `client`.
async fn reserve_best(client: &Client, session_id: &str, quantity: u32) -> Reservation {
    let request = client.request(ReserveBestAvailableRequest {
        session_id: session_id.into(),
        quantity,
        ..Default::default()
    });
    let reply = client.booking().reserve_best_available(request).await;
    reply.expect("the best available seats").into_inner()
}

async fn extend(client: &Client, reservation_id: &str) -> Reservation {
    let request = client.request(ExtendReservationRequest {
        reservation_id: reservation_id.into(),
        ..Default::default()
    });
    let reply = client.booking().extend_reservation(request).await;
    reply.expect("an extension").into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_shows_until_when_best_seats_are_held_and_an_extension_as_one() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice");
    let session = app.create_session(2, 8).await.session_id;
    let (child, mut lines, _) = start_watch(&app, &session).await;

    // 2 rows of 8: the sweet spot is between B4 and B5; of the two blocks
    // of 3 as near, B3-B5 is the one more to the left.
    let best = reserve_best(&alice, &session, 3).await;
    assert_eq!(best.seat_labels, ["B3", "B4", "B5"]);
    let held = read_until(&mut lines, |line| line.contains(" B3 ")).await;
    let line = held.last().expect("the matching line");
    assert_eq!(change_of(line), held_line(&best, 1, ""));

    // A second later, so the new end shows as a later second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let extended = extend(&alice, &best.reservation_id).await;
    assert_eq!(extended.extensions_left, best.extensions_left - 1);
    assert_ne!(clock(extended.expire_time), clock(best.expire_time));
    let moved = read_until(&mut lines, |line| line.contains(" B3 HELD v2")).await;
    let line = moved.last().expect("the matching line");
    // `B3 HELD v2 until 12:01:01 (extended), B4 HELD v2 ...`
    assert_eq!(change_of(line), held_line(&extended, 2, " (extended)"));
    stop(child).await;

    // A watch started now draws the holds and says until when.
    let (late, _, map) = start_watch(&app, &session).await;
    assert_eq!(
        map[3], "B   S 1  S 2 (S 3)(S 4)(S 5) S 6  S 7  S 8",
        "{map:#?}"
    );
    let until = clock(extended.expire_time);
    assert_eq!(
        map[4],
        format!("held: B3, B4, B5 until {until}"),
        "{map:#?}"
    );
    stop(late).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watching_an_unknown_session_exits_non_zero_naming_not_found() {
    let app = TestApp::spawn().await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let output = tokio::time::timeout(OUTPUT_TIMEOUT, watch_command(&app, &unknown).output())
        .await
        .expect("watch did not exit")
        .expect("run cinema watch");
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("NOT_FOUND"), "{stderr}");
    assert!(stderr.contains(&unknown), "{stderr}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_shows_the_last_map_of_a_cancelled_session_and_exits_cleanly() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await.session_id;
    let (mut child, mut lines, _) = start_watch(&app, &session).await;
    app.admin()
        .cancel_session(&session, "projector broken", "")
        .await
        .expect("cancel the session");
    let last = read_until(&mut lines, |line| {
        line.starts_with("The session was cancelled")
    })
    .await;
    let change = change_of(&last[last.len() - 2]);
    assert!(
        change.starts_with(r#"A1 BLOCKED v1 "session cancelled: projector broken", A2 BLOCKED"#),
        "{last:#?}"
    );
    let status = tokio::time::timeout(OUTPUT_TIMEOUT, child.wait())
        .await
        .expect("watch exits")
        .expect("the exit status");
    assert!(status.success(), "{status:?}");
}
