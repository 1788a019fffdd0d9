//! The audit trail's call, as a [`Client`] method, and what tests compare
//! of its records.

use tonic::{Status, transport::Channel};

use super::{
    client::{Client, within},
    pb::{
        AuditAction, AuditRecord, ListAuditRecordsRequest, ListAuditRecordsResponse,
        audit_service_client::AuditServiceClient,
    },
};

impl Client {
    pub fn audit(&self) -> AuditServiceClient<Channel> {
        AuditServiceClient::new(self.channel())
    }

    /// One page of the audit trail, of `session_id` only unless it is empty.
    pub async fn list_audit_records(
        &self,
        session_id: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<ListAuditRecordsResponse, Status> {
        let request = self.request(ListAuditRecordsRequest {
            page_size,
            page_token: page_token.into(),
            session_id: session_id.into(),
        });
        within(self.audit().list_audit_records(request)).await
    }

    /// Every record of the trail (of `session_id` only unless it is empty),
    /// read `page_size` at a time.
    pub async fn audit_trail(&self, session_id: &str, page_size: i32) -> Vec<AuditRecord> {
        let mut records = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .list_audit_records(session_id, page_size, &token)
                .await
                .expect("a page of the audit trail");
            // 0 asks for the default page size.
            let asked = if page_size == 0 { 50 } else { page_size };
            assert!(
                page.audit_records.len() <= usize::try_from(asked).unwrap_or(0),
                "a page longer than asked for"
            );
            records.extend(page.audit_records);
            if page.next_page_token.is_empty() {
                return records;
            }
            token = page.next_page_token;
        }
    }
}

/// What a test compares of a record: (actor, request id, action, target,
/// session id).
pub type Seen = (String, String, AuditAction, String, String);

/// The [`Seen`] fields of each record, in order.
pub fn seen(records: &[AuditRecord]) -> Vec<Seen> {
    records
        .iter()
        .map(|r| {
            (
                r.actor.clone(),
                r.request_id.clone(),
                r.action(),
                r.target.clone(),
                r.session_id.clone(),
            )
        })
        .collect()
}

/// One expected record, as [`seen`] lists them.
pub fn record(
    actor: &str,
    request_id: &str,
    action: AuditAction,
    target: &str,
    session_id: &str,
) -> Seen {
    (
        actor.into(),
        request_id.into(),
        action,
        target.into(),
        session_id.into(),
    )
}
