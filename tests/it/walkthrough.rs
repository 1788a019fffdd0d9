//! Runs the README's grpcurl walkthrough, as written, against a fresh server.

use std::{path::Path, process::Command};

use crate::support::{SECRET, TestApp};

/// The shell block between the walkthrough markers of the README.
fn walkthrough() -> String {
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
