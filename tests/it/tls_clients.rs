//! The command-line clients and the README walkthrough against a server
//! speaking TLS: an `https://` address and the CA file that signed its
//! certificate (`--ca-file` or `CINEMA_CA_FILE`).

use std::{
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::{
    SECRET, TestApp,
    process::ServerProcess,
    tls::{Ca, TlsFiles, spawn_tls_server},
};

/// A TLS server for `app`'s world, and its files (the CA in `ca.pem`).
async fn tls_server(app: &TestApp) -> (ServerProcess, TlsFiles) {
    let ca = Ca::new("cinema test CA");
    let files = TlsFiles::new(&ca.server());
    files.replace("ca.pem", &ca.pem());
    let server = spawn_tls_server(app, &files, &[], &ca, None).await;
    (server, files)
}

/// `program` from the build, with no CINEMA_ setting of the test run.
fn command(program: &str) -> Command {
    let mut command = Command::new(program);
    for (var, _) in std::env::vars_os() {
        if var.to_str().is_some_and(|v| v.starts_with("CINEMA_")) {
            command.env_remove(var);
        }
    }
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cinema_health_checks_a_tls_server_with_its_ca_file() {
    let app = TestApp::spawn().await;
    let (server, files) = tls_server(&app).await;
    let addr = format!("https://{}", server.addr);
    let ca_file = files.path("ca.pem");
    let health = |ca_flag: bool, ca_env: bool| {
        let mut health = command(env!("CARGO_BIN_EXE_cinema"));
        health.args(["health", "--addr", &addr]);
        if ca_flag {
            health.arg("--ca-file").arg(&ca_file);
        }
        if ca_env {
            health.env("CINEMA_CA_FILE", &ca_file);
        }
        tokio::task::spawn_blocking(move || health.output().expect("run cinema health"))
    };

    let flag = health(true, false).await.expect("the health thread");
    assert!(flag.status.success(), "{flag:?}");
    assert_eq!(
        String::from_utf8_lossy(&flag.stdout).trim(),
        format!("{addr} is SERVING")
    );
    let env = health(false, true).await.expect("the health thread");
    assert!(env.status.success(), "{env:?}");
    // Without the CA, the public web roots do not vouch for this server.
    let untrusted = health(false, false).await.expect("the health thread");
    assert_eq!(untrusted.status.code(), Some(1), "{untrusted:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cinema_watch_draws_a_seat_map_from_a_tls_server() {
    let app = TestApp::spawn().await;
    let (server, files) = tls_server(&app).await;
    let session_id = app.create_session(2, 8).await.session_id;
    let mut watch = tokio::process::Command::from(command(env!("CARGO_BIN_EXE_cinema")));
    watch
        .args(["watch", &session_id, "--token", &app.token("w")])
        .args(["--addr", &format!("https://{}", server.addr)])
        .arg("--ca-file")
        .arg(files.path("ca.pem"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    let mut child = watch.spawn().expect("start cinema watch");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let legend = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.expect("read the watch") {
            if line.starts_with("status:") {
                return line;
            }
        }
        panic!("cinema watch ended before drawing the map")
    })
    .await
    .expect("the map within 20 s");
    assert!(legend.contains("available"), "{legend}");
    child.kill().await.expect("stop the watch");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cinema_bench_runs_against_a_tls_server() {
    let app = TestApp::spawn().await;
    let (server, files) = tls_server(&app).await;
    let mut bench = command(env!("CARGO_BIN_EXE_cinema-bench"));
    bench
        .args(["flow", "--addr", &format!("https://{}", server.addr)])
        .arg("--ca-file")
        .arg(files.path("ca.pem"))
        .args(["--rate", "5", "--duration", "1s", "--sessions", "1"])
        .args(["--database-url", &app.settings.database.url])
        .env("CINEMA_JWT_SECRET", SECRET)
        .stdin(Stdio::null());
    let output = tokio::task::spawn_blocking(move || bench.output().expect("run cinema-bench"))
        .await
        .expect("the bench thread");
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough_runs_over_tls_with_a_ca_file() {
    let app = TestApp::spawn().await;
    let (server, files) = tls_server(&app).await;
    let script = crate::walkthrough::walkthrough()
        .replace("localhost:50051", &server.addr.to_string())
        .replace("$(cat .local/jwt-secret)", SECRET);
    let cinema_dir = Path::new(env!("CARGO_BIN_EXE_cinema"))
        .parent()
        .expect("the binary's directory");
    let path = format!(
        "{}:{}",
        cinema_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut bash = command("bash");
    bash.args(["-euo", "pipefail", "-c", &script])
        .env("PATH", path)
        .env("CINEMA_CA_FILE", files.path("ca.pem"));
    let output = tokio::task::spawn_blocking(move || bash.output().expect("run bash"))
        .await
        .expect("the walkthrough's thread");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the walkthrough failed over TLS\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "\"status\": \"SERVING\"",
        "\"movieTitle\": \"Filme X\"",
        "\"snapshot\": {",
        "\"update\": {",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    app.stop().await;
}
