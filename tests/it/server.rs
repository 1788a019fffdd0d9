//! The server around the services: health, reflection, migrations.

use tokio_stream::StreamExt;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::support::{TestApp, db, internals::store, resources::TestDatabase};

#[tokio::test]
async fn health_reports_serving_for_the_server_and_each_service() {
    let app = TestApp::spawn().await;
    let mut health = HealthClient::new(app.channel.clone());
    for service in [
        "",
        "cinema.v1.SessionService",
        "cinema.v1.BookingService",
        "cinema.v1.VenueService",
        "cinema.v1.TicketService",
        "cinema.v1.AuditService",
    ] {
        let response = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|e| panic!("health of {service:?}: {e}"));
        assert_eq!(
            response.get_ref().status,
            ServingStatus::Serving as i32,
            "{service:?}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_every_service_and_health() {
    use tonic_reflection::pb::{v1, v1alpha};
    let app = TestApp::spawn().await;
    let expected = [
        "cinema.v1.AuditService",
        "cinema.v1.BookingService",
        "cinema.v1.SessionService",
        "cinema.v1.TicketService",
        "cinema.v1.VenueService",
        "grpc.health.v1.Health",
    ];

    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(app.channel.clone());
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        responses.next().await.unwrap().unwrap().message_response
    else {
        panic!("not a service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for name in expected {
        assert!(
            names.iter().any(|n| n == name),
            "v1 reflection misses {name}: {names:?}"
        );
    }

    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut client =
        v1alpha::server_reflection_client::ServerReflectionClient::new(app.channel.clone());
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        responses.next().await.unwrap().unwrap().message_response
    else {
        panic!("not a service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for name in expected {
        assert!(
            names.iter().any(|n| n == name),
            "v1alpha reflection misses {name}: {names:?}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn instances_starting_at_once_apply_migrations_once() {
    let database = TestDatabase::create().await;
    // One pool per "instance", as separate processes would have.
    let mut pools = Vec::new();
    for _ in 0..3 {
        pools.push(store::connect(database.url(), 1).await.unwrap());
    }
    let (a, b, c) = tokio::join!(
        migration::migrate(&pools[0]),
        migration::migrate(&pools[1]),
        migration::migrate(&pools[2])
    );
    assert!(a.is_ok() && b.is_ok() && c.is_ok(), "{a:?} {b:?} {c:?}");
    let applied = db::count(
        &pools[0],
        "SELECT count(*)::bigint AS n FROM seaql_migrations",
    )
    .await;
    use migration::MigratorTrait;
    assert_eq!(applied as usize, migration::Migrator::migrations().len());
    for pool in pools {
        pool.close().await.unwrap();
    }
    database.remove().await;
}
