//! One action of an admin or staff member: append-only (the schema refuses
//! an update or a delete).

use sea_orm::entity::prelude::*;

use crate::domain;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub audit_record_id: Uuid,
    pub create_time: DateTimeUtc,
    pub actor: String,
    pub request_id: String,
    pub action: AuditAction,
    pub target: String,
    pub session_id: Option<Uuid>,
    pub detail: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// `audit_records.action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum AuditAction {
    #[sea_orm(string_value = "room_created")]
    RoomCreated,
    #[sea_orm(string_value = "movie_created")]
    MovieCreated,
    #[sea_orm(string_value = "session_created")]
    SessionCreated,
    #[sea_orm(string_value = "session_cancelled")]
    SessionCancelled,
    #[sea_orm(string_value = "seats_blocked")]
    SeatsBlocked,
    #[sea_orm(string_value = "seats_unblocked")]
    SeatsUnblocked,
    #[sea_orm(string_value = "sale_refunded")]
    SaleRefunded,
    #[sea_orm(string_value = "ticket_admitted")]
    TicketAdmitted,
}

impl From<domain::AuditAction> for AuditAction {
    fn from(action: domain::AuditAction) -> Self {
        use domain::AuditAction as A;
        match action {
            A::RoomCreated => Self::RoomCreated,
            A::MovieCreated => Self::MovieCreated,
            A::SessionCreated => Self::SessionCreated,
            A::SessionCancelled => Self::SessionCancelled,
            A::SeatsBlocked => Self::SeatsBlocked,
            A::SeatsUnblocked => Self::SeatsUnblocked,
            A::SaleRefunded => Self::SaleRefunded,
            A::TicketAdmitted => Self::TicketAdmitted,
        }
    }
}

impl From<AuditAction> for domain::AuditAction {
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
