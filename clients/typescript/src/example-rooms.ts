// Rooms, seat kinds, prices, HALF tickets and blocked seats, end to end:
//
//   an admin draws "Sala 2" (wheelchair spaces with companion seats at the
//   ends of the front row, an aisle down the middle, a premium row, three
//   couple seats at the back) and publishes "Filme Y" in it, priced per seat
//   kind; alice holds two premium seats, one with a HALF ticket, and a couple
//   seat, and pays; the admin blocks B5 and bob is refused it
//   (FAILED_PRECONDITION, SEAT_UNAVAILABLE for B5) until it is unblocked. A
//   watch on the seat map sees B5 go BLOCKED, AVAILABLE, then HELD.
//
// Run it with `npm run example:rooms` (after ./setup), with the environment of
// example.ts (CINEMA_ADDR, CINEMA_ADMIN_TOKEN, CINEMA_ALICE_TOKEN,
// CINEMA_BOB_TOKEN); test/rooms.test.ts runs `runRoomsFlow` and checks what it
// returns.

import { randomUUID } from "node:crypto";

import type { ServiceError } from "@grpc/grpc-js";

import {
  CinemaClient,
  type Reservation,
  type Room,
  type Sale,
  SeatKind,
  type SeatMap,
  SeatStatus,
  type Session,
  TicketType,
  codeName,
  describeCounts,
  describeError,
  describeSeatMapEvent,
  errorDetails,
  isServiceError,
  seatKindName,
  seatStatusName,
  ticketTypeName,
} from "./client";
import { type FlowConfig, type SeatChange, configFromEnv, tomorrowAt19InSaoPaulo } from "./example";
import type { KindPrice, Seat } from "./gen/cinema/v1/session";
import type { RowLayout } from "./gen/cinema/v1/venue";

// ---- the room -----------------------------------------------------------

/**
 * "Sala 2", one pattern per row from the screen back, one character per
 * position: `S` standard, `P` premium, `W` wheelchair space, `C` companion
 * seat, `LR` a couple seat (two halves, always reserved together), `_` an
 * aisle or gap. Seats are numbered from 1, left to right; gaps take no number,
 * so row A is A1..A8 (A5 is the first seat after the aisle) and row D is
 * D1..D6 (D1+D2, D3+D4 and D5+D6 are the couple seats).
 */
export const SALA_2: RowLayout[] = [
  { label: "A", seats: "WCSS_SSCW" },
  { label: "B", seats: "SSSS_SSSS" },
  { label: "C", seats: "PPPP_PPPP" },
  { label: "D", seats: "LR_LR_LR" },
];

/**
 * The price of one seat of each kind, in cents (2500 = R$ 25,00); a couple
 * seat's price is per half. WHEELCHAIR and COMPANION are left out on purpose:
 * they cost the STANDARD price unless given one of their own.
 */
export const PRICES: KindPrice[] = [
  { kind: SeatKind.SEAT_KIND_STANDARD, priceCents: 2500 },
  { kind: SeatKind.SEAT_KIND_PREMIUM, priceCents: 4000 },
  { kind: SeatKind.SEAT_KIND_COUPLE, priceCents: 3000 },
];

/**
 * A session in `room`: no `rows` / `seatsPerRow`, the room's layout gives the
 * seats. Unless `allowSingleSeatGaps`, a hold that would leave one seat alone
 * between taken ones is refused (SINGLE_SEAT_GAP).
 */
export function createPricedSession(
  admin: CinemaClient,
  room: Room,
  prices: KindPrice[] = PRICES,
  movieTitle = "Filme Y",
  allowSingleSeatGaps = false,
): Promise<Session> {
  return admin.createSession({
    movieTitle,
    roomId: room.roomId,
    startsAt: tomorrowAt19InSaoPaulo(),
    currency: "BRL",
    prices,
    allowSingleSeatGaps,
  });
}

/** `ticketTypes` of a ReserveSeatsRequest: these seats HALF, every other one FULL. */
export function half(...labels: string[]): { [label: string]: TicketType } {
  return Object.fromEntries(labels.map((label) => [label, TicketType.TICKET_TYPE_HALF]));
}

/** Awaits a call that should be refused and returns its gRPC error; throws if it succeeded. */
export async function refusalOf(call: Promise<unknown>): Promise<ServiceError> {
  try {
    await call;
  } catch (error) {
    if (isServiceError(error)) return error;
    throw error;
  }
  throw new Error("the call should have been refused, and succeeded");
}

// ---- printing -----------------------------------------------------------

/** 2500 → "R$ 25,00". */
export function brl(cents: number): string {
  return `R$ ${Math.trunc(cents / 100)},${String(cents % 100).padStart(2, "0")}`;
}

const LETTER: Partial<Record<SeatKind, string>> = {
  [SeatKind.SEAT_KIND_STANDARD]: "S",
  [SeatKind.SEAT_KIND_PREMIUM]: "P",
  [SeatKind.SEAT_KIND_WHEELCHAIR]: "W",
  [SeatKind.SEAT_KIND_COMPANION]: "C",
};

/**
 * The seat map as text, screen at the top: each seat is its number and kind
 * letter at its column `x`, so aisles show as blanks; a couple seat's halves
 * are L and R.
 */
export function draw(seats: Seat[]): string[] {
  const xOf = new Map(seats.map((s) => [s.label, s.x]));
  const rows = new Map<string, Map<number, string>>();
  for (const seat of seats) {
    const letter =
      seat.kind === SeatKind.SEAT_KIND_COUPLE
        ? (xOf.get(seat.pairLabel) ?? 0) > seat.x
          ? "L"
          : "R"
        : (LETTER[seat.kind] ?? "?");
    if (!rows.has(seat.row)) rows.set(seat.row, new Map());
    rows.get(seat.row)!.set(seat.x, `${String(seat.number).padStart(2)}${letter}`);
  }
  const width = 1 + Math.max(...seats.map((s) => s.x));
  const lines = [`      ${" ".repeat(Math.floor((4 * width - 6) / 2))}screen`];
  for (const [row, cells] of rows) {
    let line = `  ${row.padEnd(2)}  `;
    for (let x = 0; x < width; x++) line += (cells.get(x) ?? "").padStart(4);
    lines.push(line.trimEnd());
  }
  return lines;
}

/** One seat of a seat map by label. */
export function seatOf(map: SeatMap, label: string): Seat {
  const seat = map.seats.find((s) => s.label === label);
  if (!seat) throw new Error(`no seat ${label} in the seat map`);
  return seat;
}

// ---- the flow -----------------------------------------------------------

export interface RoomsFlowResult {
  room: Room;
  session: Session;
  /** The seat map before anything was reserved. */
  seatMap: SeatMap;
  /** alice's: C4, C5 (HALF) and the couple seat D1+D2. */
  reservation: Reservation;
  /** alice's payment for it. */
  sale: Sale;
  /** The seat map BlockSeats returned (B5 blocked). */
  blocked: SeatMap;
  /** bob asking for B5 and B6 while B5 is blocked. */
  refusal: ServiceError;
  /** The seat map UnblockSeats returned (B5 on sale again). */
  unblocked: SeatMap;
  /** bob's, once B5 is back: B5 and B6 (HALF). */
  bobReservation: Reservation;
  /** Every change of B5 seen on the watch, in arrival order. */
  b5Changes: SeatChange[];
}

/** Runs the flow, printing one line per step through `log`. */
export async function runRoomsFlow(
  config: FlowConfig = configFromEnv(),
  log: (line: string) => void = console.log,
): Promise<RoomsFlowResult> {
  const admin = new CinemaClient(config.address, { token: config.adminToken });
  const alice = new CinemaClient(config.address, { token: config.aliceToken });
  const bob = new CinemaClient(config.address, { token: config.bobToken });
  let watch: ReturnType<CinemaClient["watchSeatMap"]> | undefined;
  try {
    // 1. The room, and a session in it priced per seat kind.
    const room = await admin.createRoom({ name: "Sala 2", rows: SALA_2 });
    log(`created room ${room.roomId} "${room.name}": ${room.seatCount} seats in ${room.rows.length} rows`);
    const session = await createPricedSession(admin, room);
    log(
      `created session ${session.sessionId}: "${session.movieTitle}" in ${session.room}, ` +
        `${session.totalSeats} seats`,
    );
    // Every kind in the room has a price, WHEELCHAIR and COMPANION included.
    for (const p of session.prices) {
      const per = p.kind === SeatKind.SEAT_KIND_COUPLE ? " per half" : "";
      log(`  ${seatKindName(p.kind).padEnd(10)} ${brl(p.priceCents)}${per}`);
    }
    const seatMap = await alice.getSeatMap(session.sessionId);
    for (const line of draw(seatMap.seats)) log(line);

    // Watch the seat map from here on; the first message is a snapshot.
    watch = alice.watchSeatMap(session.sessionId);
    await watch.next((event) => event.event?.$case === "snapshot");
    watch.onEvent((event) => log(`watch ${describeSeatMapEvent(event)}`));

    // 2. alice: two premium seats, C5 with a HALF ticket, and the couple seat D1+D2.
    const reservation = await alice.reserveSeats({
      sessionId: session.sessionId,
      seatLabels: ["C4", "C5", "D1", "D2"],
      ticketTypes: half("C5"),
      requestId: randomUUID(),
    });
    log(`alice holds ${reservation.seatLabels.join(", ")} (reservation ${reservation.reservationId}):`);
    for (const s of reservation.seats) {
      const kind = seatKindName(s.kind).padEnd(8);
      const ticket = ticketTypeName(s.ticketType).padEnd(4);
      log(`  ${s.label.padEnd(3)} ${kind} ${ticket} ${brl(s.priceCents)}`);
    }
    log(`  total ${brl(reservation.totalPriceCents)} ${reservation.currency}`);
    const sale = await alice.confirmPayment({
      reservationId: reservation.reservationId,
      paymentReference: `pix-${randomUUID().slice(0, 8)}`,
      requestId: randomUUID(),
    });
    log(`alice paid: sale ${sale.saleId}, ${brl(sale.amountCents)} ${sale.currency}`);

    // 3. B5 is blocked: bob cannot have it until it is unblocked.
    const sessionId = session.sessionId;
    const blocked = await admin.blockSeats({ sessionId, seatLabels: ["B5"], reason: "broken armrest" });
    const b5 = seatOf(blocked, "B5");
    log(`admin blocked B5 (${b5.blockReason}): ${seatStatusName(b5.status)}; ${describeCounts(blocked)}`);
    const refusal = await refusalOf(bob.reserveSeats({ sessionId, seatLabels: ["B5", "B6"] }));
    log(`bob asks for B5 and B6: ${describeError(refusal)}`);
    const unblocked = await admin.unblockSeats({ sessionId, seatLabels: ["B5"], reason: "repaired" });
    log(`admin unblocked B5: ${seatStatusName(seatOf(unblocked, "B5").status)}; ${describeCounts(unblocked)}`);
    const bobReservation = await bob.reserveSeats({
      sessionId,
      seatLabels: ["B5", "B6"],
      ticketTypes: half("B6"),
      requestId: randomUUID(),
    });
    log(
      "bob holds B5 and B6 (B6 half): " +
        bobReservation.seats.map((s) => `${s.label} ${brl(s.priceCents)}`).join(", ") +
        `, total ${brl(bobReservation.totalPriceCents)}`,
    );

    // 4. The watch saw B5 go BLOCKED, AVAILABLE, then HELD; stop watching.
    await watch.next(
      (event) =>
        event.event?.$case === "update" &&
        event.event.value.seats.some((s) => s.label === "B5" && s.status === SeatStatus.SEAT_STATUS_HELD),
    );
    const end = await watch.cancel();
    const b5Changes: SeatChange[] = watch.events.flatMap((event) =>
      event.event?.$case === "update"
        ? event.event.value.seats
            .filter((s) => s.label === "B5")
            .map((s) => ({ label: s.label, status: s.status, version: s.version }))
        : [],
    );
    const b5History = b5Changes.map((c) => `${seatStatusName(c.status)} v${c.version}`).join(" -> ");
    log(`B5 on the watch: ${b5History} (watch ${codeName(end.code)})`);

    return { room, session, seatMap, reservation, sale, blocked, refusal, unblocked, bobReservation, b5Changes };
  } finally {
    if (watch) await watch.cancel();
    for (const client of [admin, alice, bob]) client.close();
  }
}

export async function main(): Promise<void> {
  const result = await runRoomsFlow();
  const violations = errorDetails(result.refusal).preconditionFailure?.violations ?? [];
  const ok =
    result.reservation.totalPriceCents === 12000 &&
    codeName(result.refusal.code) === "FAILED_PRECONDITION" &&
    violations.length === 1 &&
    violations[0]?.type === "SEAT_UNAVAILABLE" &&
    violations[0]?.subject === "B5";
  console.log(ok ? "done: priced per kind, half price, and the blocked seat refused" : "unexpected outcome");
  if (!ok) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`example failed: ${describeError(error)}`);
    process.exitCode = 1;
  });
}
