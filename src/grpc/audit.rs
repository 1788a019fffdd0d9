//! AuditService: the audit trail, read by admins, oldest first.

use tonic::{Request, Response, Status};

use super::{
    convert,
    layers::auth::caller,
    paging::{self, PageTokens},
};
use crate::{
    domain::{AuditAction, AuditRecord, Violations, valid},
    proto::{
        self,
        v1::{
            self as pb,
            audit_service_server::{AuditService, AuditServiceServer},
        },
    },
    store::{self, Db},
};

/// The page-token scope of ListAuditRecords.
const LIST_SCOPE: &str = "audit_records";

pub struct AuditApi {
    db: Db,
    page_tokens: PageTokens,
}

impl AuditApi {
    pub fn new(db: Db, page_tokens: PageTokens) -> Self {
        Self { db, page_tokens }
    }

    /// The service, refusing messages over `max_message_bytes` like the others.
    pub fn server(self, max_message_bytes: usize) -> AuditServiceServer<Self> {
        AuditServiceServer::new(self).max_decoding_message_size(max_message_bytes)
    }
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    async fn list_audit_records(
        &self,
        request: Request<pb::ListAuditRecordsRequest>,
    ) -> Result<Response<pb::ListAuditRecordsResponse>, Status> {
        caller(&request)?.require_admin()?;
        let r = request.into_inner();
        let mut violations = Violations::default();
        let session_id =
            violations.check(convert::parse_optional_id("session_id", &r.session_id))?;
        let limit = violations.check(paging::page_size(r.page_size))?;
        violations.finish()?;
        let (session_id, limit) = (valid(session_id)?, valid(limit)?);
        // A token is good only for the session it was made with.
        let scope = match session_id {
            Some(session_id) => format!("{LIST_SCOPE}?session_id={session_id}"),
            None => LIST_SCOPE.to_owned(),
        };
        let cursor = self.page_tokens.decode(&scope, &r.page_token)?;
        let mut records = store::audit::list(&self.db, session_id, cursor, limit + 1).await?;
        let next_page_token = self
            .page_tokens
            .finish_page(&scope, &mut records, limit, |last| last.audit_record_id);
        Ok(Response::new(pb::ListAuditRecordsResponse {
            audit_records: records.into_iter().map(audit_record).collect(),
            next_page_token,
        }))
    }
}

fn audit_record(record: AuditRecord) -> pb::AuditRecord {
    let entry = record.entry;
    pb::AuditRecord {
        audit_record_id: record.audit_record_id.to_string(),
        create_time: Some(proto::timestamp(record.create_time)),
        actor: entry.actor,
        request_id: entry.request_id,
        action: pb::AuditAction::from(entry.action).into(),
        target: entry.target,
        session_id: entry
            .session_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        detail: entry.detail,
    }
}

impl From<AuditAction> for pb::AuditAction {
    fn from(action: AuditAction) -> Self {
        match action {
            AuditAction::RoomCreated => Self::RoomCreated,
            AuditAction::MovieCreated => Self::MovieCreated,
            AuditAction::SessionCreated => Self::SessionCreated,
            AuditAction::SessionCancelled => Self::SessionCancelled,
            AuditAction::SeatsBlocked => Self::SeatsBlocked,
            AuditAction::SeatsUnblocked => Self::SeatsUnblocked,
            AuditAction::SaleRefunded => Self::SaleRefunded,
            AuditAction::TicketAdmitted => Self::TicketAdmitted,
        }
    }
}
