// Letting the server choose seats, no stranded single seats, and longer
// holds, end to end:
//
//   an admin publishes "Filme Y" in "Sala 2" (see example-rooms.ts); bob asks
//   for the best 3 seats side by side, one a HALF ticket, and gets C2-C4 in
//   the premium row (nearest the sweet spot: the room's horizontal centre,
//   two thirds of the way from the screen to the back row), C2 the HALF one;
//   alice asks for the best 2 and gets the couple seat D3+D4, nearer still;
//   alice asking for B5 and B7 by hand would leave B6 alone between them:
//   FAILED_PRECONDITION, SINGLE_SEAT_GAP for B6; bob extends his hold twice
//   (extensionsLeft 2, 1, 0), a third time is EXTENSION_LIMIT, and he pays; a
//   party of 5 finds no 5 seats side by side: NOT_ENOUGH_ADJACENT_SEATS. A
//   watch on the seat map sees C2's hold end move later with each extension.
//
// Run it with `npm run example:selection` (after ./setup), with the
// environment of example.ts; test/selection.test.ts runs `runSelectionFlow`
// and checks what it returns.

import { randomUUID } from "node:crypto";

import type { ServiceError } from "@grpc/grpc-js";

import {
  CinemaClient,
  type Reservation,
  type Sale,
  type SeatMapEvent,
  SeatStatus,
  codeName,
  describeError,
  describeSeatMapEvent,
  errorDetails,
  isServiceError,
  seatKindName,
  ticketTypeName,
} from "./client";
import { type FlowConfig, configFromEnv } from "./example";
import { SALA_2, brl, createPricedSession, refusalOf } from "./example-rooms";

// ---- printing -----------------------------------------------------------

/** `held until 03:14:17.399Z, extensions left: 2`. */
export function describeUntil(reservation: Reservation): string {
  const until = reservation.expireTime?.toISOString().slice(11) ?? "?";
  return `held until ${until}, extensions left: ${reservation.extensionsLeft}`;
}

/** `C2 premium half R$ 20,00, ... = R$ 100,00, held until ...`. */
export function describeHold(reservation: Reservation): string {
  const seats = reservation.seats
    .map((s) => `${s.label} ${seatKindName(s.kind)} ${ticketTypeName(s.ticketType)} ${brl(s.priceCents)}`)
    .join(", ");
  return `${seats} = ${brl(reservation.totalPriceCents)}, ${describeUntil(reservation)}`;
}

/** The refusal's precondition violations as [type, subject] pairs. */
export function violations(error: ServiceError): Array<[string, string]> {
  return (errorDetails(error).preconditionFailure?.violations ?? []).map((v) => [v.type, v.subject]);
}

/** A call that returns a reservation, or the gRPC error that refused it. */
export async function outcomeOf(call: Promise<Reservation>): Promise<Reservation | ServiceError> {
  try {
    return await call;
  } catch (error) {
    if (isServiceError(error)) return error;
    throw error;
  }
}

// ---- the flow -----------------------------------------------------------

/** One seat as the watch saw it change. */
export interface HoldChange {
  status: SeatStatus;
  version: number;
  holdExpireTime: Date | undefined;
}

export interface SelectionFlowResult {
  sessionId: string;
  /** bob's best 3, the leftmost HALF. */
  best: Reservation;
  /** alice's best 2: the couple seat. */
  pair: Reservation;
  /** alice asking for B5 and B7 by hand. */
  gap: ServiceError;
  /** bob extending his hold three times. */
  extensions: Array<Reservation | ServiceError>;
  /** bob paying for his seats. */
  sale: Sale;
  /** bob asking for the best 5. */
  tooMany: ServiceError;
  /** Every change of C2 seen on the watch, in arrival order. */
  c2Changes: HoldChange[];
}

/** C2's changes in a watch message. */
function c2ChangesOf(event: SeatMapEvent): HoldChange[] {
  if (event.event?.$case !== "update") return [];
  return event.event.value.seats
    .filter((s) => s.label === "C2")
    .map((s) => ({ status: s.status, version: s.version, holdExpireTime: s.holdExpireTime }));
}

/** Runs the flow, printing one line per step through `log`. */
export async function runSelectionFlow(
  config: FlowConfig = configFromEnv(),
  log: (line: string) => void = console.log,
): Promise<SelectionFlowResult> {
  const admin = new CinemaClient(config.address, { token: config.adminToken });
  const alice = new CinemaClient(config.address, { token: config.aliceToken });
  const bob = new CinemaClient(config.address, { token: config.bobToken });
  let watch: ReturnType<CinemaClient["watchSeatMap"]> | undefined;
  try {
    const room = await admin.createRoom({ name: "Sala 2", rows: SALA_2 });
    const session = await createPricedSession(admin, room);
    const sessionId = session.sessionId;
    log(`created session ${sessionId}: "${session.movieTitle}" in ${session.room}`);
    watch = alice.watchSeatMap(sessionId);
    await watch.next((event) => event.event?.$case === "snapshot");
    watch.onEvent((event) => log(`watch ${describeSeatMapEvent(event)}`));

    // 1. The server chooses: the best block, nearest the sweet spot.
    const best = await bob.reserveBestAvailable({ sessionId, quantity: 3, halfPriceQuantity: 1, requestId: randomUUID() });
    log(`bob's best 3 (1 half): ${describeHold(best)}`);
    const pair = await alice.reserveBestAvailable({ sessionId, quantity: 2 });
    log(`alice's best 2: ${describeHold(pair)}`);

    // 2. No seat left alone between taken ones.
    const gap = await refusalOf(alice.reserveSeats({ sessionId, seatLabels: ["B5", "B7"] }));
    log(`alice asks for B5 and B7: ${describeError(gap)}`);

    // 3. bob holds longer, as often as the server allows.
    const extensions: Array<Reservation | ServiceError> = [];
    for (let number = 1; number <= 3; number++) {
      const extension = await outcomeOf(bob.extendReservation({ reservationId: best.reservationId }));
      extensions.push(extension);
      const said = isServiceError(extension) ? describeError(extension) : describeUntil(extension);
      log(`bob extends (${number}): ${said}`);
    }
    const sale = await bob.confirmPayment({ reservationId: best.reservationId, paymentReference: "pix-best" });
    log(`bob paid: sale ${sale.saleId}, ${brl(sale.amountCents)} ${sale.currency}`);

    // 4. Five side by side: no row of Sala 2 has them.
    const tooMany = await refusalOf(bob.reserveBestAvailable({ sessionId, quantity: 5 }));
    log(`bob's best 5: ${describeError(tooMany)}`);

    // 5. The watch saw C2 held, its hold end moved twice, then sold.
    await watch.next((event) => c2ChangesOf(event).some((c) => c.status === SeatStatus.SEAT_STATUS_SOLD));
    const c2Changes = watch.events.flatMap(c2ChangesOf);
    return { sessionId, best, pair, gap, extensions, sale, tooMany, c2Changes };
  } finally {
    if (watch) await watch.cancel();
    for (const client of [admin, alice, bob]) client.close();
  }
}

export async function main(): Promise<void> {
  const result = await runSelectionFlow();
  const ok =
    result.best.seatLabels.join() === "C2,C3,C4" &&
    codeName(result.gap.code) === "FAILED_PRECONDITION" &&
    violations(result.gap).join() === "SINGLE_SEAT_GAP,B6";
  console.log(ok ? "done: the best seats chosen, no seat stranded, the hold extended" : "unexpected outcome");
  if (!ok) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`example failed: ${describeError(error)}`);
    process.exitCode = 1;
  });
}
