//! `cinema watch`, the real binary, against a server started here.

use std::{process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, BufReader, Lines},
    process::{Child, ChildStdout, Command},
};

use crate::support::{Client, TestApp, client::room_session_request, pb::SeatKind};

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
    app.user("alice")
        .reserve(&session, &["A1"])
        .await
        .expect("reserve A1");
    let updates = read_until(&mut lines, |line| line.contains("A1 HELD v1")).await;
    let line = updates.last().expect("the matching line");
    // `12:01:02 A1 HELD v1`: a time, then the change.
    let (time, change) = line.split_once(' ').expect("a time and a change");
    assert!(
        chrono::NaiveTime::parse_from_str(time, "%H:%M:%S").is_ok(),
        "{line}"
    );
    assert_eq!(change, "A1 HELD v1");

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
    alice
        .reserve(&session, &["B5", "B6"])
        .await
        .expect("reserve the couple seat B5-B6");
    let held = read_until(&mut lines, |line| line.contains(" B5 ")).await;
    assert!(
        held.last()
            .expect("the matching line")
            .ends_with(" B5 HELD v1, B6 HELD v1"),
        "{held:?}"
    );
    admin
        .block(&session, &["A5"], "camera")
        .await
        .expect("block A5");
    let blocked = read_until(&mut lines, |line| line.contains(" A5 ")).await;
    assert!(
        blocked
            .last()
            .expect("the matching line")
            .ends_with(" A5 BLOCKED v1 \"camera\""),
        "{blocked:?}"
    );

    stop(child).await;
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
