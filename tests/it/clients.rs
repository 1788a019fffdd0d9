//! The generated Python and TypeScript clients, each running its own test
//! suite against a fresh server. `scripts/clients` sets them up first
//! (`scripts/test` does that).

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use crate::support::{
    Authenticator, TestApp, Topology,
    tls::{Ca, TlsFiles, spawn_tls_server},
};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `program args` in `dir` with the server's address, tokens (an
/// admin's, alice's, bob's and an usher's with the staff role) and event
/// stream in the environment, and a second instance speaking TLS with the
/// CA that signed its certificate, and fails with its output if it fails.
async fn run_suite(app: &TestApp, dir: &Path, program: &Path, args: &[&str]) {
    assert!(
        program.exists(),
        "{} is missing: run scripts/clients first",
        program.display()
    );
    let topology = Topology::new(&app.settings.nats.prefix);
    let usher_token = Authenticator::new(&app.settings.jwt.secret)
        .mint_with_roles("usher", &["staff"], Duration::from_secs(600))
        .expect("mint a token");
    let ca = Ca::new("cinema clients test CA");
    let files = TlsFiles::new(&ca.server());
    files.replace("ca.pem", &ca.pem());
    let tls_server = spawn_tls_server(app, &files, &[], &ca, None).await;
    let mut command = Command::new(program);
    command
        .env_remove("CINEMA_CA_FILE")
        .env("CINEMA_TLS_ADDR", tls_server.addr.to_string())
        .env("CINEMA_TLS_CA_FILE", files.path("ca.pem"))
        .args(args)
        .current_dir(dir)
        .env("CINEMA_ADDR", app.addr.to_string())
        .env("CINEMA_ADMIN_TOKEN", app.admin_token())
        .env("CINEMA_ALICE_TOKEN", app.token("alice"))
        .env("CINEMA_BOB_TOKEN", app.token("bob"))
        .env("CINEMA_USHER_TOKEN", usher_token)
        .env("NATS_URL", &app.settings.nats.url)
        .env("CINEMA_EVENTS_STREAM", &topology.stream)
        .env("CINEMA_EVENTS_SUBJECT_ROOT", &topology.events_root);
    let output =
        tokio::task::spawn_blocking(move || command.output().expect("start the client suite"))
            .await
            .expect("the client suite's thread");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the suite failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    println!("{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_client_plays_the_whole_flow() {
    let app = TestApp::spawn().await;
    let dir = repo().join("clients/python");
    run_suite(
        &app,
        &dir,
        &dir.join(".venv/bin/python"),
        &["-m", "pytest", "-q", "tests"],
    )
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_client_plays_the_whole_flow() {
    let app = TestApp::spawn().await;
    let dir = repo().join("clients/typescript");
    let npm = which("npm");
    run_suite(&app, &dir, &npm, &["test", "--silent"]).await;
    app.stop().await;
}

fn which(program: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(program))
                .find(|p| p.exists())
        })
        .unwrap_or_else(|| PathBuf::from(program))
}
