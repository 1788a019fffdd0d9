//! Hostile codes, gates, ticket ids and refunds through the server: nothing
//! may panic, every answer carries a code of the contract, and no arbitrary
//! code admits anyone.

use proptest::prelude::*;
use tonic::Code;

use super::{
    CONTRACT_CODES, check_cases, code_of,
    strategies::{cases, id_text, label_texts, text},
};
use crate::support::{TestApp, pb::AdmissionResult};

#[test]
fn arbitrary_codes_gates_and_refunds_get_only_contract_codes() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(TestApp::spawn());
    let session = runtime.block_on(app.create_session(2, 8)).session_id;
    let buyer = app.user("buyer");
    let sale = runtime.block_on(async {
        let held = buyer.reserve(&session, &["A1", "A2"]).await.unwrap();
        buyer.confirm(&held.reservation_id).await.unwrap()
    });
    let usher = app.staff("usher");
    let strategy = (
        prop_oneof![text(), Just(sale.tickets[0].code.clone())],
        text(),
        id_text(),
        prop_oneof![id_text(), Just(sale.sale_id.clone())],
        label_texts(),
        text(),
    );
    check_cases(strategy, (cases() / 10).max(1), |case| {
        let (code, gate, ticket_id, sale_id, labels, reason) = case;
        let answers: Vec<(&str, Code, String)> = runtime.block_on(async {
            let mut answers = Vec::new();
            let scanned = usher.admit(&code, &gate).await;
            if let Ok(admission) = &scanned {
                let genuine = code == sale.tickets[0].code;
                let admitted = admission.result() != AdmissionResult::Invalid;
                // Only the genuine code is ever anything but INVALID.
                let fine = if genuine { true } else { !admitted };
                answers.push((
                    "AdmitTicket admits only genuine codes",
                    if fine { Code::Ok } else { Code::Internal },
                    format!("{admission:?}"),
                ));
            }
            answers.push(("AdmitTicket", code_of(&scanned), format!("{scanned:?}")));
            let read = buyer.get_ticket(&ticket_id).await;
            answers.push(("GetTicket", code_of(&read), format!("{read:?}")));
            let request = buyer.request(crate::support::pb::RefundSaleRequest {
                sale_id: sale_id.clone(),
                seat_labels: labels.clone(),
                reason: reason.clone(),
                request_id: ticket_id.clone(),
            });
            let refunded = buyer.booking().refund_sale(request).await;
            answers.push(("RefundSale", code_of(&refunded), format!("{refunded:?}")));
            answers
        });
        for (what, code, answer) in answers {
            prop_assert!(CONTRACT_CODES.contains(&code), "{what}: {answer}");
        }
        Ok(())
    });
    runtime.block_on(app.stop());
}
