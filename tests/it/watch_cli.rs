//! `cinema watch`, the real binary, against a server started here.

use std::{process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, BufReader, Lines},
    process::{Child, ChildStdout, Command},
};

use crate::support::TestApp;

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
