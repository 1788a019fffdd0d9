// Rooms, prices, HALF tickets and blocked seats against a live server, with
// exact outcomes. Same environment as example.test.ts (tests/it/clients.rs in
// the repository root sets it for a fresh server); every test works on rooms
// and sessions it creates itself.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { CinemaClient, SeatKind, SeatStatus, TicketType, codeName, errorDetails } from "../src/client";
import { type FlowConfig, configFromEnv } from "../src/example";
import {
  SALA_2,
  type RoomsFlowResult,
  createPricedSession,
  draw,
  half,
  refusalOf,
  runRoomsFlow,
  seatOf,
} from "../src/example-rooms";
import type { ReservedSeat } from "../src/gen/cinema/v1/booking";

const config: FlowConfig = configFromEnv();

const { SEAT_KIND_STANDARD: STANDARD, SEAT_KIND_PREMIUM: PREMIUM, SEAT_KIND_COUPLE: COUPLE } = SeatKind;
const { SEAT_KIND_WHEELCHAIR: WHEELCHAIR, SEAT_KIND_COMPANION: COMPANION } = SeatKind;
const { TICKET_TYPE_FULL: FULL, TICKET_TYPE_HALF: HALF } = TicketType;

/** ReservedSeats as comparable tuples. */
function priced(seats: ReservedSeat[]): Array<[string, SeatKind, TicketType, number]> {
  return seats.map((s) => [s.label, s.kind, s.ticketType, s.priceCents]);
}

describe("the rooms flow", () => {
  let flow: RoomsFlowResult;
  before(async () => {
    flow = await runRoomsFlow(config, () => {});
  });

  test("the room has 30 seats in the rows drawn", () => {
    assert.equal(flow.room.name, "Sala 2");
    assert.deepEqual(flow.room.rows, SALA_2);
    assert.equal(flow.room.seatCount, 8 + 8 + 8 + 6);
  });

  test("the session is priced per kind, WHEELCHAIR and COMPANION at the STANDARD price", () => {
    const session = flow.session;
    assert.deepEqual([session.roomId, session.room], [flow.room.roomId, "Sala 2"]);
    assert.deepEqual([session.totalSeats, session.availableSeats], [30, 30]);
    assert.deepEqual([session.rows, session.seatsPerRow], [4, 0]);
    assert.deepEqual([session.priceCents, session.currency], [2500, "BRL"]);
    assert.deepEqual(
      session.prices.map((p) => [p.kind, p.priceCents]),
      [
        [STANDARD, 2500],
        [PREMIUM, 4000],
        [WHEELCHAIR, 2500],
        [COMPANION, 2500],
        [COUPLE, 3000],
      ],
    );
  });

  test("the seat map follows the layout: numbers skip the aisle, couple halves name each other", () => {
    const seats = flow.seatMap.seats;
    assert.equal(seats.length, 30);
    assert.ok(seats.every((s) => s.status === SeatStatus.SEAT_STATUS_AVAILABLE));
    assert.deepEqual(
      seats.filter((s) => s.row === "A").map((s) => [s.label, s.kind, s.x]),
      [
        ["A1", WHEELCHAIR, 0],
        ["A2", COMPANION, 1],
        ["A3", STANDARD, 2],
        ["A4", STANDARD, 3],
        ["A5", STANDARD, 5],
        ["A6", STANDARD, 6],
        ["A7", COMPANION, 7],
        ["A8", WHEELCHAIR, 8],
      ],
    );
    assert.deepEqual(
      seats.filter((s) => s.row === "D").map((s) => [s.label, s.kind, s.priceCents, s.pairLabel]),
      [
        ["D1", COUPLE, 3000, "D2"],
        ["D2", COUPLE, 3000, "D1"],
        ["D3", COUPLE, 3000, "D4"],
        ["D4", COUPLE, 3000, "D3"],
        ["D5", COUPLE, 3000, "D6"],
        ["D6", COUPLE, 3000, "D5"],
      ],
    );
    assert.deepEqual(draw(seats).slice(1), [
      "  A     1W  2C  3S  4S      5S  6S  7C  8W",
      "  B     1S  2S  3S  4S      5S  6S  7S  8S",
      "  C     1P  2P  3P  4P      5P  6P  7P  8P",
      "  D     1L  2R      3L  4R      5L  6R",
    ]);
  });

  test("a HALF ticket costs half the seat, and the total is the sum", () => {
    assert.deepEqual(flow.reservation.seatLabels, ["C4", "C5", "D1", "D2"]);
    assert.deepEqual(priced(flow.reservation.seats), [
      ["C4", PREMIUM, FULL, 4000],
      ["C5", PREMIUM, HALF, 2000],
      ["D1", COUPLE, FULL, 3000],
      ["D2", COUPLE, FULL, 3000],
    ]);
    assert.deepEqual([flow.reservation.totalPriceCents, flow.reservation.currency], [12000, "BRL"]);
  });

  test("the sale keeps each seat's price", () => {
    assert.equal(flow.sale.reservationId, flow.reservation.reservationId);
    assert.deepEqual(priced(flow.sale.seats), priced(flow.reservation.seats));
    assert.deepEqual([flow.sale.amountCents, flow.sale.currency], [12000, "BRL"]);
  });

  test("a blocked seat reads BLOCKED with its reason, and reserving it is SEAT_UNAVAILABLE", () => {
    const b5 = seatOf(flow.blocked, "B5");
    assert.deepEqual([b5.status, b5.blockReason], [SeatStatus.SEAT_STATUS_BLOCKED, "broken armrest"]);
    // 30 seats: 4 sold to alice, B5 blocked.
    const { availableCount, heldCount, soldCount, blockedCount } = flow.blocked;
    assert.deepEqual([availableCount, heldCount, soldCount, blockedCount], [25, 0, 4, 1]);

    assert.equal(codeName(flow.refusal.code), "FAILED_PRECONDITION");
    const violations = errorDetails(flow.refusal).preconditionFailure?.violations ?? [];
    assert.deepEqual(
      violations.map((v) => [v.type, v.subject]),
      [["SEAT_UNAVAILABLE", "B5"]],
    );
  });

  test("an unblocked seat is on sale again, and the watch saw it all", () => {
    const b5 = seatOf(flow.unblocked, "B5");
    assert.deepEqual([b5.status, b5.blockReason], [SeatStatus.SEAT_STATUS_AVAILABLE, ""]);
    assert.equal(flow.unblocked.blockedCount, 0);
    assert.deepEqual(priced(flow.bobReservation.seats), [
      ["B5", STANDARD, FULL, 2500],
      ["B6", STANDARD, HALF, 1250],
    ]);
    assert.equal(flow.bobReservation.totalPriceCents, 3750);
    assert.deepEqual(flow.b5Changes, [
      { label: "B5", status: SeatStatus.SEAT_STATUS_BLOCKED, version: 1 },
      { label: "B5", status: SeatStatus.SEAT_STATUS_AVAILABLE, version: 2 },
      { label: "B5", status: SeatStatus.SEAT_STATUS_HELD, version: 3 },
    ]);
  });
});

describe("rooms and prices", () => {
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

  test("anyone reads a room back, and ListRooms lists it once", async () => {
    const room = await admin.createRoom({ name: "Sala 3", rows: SALA_2 });
    assert.deepEqual(await alice.getRoom(room.roomId), room);
    const listed: string[] = [];
    let pageToken = "";
    do {
      const page = await alice.listRooms({ pageSize: 100, pageToken });
      listed.push(...page.rooms.map((r) => r.roomId));
      pageToken = page.nextPageToken;
    } while (pageToken);
    assert.equal(listed.filter((id) => id === room.roomId).length, 1);
  });

  test("half of an odd price is rounded up to the cent", async () => {
    const room = await admin.createRoom({ name: "Sala ímpar", rows: SALA_2 });
    const session = await createPricedSession(admin, room, [
      { kind: STANDARD, priceCents: 2555 },
      { kind: PREMIUM, priceCents: 3875 },
      { kind: COUPLE, priceCents: 3001 },
    ]);
    const reservation = await alice.reserveSeats({
      sessionId: session.sessionId,
      seatLabels: ["A1", "B1", "C1", "D1", "D2"],
      ticketTypes: half("A1", "B1", "C1", "D1"),
    });
    assert.deepEqual(priced(reservation.seats), [
      ["A1", WHEELCHAIR, HALF, 1278], // 2555 / 2 = 1277.5: the STANDARD price, halved
      ["B1", STANDARD, HALF, 1278],
      ["C1", PREMIUM, HALF, 1938], // 3875 / 2 = 1937.5
      ["D1", COUPLE, HALF, 1501], // 3001 / 2 = 1500.5
      ["D2", COUPLE, FULL, 3001],
    ]);
    assert.equal(reservation.totalPriceCents, 1278 + 1278 + 1938 + 1501 + 3001);
  });

  test("half a couple seat is INVALID_ARGUMENT naming the label", async () => {
    const room = await admin.createRoom({ name: "Sala 2", rows: SALA_2 });
    const session = await createPricedSession(admin, room);
    const error = await refusalOf(alice.reserveSeats({ sessionId: session.sessionId, seatLabels: ["D3"] }));
    assert.equal(codeName(error.code), "INVALID_ARGUMENT");
    const violations = errorDetails(error).badRequest?.fieldViolations ?? [];
    assert.deepEqual(
      violations.map((v) => v.field),
      ["seat_labels[0]"],
    );
    assert.match(violations[0]?.description ?? "", /D4/);
  });

  test("a bad layout is INVALID_ARGUMENT naming every bad row", async () => {
    // Row B has an unknown X, row "b" a lower-case label.
    const rows = [
      { label: "A", seats: "SSSSSSSS_SSSSSSSS" },
      { label: "B", seats: "SSXS" },
      { label: "b", seats: "SSSS" },
    ];
    const error = await refusalOf(admin.createRoom({ name: "Sala torta", rows }));
    assert.equal(codeName(error.code), "INVALID_ARGUMENT");
    assert.deepEqual(
      errorDetails(error).badRequest?.fieldViolations.map((v) => v.field),
      ["rows[1].seats", "rows[2].label"],
    );
  });

  test("only an admin creates rooms or blocks seats", async () => {
    const denied = await refusalOf(alice.createRoom({ name: "Sala 2", rows: SALA_2 }));
    assert.equal(codeName(denied.code), "PERMISSION_DENIED");
    const session = await createPricedSession(admin, await admin.createRoom({ name: "Sala 2", rows: SALA_2 }));
    const error = await refusalOf(alice.blockSeats({ sessionId: session.sessionId, seatLabels: ["B5"], reason: "mine" }));
    assert.equal(codeName(error.code), "PERMISSION_DENIED");
  });
});
