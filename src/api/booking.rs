//! BookingService: seat holds, payment, cancellation and purchase history.

use crate::proto::v1::booking_service_server::BookingService;

/// Every RPC answers UNIMPLEMENTED until booking lands.
pub struct BookingApi;

#[tonic::async_trait]
impl BookingService for BookingApi {}
