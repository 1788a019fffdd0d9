//! Every `cinema-bench` scenario, run for a couple of seconds with small
//! numbers against a test server, so the bench keeps working. Only
//! outcomes are asserted: the exit status, and that the `--json` report
//! parses and says every correctness check passed. Timings are the
//! benchmark's business, not the tests'.

use std::{path::PathBuf, process::Stdio, time::Duration};

use tokio::process::Command;

use crate::support::{SECRET, TestApp, heavy};

/// A generous bound on one scenario run, for a slow shared machine.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `cinema-bench <scenario> <args>` against `app` and returns its JSON report.
async fn bench(app: &TestApp, scenario: &str, args: &[&str]) -> serde_json::Value {
    let json = std::env::temp_dir().join(format!("cinema-bench-{}.json", uuid::Uuid::new_v4()));
    let mut command = Command::new(env!("CARGO_BIN_EXE_cinema-bench"));
    for (var, _) in std::env::vars_os() {
        if var.to_str().is_some_and(|v| v.starts_with("CINEMA_")) {
            command.env_remove(var);
        }
    }
    command
        .arg(scenario)
        .args(["--addr", &format!("http://{}", app.addr)]);
    // The checks, the baseline and the transaction counts read the
    // database; `watch` checks deliveries only.
    if scenario != "watch" {
        command.args(["--database-url", &app.settings.database.url]);
    }
    command
        .arg("--json")
        .arg(&json)
        .args(args)
        .env("CINEMA_JWT_SECRET", SECRET)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(RUN_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("cinema-bench {scenario} ran longer than {RUN_TIMEOUT:?}"))
        .expect("run cinema-bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "cinema-bench {scenario} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    let report = read_report(&json);
    assert_eq!(report["scenario"], scenario, "{report}");
    let checks = report["checks"].as_array().expect("a checks array");
    assert!(!checks.is_empty(), "no checks in {report}");
    for check in checks {
        assert_eq!(check["passed"], true, "{check}\n{stdout}");
    }
    assert_eq!(report["passed"], true, "{report}");
    report
}

fn read_report(path: &PathBuf) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("the --json report");
    let _ = std::fs::remove_file(path);
    serde_json::from_str(&text).expect("a JSON report")
}

/// A server whose holds last 2 s, so `expiry` is quick.
async fn short_hold_server() -> TestApp {
    TestApp::spawn_with(|settings| settings.hold_duration = Duration::from_secs(2)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_runs_with_its_baseline() {
    let _heavy = heavy().await;
    let app = short_hold_server().await;
    let args = [
        "--clients",
        "4",
        "--duration",
        "1s",
        "--rounds",
        "2",
        "--sessions",
        "3",
        "--connections",
        "2",
    ];
    let report = bench(&app, "throughput", &args).await;
    assert!(
        report["reserve"]["codes"]["OK"].as_u64() > Some(0),
        "{report}"
    );
    assert!(
        report["baseline_reserve"]["calls"].as_u64() > Some(0),
        "{report}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stampede_runs_both_races() {
    let _heavy = heavy().await;
    let app = short_hold_server().await;
    let args = [
        "--callers",
        "50",
        "--connections",
        "4",
        "--stats-wait",
        "0s",
    ];
    let report = bench(&app, "stampede", &args).await;
    assert_eq!(report["races"][0]["winners"], 1, "{report}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_runs() {
    let _heavy = heavy().await;
    let app = short_hold_server().await;
    let args = ["--rate", "10", "--duration", "2s", "--sessions", "1"];
    bench(&app, "flow", &args).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_runs() {
    let _heavy = heavy().await;
    let app = short_hold_server().await;
    let args = ["--holds", "3", "--interval", "50ms", "--timeout", "15s"];
    bench(&app, "expiry", &args).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_runs() {
    let _heavy = heavy().await;
    let app = short_hold_server().await;
    let args = [
        "--watchers",
        "20",
        "--changes",
        "4",
        "--connections",
        "2",
        "--rows",
        "4",
        "--seats-per-row",
        "4",
    ];
    bench(&app, "watch", &args).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn best_runs_its_stampede_and_fills_sessions() {
    let _heavy = heavy().await;
    // Holds outlast the run: the checks count on no seat being freed.
    let app = TestApp::spawn().await;
    let args = [
        "--callers",
        "50",
        "--clients",
        "4",
        "--sessions",
        "2",
        // Room for twice the callers' blocks.
        "--rows",
        "5",
        "--seats-per-row",
        "40",
        "--connections",
        "4",
        "--timeout",
        "60s",
    ];
    let report = bench(&app, "best", &args).await;
    assert_eq!(report["stampede"]["winners"], 50, "{report}");
    assert_eq!(report["throughput"]["sessions_filled"], 2, "{report}");
    app.stop().await;
}
