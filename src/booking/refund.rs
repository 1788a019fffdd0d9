//! RefundSale: seats of a sale are refunded and go back on sale at once, in
//! one transaction that locks the sale and its tickets, so a refund and an
//! admission racing on one ticket end in exactly one of them. A refund by an
//! admin is recorded in the audit trail; a buyer's own is not.

use std::collections::HashMap;

use uuid::Uuid;

use super::{
    Booking,
    idempotency::{Operation, Request},
};
use crate::{
    domain::{
        AuditAction, AuditEntry, Caller, Error, FieldViolation, Result, Rule, Sale, SeatLabel,
        TicketStatus, reservation::labels_of,
    },
    events::{Outbox, Refunded, Release},
    store::{self, Tx, sales::NewRefund},
};

/// A refund request, its fields checked.
pub struct RefundSale {
    pub sale_id: Uuid,
    /// The labels as sent; empty means every seat not refunded yet.
    pub requested: Vec<String>,
    /// The same labels parsed, sorted by row then number.
    pub seats: Vec<SeatLabel>,
    pub reason: String,
    pub request_id: Option<Uuid>,
}

impl Booking {
    /// Refunds seats of a sale (the caller's; any for an admin) and frees them.
    pub async fn refund(&self, caller: &Caller, request: RefundSale) -> Result<Sale> {
        let seats: Vec<String> = request.seats.iter().map(ToString::to_string).collect();
        let fingerprint = format!("{}:{}:{}", request.sale_id, seats.join(","), request.reason);
        let retry = request.request_id.map(|request_id| Request {
            caller,
            request_id,
            operation: Operation::Refund,
            fingerprint: &fingerprint,
        });
        if let Some(retry) = &retry
            && retry.replay(&self.db).await?.is_some()
        {
            return self.read_sale(request.sale_id).await;
        }
        let tx = store::begin(&self.db).await?;
        let refunded = match self.refund_in(&tx, caller, &request, retry.as_ref()).await {
            Ok(refunded) => refunded,
            Err(err) => {
                tx.rollback().await?;
                return Err(err);
            }
        };
        tx.commit().await?;
        self.events.notify();
        if let Some((sale, labels)) = refunded {
            let seats: Vec<SeatLabel> = labels.iter().filter_map(|l| l.parse().ok()).collect();
            self.gate
                .unmark(sale.session_id, &seats, sale.reservation_id)
                .await;
        }
        self.read_sale(request.sale_id).await
    }

    /// The statements of one refund; `None` when a concurrent retry with
    /// the same request_id already made it.
    async fn refund_in(
        &self,
        tx: &Tx,
        caller: &Caller,
        request: &RefundSale,
        retry: Option<&Request<'_>>,
    ) -> Result<Option<(Sale, Vec<String>)>> {
        let sale_id = request.sale_id;
        let found = store::sales::lock_for_refund(tx, sale_id, self.refund_cutoff)
            .await?
            .ok_or_else(|| Error::not_found("sale", sale_id))?;
        let sale = found.sale;
        if !(caller.is_admin || caller.user_id == sale.user_id) {
            return Err(Error::PermissionDenied("this sale belongs to another user"));
        }
        let window_open = if caller.is_admin {
            found.admin_window_open
        } else {
            found.buyer_window_open
        };
        if !window_open {
            return Err(Error::refused(Rule::RefundWindowClosed, sale_id));
        }
        let tickets = store::tickets::lock_of_sale(tx, sale_id).await?;
        let status: HashMap<&str, TicketStatus> = tickets
            .iter()
            .map(|t| (t.seat_label.as_str(), t.status))
            .collect();
        if let Some(retry) = retry
            && !retry.remember(tx, sale_id).await?
        {
            return Ok(None);
        }
        let labels = refundable(&sale, &request.requested, &status)?;
        let amount_cents: i64 = sale
            .seats
            .iter()
            .filter(|seat| labels.contains(&seat.label))
            .map(|seat| seat.price_cents)
            .sum();
        let refund_id = Uuid::now_v7();
        let ticket_ids: Vec<Uuid> = tickets
            .iter()
            .filter(|t| labels.contains(&t.seat_label))
            .map(|t| t.ticket_id)
            .collect();
        store::tickets::refund(tx, &ticket_ids).await?;
        let new = NewRefund {
            refund_id,
            sale_id,
            labels: &labels,
            amount_cents,
            reason: &request.reason,
            actor: &caller.user_id,
        };
        store::sales::refund(tx, &new).await?;
        let freed = store::seats::release_refunded(tx, sale.session_id, &labels).await?;
        let mut outbox = Outbox::default();
        outbox.sale_refunded(&Refunded {
            refund_id,
            sale: &sale,
            labels: &labels,
            amount_cents,
            reason: &request.reason,
            actor: &caller.user_id,
            admitted: &[],
        });
        outbox.seats_released(&freed, Release::Refunded);
        outbox.write(tx).await?;
        if caller.is_admin {
            let detail = format!(
                "seats {}; {amount_cents} {} cents; reason: {}",
                labels.join(" "),
                sale.currency,
                request.reason
            );
            let audit = AuditEntry::new(caller, AuditAction::SaleRefunded, sale_id)
                .in_session(sale.session_id)
                .detail(detail);
            store::audit::record(tx, &audit).await?;
        }
        Ok(Some((sale, labels)))
    }
}

/// The seats to refund, by row then number: the ones named (each a seat of
/// the sale), or every one not refunded yet. Refuses seats whose ticket
/// admitted someone, then seats refunded already, naming each.
fn refundable(
    sale: &Sale,
    requested: &[String],
    status: &HashMap<&str, TicketStatus>,
) -> Result<Vec<String>> {
    let in_sale = labels_of(&sale.seats);
    let status_of = |label: &str| status.get(label).copied().unwrap_or(TicketStatus::Valid);
    let chosen: Vec<String> = if requested.is_empty() {
        in_sale
            .iter()
            .filter(|label| status_of(label) != TicketStatus::Refunded)
            .cloned()
            .collect()
    } else {
        let mut problems = Vec::new();
        let mut chosen = Vec::new();
        for (i, raw) in requested.iter().enumerate() {
            let label = raw.trim().parse::<SeatLabel>().ok().map(|l| l.to_string());
            match label.filter(|l| in_sale.contains(l)) {
                Some(label) if chosen.contains(&label) => problems.push(FieldViolation::new(
                    format!("seat_labels[{i}]"),
                    format!("repeats {label}"),
                )),
                Some(label) => chosen.push(label),
                None => problems.push(FieldViolation::new(
                    format!("seat_labels[{i}]"),
                    format!("{} is not a seat of this sale", raw.trim()),
                )),
            }
        }
        if !problems.is_empty() {
            return Err(Error::InvalidArgument(problems));
        }
        chosen
    };
    let with = |wanted: TicketStatus| -> Vec<String> {
        chosen
            .iter()
            .filter(|label| status_of(label) == wanted)
            .cloned()
            .collect()
    };
    for (wanted, rule) in [
        (TicketStatus::Admitted, Rule::TicketAdmitted),
        (TicketStatus::Refunded, Rule::AlreadyRefunded),
    ] {
        let named = with(wanted);
        if !named.is_empty() {
            return Err(Error::Refused {
                rule,
                subjects: crate::domain::labels::sorted(&named),
            });
        }
    }
    if chosen.is_empty() {
        return Err(Error::Refused {
            rule: Rule::AlreadyRefunded,
            subjects: in_sale,
        });
    }
    Ok(crate::domain::labels::sorted(&chosen))
}
