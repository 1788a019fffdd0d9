//! The `cinema` binary as a person runs it.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::support::{
    Authenticator, SECRET, Secret, TestApp, TicketSigner, db, free_port, fresh_prefix,
    pb::{AgeRating, ListSessionsRequest, SeatKind, SessionState},
    precondition_violations,
    process::KillOnDrop,
    programme::{movie_request, movie_session_request},
    resources::{RedisKeys, Streams, TestDatabase},
    service_url, violation,
};

fn cinema() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cinema"));
    for var in [
        "DATABASE_URL",
        "REDIS_URL",
        "NATS_URL",
        "CINEMA_JWT_SECRET",
        "CINEMA_GRPC_ADDR",
        "CINEMA_HOLD_SECONDS",
        "CINEMA_TICKET_KEY",
        "CINEMA_TICKET_PUBLIC_KEY",
        "CINEMA_TURNAROUND",
    ] {
        command.env_remove(var);
    }
    command.env("CINEMA_METRICS_ADDR", "off");
    command
}

fn with_services(command: &mut Command) -> &mut Command {
    command
        .env("DATABASE_URL", service_url("DATABASE_URL"))
        .env("REDIS_URL", service_url("REDIS_URL"))
        .env("NATS_URL", service_url("NATS_URL"))
        .env("CINEMA_JWT_SECRET", SECRET)
}

#[test]
fn a_missing_or_invalid_setting_stops_serve_naming_the_variable() {
    let output = cinema().arg("serve").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("DATABASE_URL: expected a PostgreSQL URL"),
        "{stderr}"
    );

    let output = with_services(&mut cinema())
        .env("CINEMA_HOLD_SECONDS", "soon")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            r#"CINEMA_HOLD_SECONDS: expected a whole number of seconds from 1 to 3600, got "soon""#
        ),
        "{stderr}"
    );

    let output = with_services(&mut cinema())
        .env("CINEMA_JWT_SECRET", "tiny-secret-value")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("CINEMA_JWT_SECRET: expected a secret of at least 32 characters"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("tiny-secret-value"),
        "the secret was echoed: {stderr}"
    );
}

#[test]
fn token_prints_a_token_the_server_accepts() {
    let output = cinema()
        .env("CINEMA_JWT_SECRET", SECRET)
        .args(["token", "--user", "alice", "--admin", "--ttl", "2h"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap();
    let caller = Authenticator::new(&Secret::new(SECRET))
        .verify(Some(&format!("Bearer {}", token.trim())))
        .unwrap();
    assert_eq!((caller.user_id.as_str(), caller.is_admin), ("alice", true));
}

#[test]
fn token_grants_the_staff_role() {
    let output = cinema()
        .env("CINEMA_JWT_SECRET", SECRET)
        .args(["token", "--user", "usher", "--staff"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let token = String::from_utf8(output.stdout).unwrap();
    let caller = Authenticator::new(&Secret::new(SECRET))
        .verify(Some(&format!("Bearer {}", token.trim())))
        .unwrap();
    assert_eq!(
        (caller.user_id.as_str(), caller.is_staff, caller.is_admin),
        ("usher", true, false)
    );
}

/// What a successful run of `command` printed, trimmed.
fn stdout_of(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// The value of the `NAME=` line of `text`.
fn setting<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {name}= line in:\n{text}"))
}

/// `cinema ticket verify code`, with the public key as a flag.
fn verify(code: &str, public_key: &str) -> std::process::Output {
    cinema()
        .args(["ticket", "verify", code, "--public-key", public_key])
        .output()
        .unwrap()
}

#[test]
fn ticket_key_new_prints_a_key_pair_that_signs_and_checks_codes() {
    let pair = stdout_of(cinema().args(["ticket-key", "--new"]));
    assert_eq!(pair.lines().count(), 2, "{pair}");
    let (seed, public_key) = (
        setting(&pair, "CINEMA_TICKET_KEY"),
        setting(&pair, "CINEMA_TICKET_PUBLIC_KEY"),
    );
    let seed: [u8; 32] = URL_SAFE_NO_PAD
        .decode(seed)
        .expect("base64url")
        .try_into()
        .expect("32 bytes");
    let signer = TicketSigner::from_seed(seed);
    assert_eq!(public_key, signer.verifier().public_key());

    // The server's setting takes the seed as printed: `cinema ticket-key`
    // with it prints the same public key.
    let public = stdout_of(
        cinema()
            .env("CINEMA_TICKET_KEY", setting(&pair, "CINEMA_TICKET_KEY"))
            .arg("ticket-key"),
    );
    assert_eq!(public, public_key);

    // Its codes check with the public key alone.
    let ticket_id = Uuid::now_v7();
    let checked = verify(&signer.code(ticket_id), public_key);
    assert_eq!(checked.status.code(), Some(0), "{checked:?}");
    assert_eq!(
        String::from_utf8_lossy(&checked.stdout).trim(),
        format!("genuine: ticket {ticket_id}")
    );

    // Every run makes a new pair.
    let other = stdout_of(cinema().args(["ticket-key", "--new"]));
    assert_ne!(
        setting(&other, "CINEMA_TICKET_KEY"),
        setting(&pair, "CINEMA_TICKET_KEY")
    );
}

#[test]
fn ticket_key_prints_the_public_key_derived_from_the_token_secret() {
    let derived = TicketSigner::derived_from(SECRET).verifier().public_key();
    let public = stdout_of(cinema().env("CINEMA_JWT_SECRET", SECRET).arg("ticket-key"));
    assert_eq!(public, derived);

    // A ticket key of its own wins over the derived one.
    let own = stdout_of(cinema().args(["ticket-key", "--new"]));
    let public = stdout_of(
        cinema()
            .env("CINEMA_JWT_SECRET", SECRET)
            .env("CINEMA_TICKET_KEY", setting(&own, "CINEMA_TICKET_KEY"))
            .arg("ticket-key"),
    );
    assert_eq!(public, setting(&own, "CINEMA_TICKET_PUBLIC_KEY"));

    // Neither: nothing to derive from.
    let neither = cinema().arg("ticket-key").output().unwrap();
    assert_eq!(neither.status.code(), Some(1), "{neither:?}");
    let stderr = String::from_utf8_lossy(&neither.stderr);
    assert!(
        stderr.contains("set CINEMA_TICKET_KEY (or CINEMA_JWT_SECRET"),
        "{stderr}"
    );
}

#[test]
fn ticket_verify_accepts_a_genuine_code_and_refuses_an_edited_one() {
    let signer = TicketSigner::derived_from(SECRET);
    let public_key = signer.verifier().public_key();
    let ticket_id = Uuid::now_v7();
    let code = signer.code(ticket_id);

    let genuine = verify(&code, &public_key);
    assert_eq!(genuine.status.code(), Some(0), "{genuine:?}");
    assert_eq!(
        String::from_utf8_lossy(&genuine.stdout).trim(),
        format!("genuine: ticket {ticket_id}")
    );
    // The key may come from the environment instead.
    let from_env = cinema()
        .env("CINEMA_TICKET_PUBLIC_KEY", &public_key)
        .args(["ticket", "verify", &code])
        .output()
        .unwrap();
    assert_eq!(from_env.status.code(), Some(0), "{from_env:?}");

    // One byte of the ticket id changed, the signature kept: refused.
    let mut bytes = URL_SAFE_NO_PAD.decode(&code).unwrap();
    bytes[15] ^= 1;
    let edited = URL_SAFE_NO_PAD.encode(&bytes);
    // So is a genuine code of another box office's key.
    let foreign = TicketSigner::from_seed([7; 32]).code(ticket_id);
    for refused in [&edited, &foreign, &code[..100]] {
        let output = verify(refused, &public_key);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        assert!(output.stdout.is_empty(), "{output:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr).trim(),
            "cinema: not a ticket of this key: edited, forged or signed by another box office"
        );
    }

    // A public key that is not one says so.
    let output = verify(&code, "not-a-key");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the public key is not an Ed25519 key in base64url"),
        "{stderr}"
    );
}

/// `cinema demo` on `database_url`: what it printed.
fn demo(database_url: &str) -> String {
    let output = cinema()
        .env("DATABASE_URL", database_url)
        .env("CINEMA_JWT_SECRET", SECRET)
        .arg("demo")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The `NAME=value` lines of a demo's summary whose name starts with
/// `prefix` (`SESSION_ID`, `SESSION_ID_2`, ...), in order.
fn demo_ids<'a>(summary: &'a str, prefix: &str) -> Vec<&'a str> {
    summary
        .lines()
        .map(str::trim)
        .filter(|line| {
            line.split_once('=')
                .is_some_and(|(name, _)| name.starts_with(prefix))
        })
        .collect()
}

/// The lines of a demo's summary that start with two spaces and `prefix`.
fn demo_lines<'a>(summary: &'a str, prefix: &str) -> Vec<&'a str> {
    summary
        .lines()
        .filter_map(|line| line.strip_prefix("  "))
        .filter(|line| line.starts_with(prefix))
        .collect()
}

/// Whether `text` is a time such as `19:30`.
fn is_clock(text: Option<&str>) -> bool {
    text.is_some_and(|t| {
        t.len() == 5
            && t.char_indices()
                .all(|(i, c)| if i == 2 { c == ':' } else { c.is_ascii_digit() })
    })
}

/// How many movies, rooms and sessions the database has.
async fn demo_counts(conn: &sea_orm::DatabaseConnection) -> [i64; 3] {
    let mut counts = [0; 3];
    for (count, table) in counts.iter_mut().zip(["movies", "rooms", "sessions"]) {
        *count = db::count(conn, &format!("SELECT count(*) FROM {table}")).await;
    }
    counts
}

/// The demo's shows as the database has them: São Paulo start, title,
/// rating, room, São Paulo time the room is free again, state.
const SHOWS_SQL: &str = "SELECT to_char(s.starts_at AT TIME ZONE INTERVAL '-03:00', 'HH24:MI') \
    || ' ' || s.movie_title || ' ' || m.rating || ' ' || s.room || ' ' \
    || to_char(s.ends_at AT TIME ZONE INTERVAL '-03:00', 'HH24:MI') || ' ' || s.state \
    FROM sessions s JOIN movies m USING (movie_id) ORDER BY s.starts_at, s.room";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_publishes_its_programme_once() {
    let database = TestDatabase::create().await;
    let url = database.url().to_owned();
    let rerun = url.clone();
    let [first, second] = tokio::task::spawn_blocking(move || [demo(&rerun), demo(&rerun)])
        .await
        .unwrap();
    assert!(
        first.starts_with("What's on, the evening of ")
            && first
                .lines()
                .next()
                .unwrap()
                .ends_with(" (São Paulo time; a room is free 15m after its movie ends):"),
        "{first}"
    );
    // Three shows across two rooms, none overlapping its room's other show
    // with the 15 minute turnaround.
    assert_eq!(
        demo_lines(&first, "")
            .into_iter()
            .filter(|line| is_clock(line.get(..5)))
            .collect::<Vec<_>>(),
        [
            "19:00  Filme X  12  Sala 1  ends 20:50, room free 21:05  (104 seats)",
            "19:30  Filme Y  L   Sala 2  ends 21:05, room free 21:20  (50 seats)",
            "21:30  Filme X  12  Sala 1  ends 23:20, room free 23:35  (104 seats)",
        ],
        "{first}"
    );
    assert_eq!(
        demo_lines(&first, "Filme "),
        [
            "Filme X, 1h50, rated 12: Four friends plan one last heist on the Avenida \
             Paulista; everything goes wrong except the getaway.",
            "Filme Y, 1h35, rated L: A family drives the coast road from Santos to \
             Paraty, told by their dog.",
        ],
        "{first}"
    );
    assert!(
        first.contains(
            "  prices (BRL): STANDARD 25.00, PREMIUM 35.00, WHEELCHAIR 25.00, \
             COMPANION 25.00, COUPLE 30.00 a half\n"
        ),
        "{first}"
    );
    assert!(
        first.contains(
            "  prices (BRL): STANDARD 22.00, PREMIUM 30.00, WHEELCHAIR 22.00, COMPANION 22.00\n"
        ),
        "{first}"
    );
    assert!(first.contains("    H  _LR_LRLRLR_LR_\n"), "{first}");
    assert!(first.contains("    E  PP_PPPPPP_PP\n"), "{first}");
    let names = |summary: &str, prefix: &str| -> Vec<String> {
        demo_ids(summary, prefix)
            .iter()
            .map(|line| line.split('=').next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&first, "SESSION_ID"),
        ["SESSION_ID", "SESSION_ID_2", "SESSION_ID_3"]
    );
    assert_eq!(names(&first, "MOVIE_ID"), ["MOVIE_ID", "MOVIE_ID_2"]);
    assert_eq!(names(&first, "ROOM_ID"), ["ROOM_ID", "ROOM_ID_2"]);
    // The second run found everything the first published.
    for prefix in ["SESSION_ID", "MOVIE_ID", "ROOM_ID"] {
        assert_eq!(demo_ids(&first, prefix), demo_ids(&second, prefix));
    }
    let conn = db::connect(&url).await;
    assert_eq!(demo_counts(&conn).await, [2, 2, 3]);
    assert_eq!(
        db::strings(&conn, SHOWS_SQL).await,
        [
            "19:00 Filme X 12 Sala 1 21:05 scheduled",
            "19:30 Filme Y L Sala 2 21:20 scheduled",
            "21:30 Filme X 12 Sala 1 23:35 scheduled",
        ]
    );
    // A token per role: an admin, an usher with the staff role, two users.
    let auth = Authenticator::new(&Secret::new(SECRET));
    let roles: Vec<(String, bool, bool)> = ["ADMIN", "USHER", "ALICE", "BOB"]
        .into_iter()
        .map(|who| {
            let token = setting(&first, &format!("  {who}_TOKEN"));
            let caller = auth.verify(Some(&format!("Bearer {token}"))).unwrap();
            (caller.user_id, caller.is_admin, caller.is_staff)
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("admin".to_owned(), true, false),
            ("usher".to_owned(), false, true),
            ("alice".to_owned(), false, false),
            ("bob".to_owned(), false, false),
        ]
    );

    // A day later (the shows moved a day back, as if published yesterday):
    // that evening's three shows, with the same movies and rooms.
    conn.execute_unprepared(
        "UPDATE sessions SET starts_at = starts_at - interval '1 day', \
         ends_at = ends_at - interval '1 day'",
    )
    .await
    .unwrap();
    let next_day = tokio::task::spawn_blocking(move || demo(&url))
        .await
        .unwrap();
    for prefix in ["MOVIE_ID", "ROOM_ID"] {
        assert_eq!(demo_ids(&first, prefix), demo_ids(&next_day, prefix));
    }
    let (shows, next_shows) = (
        demo_ids(&first, "SESSION_ID"),
        demo_ids(&next_day, "SESSION_ID"),
    );
    assert_eq!(next_shows.len(), 3, "{next_day}");
    assert!(
        next_shows.iter().all(|show| !shows.contains(show)),
        "{next_day}"
    );
    assert_eq!(demo_counts(&conn).await, [2, 2, 6]);
    conn.close().await.unwrap();
    database.remove().await;
}

/// The id a demo's summary gives `name` (`SESSION_ID_3`, ...).
fn demo_id(summary: &str, name: &str) -> String {
    setting(summary, &format!("  {name}")).to_owned()
}

// The demo's programme as a server serves it: what's on, each movie's shows,
// rooms held until each movie ends plus the server's turnaround (the same 15
// minutes the demo planned with), and a show cancelled through the API
// found, not published again, by the next run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_programme_is_served_as_it_was_published() {
    let app = TestApp::spawn().await;
    let url = app.settings.database.url.clone();
    let printed = tokio::task::spawn_blocking(move || demo(&url))
        .await
        .unwrap();
    let [first, second, third] =
        ["SESSION_ID", "SESSION_ID_2", "SESSION_ID_3"].map(|name| demo_id(&printed, name));
    let (alice, admin) = (app.user("alice"), app.admin());

    let movies = alice.list_movies(10, "").await.unwrap().movies;
    let catalogue: Vec<(&str, i64, AgeRating)> = movies
        .iter()
        .map(|m| {
            (
                m.title.as_str(),
                m.duration.unwrap_or_default().seconds,
                m.rating(),
            )
        })
        .collect();
    assert_eq!(
        catalogue,
        [
            ("Filme X", 110 * 60, AgeRating::AgeRating12),
            ("Filme Y", 95 * 60, AgeRating::L),
        ]
    );
    assert_eq!(movies[0].movie_id, demo_id(&printed, "MOVIE_ID"));
    let filme_x = alice.get_movie(&movies[0].movie_id).await.unwrap();
    assert_eq!(filme_x, movies[0]);

    // What's on that evening, 18:00 to midnight in São Paulo, with seats left.
    let seven_pm = alice.get_session(&first).await.unwrap().starts_at.unwrap();
    let hours = |h: i64| prost_types::Timestamp {
        seconds: seven_pm.seconds + h * 3600,
        nanos: 0,
    };
    let evening = ListSessionsRequest {
        starts_after: Some(hours(-1)),
        starts_before: Some(hours(5)),
        only_with_seats: true,
        ..Default::default()
    };
    let on = alice.list_sessions_where(evening.clone()).await.unwrap();
    let shows: Vec<(&str, &str, &str, AgeRating, i64)> = on
        .sessions
        .iter()
        .map(|s| {
            let starts = s.starts_at.unwrap_or_default().seconds;
            let ends = s.ends_at.unwrap_or_default().seconds;
            (
                s.session_id.as_str(),
                s.movie_title.as_str(),
                s.room.as_str(),
                s.rating(),
                (ends - starts) / 60,
            )
        })
        .collect();
    assert_eq!(
        shows,
        [
            (
                first.as_str(),
                "Filme X",
                "Sala 1",
                AgeRating::AgeRating12,
                110 + 15
            ),
            (second.as_str(), "Filme Y", "Sala 2", AgeRating::L, 95 + 15),
            (
                third.as_str(),
                "Filme X",
                "Sala 1",
                AgeRating::AgeRating12,
                110 + 15
            ),
        ]
    );
    let playing = alice
        .list_sessions_where(ListSessionsRequest {
            movie_id: filme_x.movie_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let ids: Vec<&str> = playing
        .sessions
        .iter()
        .map(|s| s.session_id.as_str())
        .collect();
    assert_eq!(ids, [first.as_str(), third.as_str()]);

    // Sala 1 is the 19:00 show's until 21:05: a short at 20:00 is refused,
    // one of a minute at 21:05 fits before the 21:30 show.
    let short = admin
        .create_movie(movie_request("Curta", 1, AgeRating::L))
        .await
        .unwrap();
    let sala_1 = demo_id(&printed, "ROOM_ID");
    let prices = [(SeatKind::Premium, 3500), (SeatKind::Couple, 3000)];
    let at = |minutes: i64| {
        let starts = chrono::DateTime::from_timestamp(seven_pm.seconds + minutes * 60, 0).unwrap();
        movie_session_request(&short.movie_id, &sala_1, starts, &prices)
    };
    let busy = admin.create_session(at(60)).await.unwrap_err();
    assert_eq!(
        precondition_violations(&busy),
        [violation("ROOM_BUSY", &first)]
    );
    let fits = admin.create_session(at(125)).await.unwrap();
    assert_eq!(
        fits.starts_at.unwrap_or_default().seconds,
        seven_pm.seconds + 125 * 60
    );

    // The 21:30 show cancelled: the next run finds it, and says so.
    let cancelled = admin
        .cancel_session(&third, "projector broken", &Uuid::new_v4().to_string())
        .await
        .unwrap();
    assert_eq!(cancelled.state(), SessionState::Cancelled);
    let url = app.settings.database.url.clone();
    let again = tokio::task::spawn_blocking(move || demo(&url))
        .await
        .unwrap();
    for prefix in ["SESSION_ID", "MOVIE_ID", "ROOM_ID"] {
        assert_eq!(demo_ids(&printed, prefix), demo_ids(&again, prefix));
    }
    assert!(
        again.contains(
            "  21:30  Filme X  12  Sala 1  ends 23:20, room free 23:35  (104 seats)  \
             CANCELLED: projector broken\n"
        ),
        "{again}"
    );
    let on = alice.list_sessions_where(evening).await.unwrap();
    let ids: Vec<&str> = on.sessions.iter().map(|s| s.session_id.as_str()).collect();
    assert_eq!(
        ids,
        [first.as_str(), second.as_str(), fits.session_id.as_str()]
    );
    app.stop().await;
}

// Multi-threaded: the blocking reads below must not starve the client's
// connection task, which has to answer the server's GOAWAY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_stops_cleanly_on_sigterm() {
    let database = TestDatabase::create().await;
    // Keys and streams of its own, not those of the default prefix.
    let prefix = fresh_prefix();
    let _keys = RedisKeys::new(&service_url("REDIS_URL"), &prefix);
    let _streams = Streams::new(&service_url("NATS_URL"), &prefix);
    let mut child = KillOnDrop(
        with_services(&mut cinema())
            .env("DATABASE_URL", database.url())
            .env("CINEMA_REDIS_PREFIX", &prefix)
            .env("CINEMA_NATS_PREFIX", &prefix)
            .env("CINEMA_GRPC_ADDR", "127.0.0.1:0")
            .env("CINEMA_LOG_FORMAT", "json")
            .arg("serve")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("serve exited before listening")
            .unwrap();
        let log: serde_json::Value = serde_json::from_str(&line).expect("JSON log lines");
        if log["message"] == "serving gRPC" {
            break log["addr"].as_str().unwrap().to_owned();
        }
    };
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .expect("health answers");

    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let exit = child.0.wait().unwrap();
    assert!(exit.success(), "exit {exit:?}; log: {rest:?}");
    assert!(rest.iter().any(|l| l.contains("\"stopped\"")), "{rest:?}");
    assert!(
        !rest.iter().any(|l| l.contains("drain timed out")),
        "{rest:?}"
    );
    database.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_exits_zero_only_for_a_serving_server() {
    let app = TestApp::spawn().await;
    let serving = tokio::task::spawn_blocking({
        let addr = format!("http://{}", app.addr);
        move || cinema().args(["health", "--addr", &addr]).output().unwrap()
    })
    .await
    .unwrap();
    assert!(serving.status.success(), "{serving:?}");
    assert_eq!(
        String::from_utf8_lossy(&serving.stdout).trim(),
        format!("http://{} is SERVING", app.addr)
    );
    app.stop().await;

    let nobody = free_port();
    let absent = cinema()
        .args(["health", "--addr", &format!("http://127.0.0.1:{nobody}")])
        .output()
        .unwrap();
    assert_eq!(absent.status.code(), Some(1), "{absent:?}");
    assert!(
        String::from_utf8_lossy(&absent.stderr).contains("connecting to"),
        "{absent:?}"
    );
}
