//! TicketService: admission at the door, and reading a ticket.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{convert, layers::auth::caller};
use crate::{
    proto::v1::{self as pb, ticket_service_server::TicketService},
    tickets::Door,
};

pub struct TicketApi {
    door: Arc<Door>,
}

impl TicketApi {
    pub fn new(door: Arc<Door>) -> Self {
        Self { door }
    }
}

#[tonic::async_trait]
impl TicketService for TicketApi {
    async fn admit_ticket(
        &self,
        request: Request<pb::AdmitTicketRequest>,
    ) -> Result<Response<pb::Admission>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let admission = self.door.admit(&caller, &r.code, &r.gate).await?;
        let admission = convert::admission(admission);
        tracing::info!(result = ?admission.result(), gate = %r.gate.trim(), "ticket scanned");
        Ok(Response::new(admission))
    }

    async fn get_ticket(
        &self,
        request: Request<pb::GetTicketRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        let caller = caller(&request)?;
        let ticket_id = convert::parse_id("ticket_id", &request.get_ref().ticket_id)?;
        let ticket = self.door.ticket(&caller, ticket_id).await?;
        Ok(Response::new(convert::ticket(ticket)))
    }
}
