// Runs against a live server: CINEMA_ADDR and the CINEMA_*_TOKEN variables
// (tests/it/clients.rs in the repository root sets them for a fresh server).

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";

import {
  CinemaClient,
  SeatKind,
  SeatStatus,
  TicketType,
  codeName,
  errorDetails,
  isServiceError,
  status,
} from "../src/client";
import { configFromEnv, runFlow, tomorrowAt19InSaoPaulo, type FlowConfig } from "../src/example";

const config: FlowConfig = configFromEnv();

/** Awaits `promise`, expecting it to fail with a gRPC error; returns that error. */
async function rejection(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    assert.ok(isServiceError(error), `expected a gRPC error, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the call to fail");
}

test("the whole flow: one winner, the sale, the history and the live seat map", async () => {
  const result = await runFlow(config, (line) => console.log(line));

  // Exactly one of the two simultaneous reservations went through.
  assert.equal(result.reservationsCreated, 1);
  assert.notEqual(result.winner, result.loser);
  assert.ok(
    ["FAILED_PRECONDITION", "ABORTED"].includes(result.loserCode),
    `the loser got ${result.loserCode}`,
  );
  if (result.loserCode === "FAILED_PRECONDITION") {
    // The rich error names the taken seat.
    assert.deepEqual(
      result.loserPreconditionFailure?.violations.map((v) => [v.type, v.subject]),
      [["SEAT_UNAVAILABLE", result.seat]],
    );
  }

  // The sale: the one seat, at the session's price.
  assert.equal(result.sale.sessionId, result.session.sessionId);
  assert.deepEqual(result.sale.seatLabels, [result.seat]);
  assert.equal(result.sale.amountCents, 2500);
  assert.deepEqual(result.sale.seats, [
    { label: result.seat, kind: SeatKind.SEAT_KIND_STANDARD, ticketType: TicketType.TICKET_TYPE_FULL, priceCents: 2500 },
  ]);
  assert.equal(result.sale.currency, "BRL");
  assert.equal(result.sale.movieTitle, "Filme X");
  assert.equal(result.sale.startsAt?.getTime(), tomorrowAt19InSaoPaulo().getTime());

  // The history starts with it.
  assert.ok(result.history.length >= 1);
  assert.equal(result.history[0]?.saleId, result.sale.saleId);
  assert.deepEqual(result.history[0]?.seatLabels, [result.seat]);

  // The watch: a snapshot of 16 available seats, then the seat HELD, then SOLD.
  assert.equal(result.watchEvents[0]?.event?.$case, "snapshot");
  assert.equal(result.snapshot.sessionId, result.session.sessionId);
  assert.equal(result.snapshot.seats.length, 16);
  assert.ok(result.snapshot.seats.every((s) => s.status === SeatStatus.SEAT_STATUS_AVAILABLE && s.version === 0));
  assert.deepEqual(
    [result.snapshot.availableCount, result.snapshot.heldCount, result.snapshot.soldCount],
    [16, 0, 0],
  );
  assert.deepEqual(result.seatChanges, [
    { label: result.seat, status: SeatStatus.SEAT_STATUS_HELD, version: 1 },
    { label: result.seat, status: SeatStatus.SEAT_STATUS_SOLD, version: 2 },
  ]);
  assert.equal(result.watchEndCode, "CANCELLED");
});

describe("errors", () => {
  let admin: CinemaClient;
  let alice: CinemaClient;
  before(() => {
    admin = new CinemaClient(config.address, { token: config.adminToken });
    alice = new CinemaClient(config.address, { token: config.aliceToken });
  });
  after(() => {
    admin.close();
    alice.close();
  });

  test("reserving no seat is INVALID_ARGUMENT naming seat_labels", async () => {
    const session = await admin.createSession({
      movieTitle: "Filme Y",
      room: "Sala 2",
      startsAt: tomorrowAt19InSaoPaulo(),
      priceCents: 2500,
      currency: "BRL",
      rows: 2,
      seatsPerRow: 8,
    });
    const error = await rejection(alice.reserveSeats({ sessionId: session.sessionId, seatLabels: [] }));
    assert.equal(codeName(error.code), "INVALID_ARGUMENT");
    const fields = errorDetails(error).badRequest?.fieldViolations.map((v) => v.field);
    assert.deepEqual(fields, ["seat_labels"]);
  });

  test("watching an unknown session ends with NOT_FOUND", async () => {
    const sessionId = randomUUID();
    const watch = alice.watchSeatMap(sessionId);
    const end = await watch.ended;
    assert.equal(end.code, status.NOT_FOUND, `ended with ${codeName(end.code)}: ${end.details}`);
    assert.equal(watch.events.length, 0);
    assert.ok(end.error);
    const info = errorDetails(end.error).resourceInfo;
    assert.deepEqual([info?.resourceType, info?.resourceName], ["cinema.v1.Session", sessionId]);
  });
});
