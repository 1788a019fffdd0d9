// Tickets, admission and refunds against a live server, with exact outcomes.
// Same environment as example.test.ts plus CINEMA_USHER_TOKEN (a staff
// token); every test works on sessions it creates itself: "tonight" starts
// in 30 minutes (admission open, the buyer's refund window closed),
// "tomorrow" in a day (admission not open yet, refunds open to the buyer).

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";

import type { ServiceError } from "@grpc/grpc-js";

import {
  AdmissionResult,
  CinemaClient,
  type Sale,
  SeatStatus,
  TicketStatus,
  TicketType,
  codeName,
  codeTicketId,
} from "../src/client";
import { type FlowConfig, configFromEnv } from "../src/example";
import { refusalOf } from "../src/example-rooms";
import { type TicketsFlowResult, buy, createSessionAt, inMinutes, runTicketsFlow, usherTokenFromEnv } from "../src/example-tickets";
import { violations } from "../src/example-selection";

const config: FlowConfig = configFromEnv();
const usherToken = usherTokenFromEnv();

const { ADMISSION_RESULT_ADMITTED: ADMITTED, ADMISSION_RESULT_ALREADY_ADMITTED: ALREADY_ADMITTED } = AdmissionResult;
const { ADMISSION_RESULT_INVALID: INVALID, ADMISSION_RESULT_NOT_YET_OPEN: NOT_YET_OPEN } = AdmissionResult;
const { ADMISSION_RESULT_REFUNDED: REFUNDED_SCAN } = AdmissionResult;
const { TICKET_STATUS_VALID: VALID, TICKET_STATUS_ADMITTED: ADMITTED_TICKET, TICKET_STATUS_REFUNDED: REFUNDED } = TicketStatus;
const { TICKET_TYPE_FULL: FULL, TICKET_TYPE_HALF: HALF } = TicketType;

function statuses(sale: Sale): Array<[string, TicketStatus]> {
  return sale.tickets.map((t) => [t.seatLabel, t.status]);
}

/** A FAILED_PRECONDITION's violations as [type, subject] pairs. */
function refused(error: ServiceError): Array<[string, string]> {
  assert.equal(codeName(error.code), "FAILED_PRECONDITION", error.details);
  return violations(error);
}

describe("the tickets flow", () => {
  let flow: TicketsFlowResult;
  before(async () => {
    flow = await runTicketsFlow(config, usherToken, () => {});
  });

  test("a sale has a VALID ticket per seat, with its type", () => {
    assert.deepEqual(
      flow.sale.tickets.map((t) => [t.seatLabel, t.ticketType, t.status]),
      [
        ["A1", FULL, VALID],
        ["A2", FULL, VALID],
        ["A3", HALF, VALID],
      ],
    );
    assert.deepEqual([flow.sale.amountCents, flow.sale.refundedCents], [6250, 0]);
    assert.ok(flow.sale.tickets.every((t) => t.saleId === flow.sale.saleId && t.sessionId === flow.sale.sessionId));
  });

  test("each code is 107 base64url characters naming its ticket", () => {
    assert.deepEqual(
      flow.codeIds,
      flow.sale.tickets.map((t) => t.ticketId),
    );
    assert.equal(new Set(flow.sale.tickets.map((t) => t.code)).size, 3);
    for (const bad of ["", "A".repeat(106), "A".repeat(108), "+".repeat(107), "A".repeat(106) + "="]) {
      assert.throws(() => codeTicketId(bad), /107 base64url characters/);
    }
  });

  test("GetTicket returns the buyer's ticket", () => {
    const a1 = flow.sale.tickets[0]!;
    assert.deepEqual(flow.fetched, a1);
  });

  test("a ticket is ADMITTED once, then ALREADY_ADMITTED at the first gate and time", () => {
    const [first, second] = flow.scans;
    assert.equal(first?.result, ADMITTED);
    assert.equal(second?.result, ALREADY_ADMITTED);
    for (const scan of [first!, second!]) {
      assert.equal(scan.ticket?.ticketId, flow.sale.tickets[0]!.ticketId);
      assert.equal(scan.ticket?.status, ADMITTED_TICKET);
      assert.equal(scan.firstGate, "door-1");
    }
    assert.ok(first!.firstAdmitTime);
    assert.deepEqual(second!.firstAdmitTime, first!.firstAdmitTime);
  });

  test("an edited code is INVALID, with no ticket", () => {
    assert.equal(flow.forged.result, INVALID);
    assert.equal(flow.forged.ticket, undefined);
  });

  test("only staff admit", () => {
    assert.equal(codeName(flow.selfScan.code), "PERMISSION_DENIED");
  });

  test("admission is NOT_YET_OPEN a day before, and changes nothing", () => {
    assert.equal(flow.earlyScan.result, NOT_YET_OPEN);
    assert.deepEqual([flow.earlyScan.ticket?.seatLabel, flow.earlyScan.ticket?.status], ["B1", VALID]);
    assert.equal(flow.earlyScan.firstGate, "");
  });

  test("a refunded ticket scans REFUNDED", () => {
    assert.equal(flow.refundedScan.result, REFUNDED_SCAN);
    assert.deepEqual([flow.refundedScan.ticket?.seatLabel, flow.refundedScan.ticket?.status], ["A3", REFUNDED]);
  });

  test("the buyer cannot refund within two hours of the start: REFUND_WINDOW_CLOSED", () => {
    assert.deepEqual(refused(flow.late), [["REFUND_WINDOW_CLOSED", flow.sale.saleId]]);
  });

  test("an admin refunds one seat at its sale price, and the watch sees it on sale again", () => {
    assert.equal(flow.partial.refundedCents, 1250); // A3's HALF price
    assert.deepEqual(statuses(flow.partial), [
      ["A1", ADMITTED_TICKET],
      ["A2", VALID],
      ["A3", REFUNDED],
    ]);
    assert.deepEqual(flow.a3Changes, [
      { status: SeatStatus.SEAT_STATUS_HELD, version: 1 },
      { status: SeatStatus.SEAT_STATUS_SOLD, version: 2 },
      { status: SeatStatus.SEAT_STATUS_AVAILABLE, version: 3 },
    ]);
  });

  test("an admitted ticket is never refunded: TICKET_ADMITTED", () => {
    assert.deepEqual(refused(flow.admitted), [["TICKET_ADMITTED", "A1"]]);
  });

  test("a partial refund, then the rest, then ALREADY_REFUNDED", () => {
    assert.equal(flow.bobSale.amountCents, 7500);
    assert.equal(flow.bobPartial.refundedCents, 2500);
    assert.deepEqual(statuses(flow.bobPartial), [
      ["B1", REFUNDED],
      ["B2", VALID],
      ["B3", VALID],
    ]);
    assert.equal(flow.bobRest.refundedCents, 7500);
    assert.deepEqual(statuses(flow.bobRest), [
      ["B1", REFUNDED],
      ["B2", REFUNDED],
      ["B3", REFUNDED],
    ]);
    assert.deepEqual(refused(flow.again), [["ALREADY_REFUNDED", "B1"]]);
  });
});

describe("tickets and refunds, one rule at a time", () => {
  let admin: CinemaClient;
  let alice: CinemaClient;
  let bob: CinemaClient;
  let usher: CinemaClient;
  before(() => {
    admin = new CinemaClient(config.address, { token: config.adminToken });
    alice = new CinemaClient(config.address, { token: config.aliceToken });
    bob = new CinemaClient(config.address, { token: config.bobToken });
    usher = new CinemaClient(config.address, { token: usherToken });
  });
  after(() => {
    for (const client of [admin, alice, bob, usher]) client.close();
  });

  test("a ticket is read by its buyer, staff and admins only", async () => {
    const session = await createSessionAt(admin, inMinutes(24 * 60));
    const ticket = (await buy(alice, session.sessionId, ["A1"])).tickets[0]!;
    for (const reader of [alice, usher, admin]) {
      assert.equal((await reader.getTicket(ticket.ticketId)).code, ticket.code);
    }
    assert.equal(codeName((await refusalOf(bob.getTicket(ticket.ticketId))).code), "PERMISSION_DENIED");
    assert.equal(codeName((await refusalOf(alice.getTicket(randomUUID()))).code), "NOT_FOUND");
  });

  test("a retried refund (same request id) refunds once", async () => {
    const session = await createSessionAt(admin, inMinutes(24 * 60));
    const sale = await buy(alice, session.sessionId, ["B4", "B5"]);
    const requestId = randomUUID();
    const first = await alice.refundSale({ saleId: sale.saleId, seatLabels: ["B4"], requestId });
    const again = await alice.refundSale({ saleId: sale.saleId, seatLabels: ["B4"], requestId });
    assert.deepEqual([first.refundedCents, again.refundedCents], [2500, 2500]);
    assert.deepEqual(statuses(again), [
      ["B4", REFUNDED],
      ["B5", VALID],
    ]);
  });

  test("a refunded seat is sold again with a new ticket; the old code scans REFUNDED", async () => {
    const session = await createSessionAt(admin, inMinutes(30));
    const sale = await buy(alice, session.sessionId, ["A5"]);
    await admin.refundSale({ saleId: sale.saleId, seatLabels: ["A5"] });
    const resold = (await buy(bob, session.sessionId, ["A5"])).tickets[0]!;
    assert.notEqual(resold.ticketId, sale.tickets[0]!.ticketId);
    assert.equal((await usher.admitTicket(resold.code, "door-1")).result, ADMITTED);
    assert.equal((await usher.admitTicket(sale.tickets[0]!.code, "door-1")).result, REFUNDED_SCAN);
  });

  test("someone else's sale is not refunded", async () => {
    const session = await createSessionAt(admin, inMinutes(24 * 60));
    const sale = await buy(alice, session.sessionId, ["A7"]);
    assert.equal(codeName((await refusalOf(bob.refundSale({ saleId: sale.saleId }))).code), "PERMISSION_DENIED");
  });
});
