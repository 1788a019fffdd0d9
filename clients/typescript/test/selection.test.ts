// Best available seats, the single-seat-gap rule and hold extensions against
// a live server, with exact outcomes. Same environment as example.test.ts;
// every test works on rooms and sessions it creates itself, in "Sala 2":
//
//   A   W C S S _ S S C W     the sweet spot: the centre column (the aisle),
//   B   S S S S _ S S S S     two thirds of the way from A to D, so row C
//   C   P P P P _ P P P P
//   D   LR _ LR _ LR

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";

import type { ServiceError } from "@grpc/grpc-js";

import { CinemaClient, type Reservation, SeatKind, SeatStatus, TicketType, codeName, isServiceError } from "../src/client";
import { type FlowConfig, configFromEnv } from "../src/example";
import { PRICES, SALA_2, createPricedSession, refusalOf } from "../src/example-rooms";
import { type SelectionFlowResult, runSelectionFlow, violations } from "../src/example-selection";
import type { ReservedSeat } from "../src/gen/cinema/v1/booking";

const config: FlowConfig = configFromEnv();

const { SEAT_KIND_STANDARD: STANDARD, SEAT_KIND_PREMIUM: PREMIUM, SEAT_KIND_COUPLE: COUPLE } = SeatKind;
const { TICKET_TYPE_FULL: FULL, TICKET_TYPE_HALF: HALF } = TicketType;

/** ReservedSeats as comparable tuples. */
function priced(seats: ReservedSeat[]): Array<[string, SeatKind, TicketType, number]> {
  return seats.map((s) => [s.label, s.kind, s.ticketType, s.priceCents]);
}

function reservation(outcome: Reservation | ServiceError | undefined): Reservation {
  assert.ok(outcome && !isServiceError(outcome), `expected a reservation, got ${String(outcome)}`);
  return outcome;
}

function refusal(outcome: Reservation | ServiceError | undefined): ServiceError {
  assert.ok(outcome && isServiceError(outcome), "expected a refusal");
  return outcome;
}

function endOf(r: Reservation): number {
  assert.ok(r.expireTime, "a hold end");
  return r.expireTime.getTime();
}

describe("the selection flow", () => {
  let flow: SelectionFlowResult;
  before(async () => {
    flow = await runSelectionFlow(config, () => {});
  });

  test("the best three are C2-C4 (ties go left), the leftmost HALF", () => {
    assert.deepEqual(flow.best.seatLabels, ["C2", "C3", "C4"]);
    assert.deepEqual(priced(flow.best.seats), [
      ["C2", PREMIUM, HALF, 2000],
      ["C3", PREMIUM, FULL, 4000],
      ["C4", PREMIUM, FULL, 4000],
    ]);
    assert.equal(flow.best.seats.filter((s) => s.ticketType === HALF).length, 1);
    assert.deepEqual([flow.best.totalPriceCents, flow.best.currency], [10000, "BRL"]);
    assert.equal(flow.best.extensionsLeft, 2);
  });

  test("the best two are the couple seat D3+D4, nearer than any pair in row C", () => {
    assert.deepEqual(priced(flow.pair.seats), [
      ["D3", COUPLE, FULL, 3000],
      ["D4", COUPLE, FULL, 3000],
    ]);
    assert.equal(flow.pair.totalPriceCents, 6000);
  });

  test("a hold that strands one seat is SINGLE_SEAT_GAP for that seat", () => {
    assert.equal(codeName(flow.gap.code), "FAILED_PRECONDITION");
    assert.deepEqual(violations(flow.gap), [["SINGLE_SEAT_GAP", "B6"]]);
  });

  test("a hold is extended twice, each time later, then EXTENSION_LIMIT", () => {
    const [first, second, third] = flow.extensions;
    const extended = [reservation(first), reservation(second)];
    assert.deepEqual(
      extended.map((r) => r.extensionsLeft),
      [1, 0],
    );
    const ends = [flow.best, ...extended].map(endOf);
    assert.ok(ends[0]! < ends[1]! && ends[1]! < ends[2]!, `hold ends ${ends.join(", ")}`);
    assert.equal(codeName(refusal(third).code), "FAILED_PRECONDITION");
    assert.deepEqual(violations(refusal(third)), [["EXTENSION_LIMIT", flow.best.reservationId]]);
    assert.deepEqual(flow.sale.seatLabels, ["C2", "C3", "C4"]);
    assert.equal(flow.sale.amountCents, 10000);
  });

  test("the watch saw C2's hold end move with each extension, then the sale", () => {
    const ends = [flow.best, ...flow.extensions.slice(0, 2).map(reservation)].map((r) => r.expireTime);
    assert.deepEqual(flow.c2Changes, [
      { status: SeatStatus.SEAT_STATUS_HELD, version: 1, holdExpireTime: ends[0] },
      { status: SeatStatus.SEAT_STATUS_HELD, version: 2, holdExpireTime: ends[1] },
      { status: SeatStatus.SEAT_STATUS_HELD, version: 3, holdExpireTime: ends[2] },
      { status: SeatStatus.SEAT_STATUS_SOLD, version: 4, holdExpireTime: undefined },
    ]);
  });

  test("no block of five is NOT_ENOUGH_ADJACENT_SEATS for the session", () => {
    assert.equal(codeName(flow.tooMany.code), "FAILED_PRECONDITION");
    assert.deepEqual(violations(flow.tooMany), [["NOT_ENOUGH_ADJACENT_SEATS", flow.sessionId]]);
  });
});

describe("seat selection on other maps", () => {
  let admin: CinemaClient;
  let alice: CinemaClient;
  let bob: CinemaClient;
  before(() => {
    admin = new CinemaClient(config.address, { token: config.adminToken });
    alice = new CinemaClient(config.address, { token: config.aliceToken });
    bob = new CinemaClient(config.address, { token: config.bobToken });
  });
  after(() => {
    for (const client of [admin, alice, bob]) client.close();
  });

  /** A fresh "Filme Y" in a fresh "Sala 2"; its id. */
  async function newSession(allowSingleSeatGaps = false): Promise<string> {
    const room = await admin.createRoom({ name: "Sala 2", rows: SALA_2 });
    const session = await createPricedSession(admin, room, PRICES, "Filme Y", allowSingleSeatGaps);
    return session.sessionId;
  }

  test("only the kinds asked for, every ticket HALF", async () => {
    const sessionId = await newSession();
    const best = await alice.reserveBestAvailable({ sessionId, quantity: 3, kinds: [STANDARD], halfPriceQuantity: 3 });
    // Row B, nearest row C: B2-B4 (B5-B7 is as near; ties go left).
    assert.deepEqual(priced(best.seats), [
      ["B2", STANDARD, HALF, 1250],
      ["B3", STANDARD, HALF, 1250],
      ["B4", STANDARD, HALF, 1250],
    ]);
    assert.equal(best.totalPriceCents, 3750);
  });

  test("a block that would strand a seat is passed over", async () => {
    const sessionId = await newSession();
    await alice.reserveSeats({ sessionId, seatLabels: ["B1"] });
    // B3+B4 is nearest, but would leave B2 alone beside alice's B1.
    const best = await bob.reserveBestAvailable({ sessionId, quantity: 2, kinds: [STANDARD] });
    assert.deepEqual(best.seatLabels, ["B5", "B6"]);
  });

  test("held seats are passed over", async () => {
    const sessionId = await newSession();
    await alice.reserveSeats({ sessionId, seatLabels: ["C3"] });
    const best = await bob.reserveBestAvailable({ sessionId, quantity: 3 });
    assert.deepEqual(best.seatLabels, ["C5", "C6", "C7"]);
  });

  test("a session may allow single-seat gaps", async () => {
    const sessionId = await newSession(true);
    assert.equal((await alice.getSession(sessionId)).allowSingleSeatGaps, true);
    const held = await alice.reserveSeats({ sessionId, seatLabels: ["B5", "B7"] });
    assert.deepEqual(held.seatLabels, ["B5", "B7"]);
  });

  test("a retried extension extends once", async () => {
    const held = await alice.reserveSeats({ sessionId: await newSession(), seatLabels: ["A3"] });
    const requestId = randomUUID();
    const first = await alice.extendReservation({ reservationId: held.reservationId, requestId });
    const again = await alice.extendReservation({ reservationId: held.reservationId, requestId });
    assert.deepEqual([first.extensionsLeft, again.extensionsLeft], [1, 1]);
    assert.deepEqual(again.expireTime, first.expireTime);
  });

  test("a paid reservation is not extended: RESERVATION_PAID", async () => {
    const held = await alice.reserveSeats({ sessionId: await newSession(), seatLabels: ["A3"] });
    await alice.confirmPayment({ reservationId: held.reservationId, paymentReference: "pix-1" });
    const error = await refusalOf(alice.extendReservation({ reservationId: held.reservationId }));
    assert.equal(codeName(error.code), "FAILED_PRECONDITION");
    assert.deepEqual(violations(error), [["RESERVATION_PAID", held.reservationId]]);
  });
});
