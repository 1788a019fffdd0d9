//! Sales: recording one with its seats (each seat in at most one sale that
//! is not refunded, by a unique index of `sale_seats`), reading them as
//! receipts, and refunding seats of one.

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::{
    Tx,
    entities::{refunds, reserved_seats, sale_details, sale_seats, sales},
    sql,
};
use crate::domain::{Result, Sale, SeatLabel, reservation::PurchaseCursor};

/// A sale to record.
pub struct NewSale<'a> {
    pub sale_id: Uuid,
    pub reservation_id: Uuid,
    pub session_id: Uuid,
    pub user_id: &'a str,
    pub seat_labels: &'a [String],
    pub amount_cents: i64,
    pub currency: &'a str,
    pub payment_reference: &'a str,
}

/// Records a sale and its seats.
pub async fn insert(tx: &Tx, new: &NewSale<'_>) -> Result<()> {
    let sale = sales::ActiveModel {
        sale_id: Set(new.sale_id),
        reservation_id: Set(new.reservation_id),
        session_id: Set(new.session_id),
        user_id: Set(new.user_id.to_owned()),
        amount_cents: Set(new.amount_cents),
        currency: Set(new.currency.to_owned()),
        payment_reference: Set(new.payment_reference.to_owned()),
        ..Default::default()
    };
    sales::Entity::insert(sale)
        .exec_without_returning(tx)
        .await?;
    let seats = new.seat_labels.iter().map(|label| sale_seats::ActiveModel {
        session_id: Set(new.session_id),
        label: Set(label.clone()),
        sale_id: Set(new.sale_id),
        refunded: Set(false),
    });
    sale_seats::Entity::insert_many(seats)
        .exec_without_returning(tx)
        .await?;
    Ok(())
}

/// The sale with this id.
pub async fn by_id(db: &impl ConnectionTrait, sale_id: Uuid) -> Result<Option<Sale>> {
    find(db, sale_details::Column::SaleId.eq(sale_id)).await
}

/// The sale that paid for this reservation.
pub async fn by_reservation(
    db: &impl ConnectionTrait,
    reservation_id: Uuid,
) -> Result<Option<Sale>> {
    find(db, sale_details::Column::ReservationId.eq(reservation_id)).await
}

/// Up to `limit` sales of `user_id` after `cursor`, newest first.
pub async fn of_user(
    db: &impl ConnectionTrait,
    user_id: &str,
    cursor: Option<PurchaseCursor>,
    limit: u64,
) -> Result<Vec<Sale>> {
    use sale_details::Column;
    let mut query = sale_details::Entity::find()
        .filter(Column::UserId.eq(user_id))
        .order_by_desc(Column::PaidTime)
        .order_by_desc(Column::SaleId)
        .limit(limit);
    if let Some((paid_time, sale_id)) = cursor {
        query = query.filter(
            Expr::tuple([Expr::col(Column::PaidTime), Expr::col(Column::SaleId)])
                .lt(Expr::tuple([Expr::val(paid_time), Expr::val(sale_id)])),
        );
    }
    let rows = query.all(db).await?;
    with_tickets(db, rows.into_iter().map(Sale::from).collect()).await
}

async fn find(
    db: &impl ConnectionTrait,
    condition: sea_orm::sea_query::SimpleExpr,
) -> Result<Option<Sale>> {
    let found = sale_details::Entity::find()
        .filter(condition)
        .one(db)
        .await?;
    let sales = with_tickets(db, found.into_iter().map(Sale::from).collect()).await?;
    Ok(sales.into_iter().next())
}

/// The sales with their tickets, read in one more query.
async fn with_tickets(db: &impl ConnectionTrait, mut sales: Vec<Sale>) -> Result<Vec<Sale>> {
    let ids: Vec<Uuid> = sales.iter().map(|sale| sale.sale_id).collect();
    let mut tickets = super::tickets::of_sales(db, &ids).await?;
    tickets.sort_by_cached_key(|t| (t.sale_id, t.seat_label.parse::<SeatLabel>().ok()));
    for sale in &mut sales {
        sale.tickets = tickets
            .iter()
            .filter(|ticket| ticket.sale_id == sale.sale_id)
            .cloned()
            .collect();
    }
    Ok(sales)
}

impl From<sale_details::Model> for Sale {
    fn from(row: sale_details::Model) -> Self {
        Self {
            seats: reserved_seats(
                row.seat_labels,
                &row.seat_kinds,
                &row.ticket_types,
                &row.seat_prices,
            ),
            sale_id: row.sale_id,
            reservation_id: row.reservation_id,
            session_id: row.session_id,
            user_id: row.user_id,
            amount_cents: row.amount_cents,
            refunded_cents: row.refunded_cents,
            currency: row.currency,
            payment_reference: row.payment_reference,
            paid_time: row.paid_time,
            movie_title: row.movie_title,
            starts_at: row.starts_at,
            tickets: Vec::new(),
        }
    }
}

/// A sale locked by a transaction that will refund some of its seats, with
/// its refund windows judged by the database clock.
pub struct Refundable {
    pub sale: Sale,
    /// Whether the buyer's own window (until `cutoff` before the start) is open.
    pub buyer_window_open: bool,
    /// Whether an admin's window (until the start) is open.
    pub admin_window_open: bool,
}

/// Locks a sale for a refund; `None` for no such sale.
pub async fn lock_for_refund(
    tx: &Tx,
    sale_id: Uuid,
    cutoff: std::time::Duration,
) -> Result<Option<Refundable>> {
    #[derive(FromQueryResult)]
    struct Windows {
        buyer_window_open: bool,
        admin_window_open: bool,
    }
    // Raw: FOR UPDATE OF the sale alone, and the windows by now().
    let windows = Windows::find_by_statement(sql(
        "SELECT now() < se.starts_at - $2 * interval '1 millisecond' AS buyer_window_open,
                now() < se.starts_at AS admin_window_open
           FROM sales sa JOIN sessions se ON se.session_id = sa.session_id
          WHERE sa.sale_id = $1
            FOR UPDATE OF sa",
        [sale_id.into(), (cutoff.as_millis() as i64).into()],
    ))
    .one(tx)
    .await?;
    let Some(windows) = windows else {
        return Ok(None);
    };
    let sale = find(tx, sale_details::Column::SaleId.eq(sale_id))
        .await?
        .ok_or_else(|| crate::domain::Error::Internal(format!("sale {sale_id} vanished")))?;
    Ok(Some(Refundable {
        sale,
        buyer_window_open: windows.buyer_window_open,
        admin_window_open: windows.admin_window_open,
    }))
}

/// Locks the sales of a session that still have a seat not refunded (but
/// those in `except`, locked already), and reads them.
pub async fn lock_of_session(tx: &Tx, session_id: Uuid, except: &[Uuid]) -> Result<Vec<Sale>> {
    let locked: Vec<Uuid> = sales::Entity::find()
        .select_only()
        .column(sales::Column::SaleId)
        .filter(sales::Column::SessionId.eq(session_id))
        .filter(Expr::col(sales::Column::RefundedCents).lt(Expr::col(sales::Column::AmountCents)))
        .filter(sales::Column::SaleId.is_not_in(except.iter().copied()))
        .order_by_asc(sales::Column::SaleId)
        .lock(sea_orm::sea_query::LockType::Update)
        .into_tuple()
        .all(tx)
        .await?;
    let mut found = Vec::with_capacity(locked.len());
    for sale_id in locked {
        if let Some(sale) = by_id(tx, sale_id).await? {
            found.push(sale);
        }
    }
    Ok(found)
}

/// Records a refund of `labels` of a locked sale: its seats' sale rows are
/// marked refunded (so the seats can be sold again), the amount added to
/// the sale's refunded total, and the refund kept with its reason and actor.
pub async fn refund(tx: &Tx, refund: &NewRefund<'_>) -> Result<()> {
    sale_seats::Entity::update_many()
        .col_expr(sale_seats::Column::Refunded, Expr::value(true))
        .filter(sale_seats::Column::SaleId.eq(refund.sale_id))
        .filter(sale_seats::Column::Label.is_in(refund.labels.iter().cloned()))
        .exec(tx)
        .await?;
    sales::Entity::update_many()
        .col_expr(
            sales::Column::RefundedCents,
            Expr::col(sales::Column::RefundedCents).add(refund.amount_cents),
        )
        .filter(sales::Column::SaleId.eq(refund.sale_id))
        .exec(tx)
        .await?;
    let row = refunds::ActiveModel {
        refund_id: Set(refund.refund_id),
        sale_id: Set(refund.sale_id),
        seat_labels: Set(refund.labels.to_vec()),
        amount_cents: Set(refund.amount_cents),
        reason: Set(refund.reason.to_owned()),
        actor: Set(refund.actor.to_owned()),
        ..Default::default()
    };
    refunds::Entity::insert(row)
        .exec_without_returning(tx)
        .await?;
    Ok(())
}

/// One refund to record.
pub struct NewRefund<'a> {
    pub refund_id: Uuid,
    pub sale_id: Uuid,
    pub labels: &'a [String],
    pub amount_cents: i64,
    pub reason: &'a str,
    pub actor: &'a str,
}
