// The challenge's flow, end to end, against a running cinema server:
//
//   publish "Filme X" (tomorrow 19:00 in São Paulo, 2 x 8 seats, R$ 25,00),
//   watch its seat map, let alice and bob grab the same seat at the same
//   moment, have the winner pay, and read the winner's purchase history.
//
// Run it with `npm run example` (after ./setup) and the environment below;
// test/example.test.ts runs `runFlow` and checks what it returns.
//
//   CINEMA_ADDR         server address (default 127.0.0.1:50051)
//   CINEMA_ADMIN_TOKEN  token with the admin role (publishes the session)
//   CINEMA_ALICE_TOKEN  alice's token
//   CINEMA_BOB_TOKEN    bob's token

import { randomUUID } from "node:crypto";

import {
  CinemaClient,
  DEFAULT_ADDRESS,
  type Sale,
  type SeatMap,
  type SeatMapEvent,
  SeatStatus,
  type Session,
  codeName,
  describeError,
  describeSeatMapEvent,
  errorDetails,
  isServiceError,
  seatStatusName,
  status,
} from "./client";
import type { PreconditionFailure } from "./gen/google/rpc/error_details";

export interface FlowConfig {
  address: string;
  adminToken: string;
  aliceToken: string;
  bobToken: string;
}

/** Reads the flow's settings from the environment; throws naming a missing token. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): FlowConfig {
  const need = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set (mint one with \`cinema token --user ...\`)`);
    return value;
  };
  return {
    address: env["CINEMA_ADDR"] || DEFAULT_ADDRESS,
    adminToken: need("CINEMA_ADMIN_TOKEN"),
    aliceToken: need("CINEMA_ALICE_TOKEN"),
    bobToken: need("CINEMA_BOB_TOKEN"),
  };
}

/** Tomorrow (São Paulo's calendar) at 19:00 São Paulo time, UTC-3 all year. */
export function tomorrowAt19InSaoPaulo(now: Date = new Date()): Date {
  const offsetHours = -3;
  const local = new Date(now.getTime() + offsetHours * 3_600_000);
  return new Date(
    Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() + 1, 19 - offsetHours, 0, 0),
  );
}

/** One seat's change as seen on the watch stream. */
export interface SeatChange {
  label: string;
  status: SeatStatus;
  version: number;
}

export interface FlowResult {
  session: Session;
  seat: string;
  /** How many of the two simultaneous ReserveSeats calls created a reservation. */
  reservationsCreated: number;
  winner: "alice" | "bob";
  loser: "alice" | "bob";
  /** The loser's gRPC code name: FAILED_PRECONDITION or ABORTED. */
  loserCode: string;
  /** The loser's PreconditionFailure, when the code is FAILED_PRECONDITION. */
  loserPreconditionFailure?: PreconditionFailure;
  sale: Sale;
  history: Sale[];
  /** The first message of the watch, which is always a snapshot. */
  snapshot: SeatMap;
  /** Every change of the raced seat seen on the watch, in arrival order. */
  seatChanges: SeatChange[];
  /** Every message of the watch, in arrival order. */
  watchEvents: SeatMapEvent[];
  /** How the watch ended after we cancelled it (CANCELLED). */
  watchEndCode: string;
}

type Outcome =
  | { user: "alice" | "bob"; ok: true; reservationId: string }
  | { user: "alice" | "bob"; ok: false; error: unknown };

/** Runs the flow, printing one line per step through `log`. */
export async function runFlow(
  config: FlowConfig = configFromEnv(),
  log: (line: string) => void = console.log,
): Promise<FlowResult> {
  const admin = new CinemaClient(config.address, { token: config.adminToken });
  // alice and bob each have their own connection, as two customers would.
  const users = {
    alice: new CinemaClient(config.address, { token: config.aliceToken }),
    bob: new CinemaClient(config.address, { token: config.bobToken }),
  };
  const watcher = new CinemaClient(config.address, { token: config.aliceToken });
  let watch: ReturnType<CinemaClient["watchSeatMap"]> | undefined;
  try {
    // 1. Publish the session.
    const startsAt = tomorrowAt19InSaoPaulo();
    const session = await admin.createSession({
      movieTitle: "Filme X",
      room: "Sala 1",
      startsAt,
      priceCents: 2500,
      currency: "BRL",
      rows: 2,
      seatsPerRow: 8,
    });
    log(
      `created session ${session.sessionId}: "${session.movieTitle}" in ${session.room} at ` +
        `${session.startsAt?.toISOString()} (19:00 in São Paulo), ${session.totalSeats} seats at ` +
        `${session.priceCents} ${session.currency} cents`,
    );

    // 2. Watch its seat map; the first message is the snapshot.
    watch = watcher.watchSeatMap(session.sessionId);
    watch.onEvent((event) => log(`watch ${describeSeatMapEvent(event)}`));
    const first = await watch.next(() => true);
    if (first.event?.$case !== "snapshot") throw new Error("the watch did not start with a snapshot");
    const snapshot = first.event.value;

    // 3. alice and bob reserve the same seat at the same moment.
    const seat = "A1";
    await Promise.all([users.alice.ready(), users.bob.ready()]);
    log(`alice and bob both reserve ${seat} at once...`);
    const attempt = async (user: "alice" | "bob"): Promise<Outcome> => {
      try {
        const reservation = await users[user].reserveSeats({
          sessionId: session.sessionId,
          seatLabels: [seat],
          requestId: randomUUID(),
        });
        return { user, ok: true, reservationId: reservation.reservationId };
      } catch (error) {
        return { user, ok: false, error };
      }
    };
    const outcomes = await Promise.all([attempt("alice"), attempt("bob")]);
    const won = outcomes.filter((o) => o.ok);
    const lost = outcomes.filter((o) => !o.ok);
    log(`reservations created: ${won.length}`);
    for (const o of outcomes) {
      log(o.ok ? `  ${o.user}: got ${seat} (reservation ${o.reservationId})` : `  ${o.user}: ${describeError(o.error)}`);
    }
    const winning = won[0];
    const losing = lost[0];
    if (won.length !== 1 || winning === undefined || !winning.ok || losing === undefined || losing.ok) {
      throw new Error(`expected exactly one reservation, got ${won.length}`);
    }
    if (!isServiceError(losing.error)) throw losing.error;
    const loserCode = codeName(losing.error.code);
    const loserPreconditionFailure = errorDetails(losing.error).preconditionFailure;
    log(`${winning.user} won, ${losing.user} lost with ${loserCode}`);

    // 4. The winner pays.
    const winner = users[winning.user];
    const sale = await winner.confirmPayment({
      reservationId: winning.reservationId,
      paymentReference: `pix-${randomUUID().slice(0, 8)}`,
      requestId: randomUUID(),
    });
    log(
      `${winning.user} paid: sale ${sale.saleId}, seats ${sale.seatLabels.join(", ")}, ` +
        `${sale.amountCents} ${sale.currency} cents, reference ${sale.paymentReference}`,
    );

    // 5. The winner's purchase history, newest first.
    const history = (await winner.listPurchases({ pageSize: 10 })).sales;
    log(`${winning.user}'s purchases (${history.length}):`);
    for (const s of history) {
      log(
        `  ${s.paidTime?.toISOString()} "${s.movieTitle}" ${s.seatLabels.join(", ")} ` +
          `${s.amountCents} ${s.currency} cents (sale ${s.saleId})`,
      );
    }

    // 6. The watch shows the seat SOLD (after HELD); then stop watching.
    const isSold = (event: SeatMapEvent) =>
      event.event?.$case === "update" &&
      event.event.value.seats.some((s) => s.label === seat && s.status === SeatStatus.SEAT_STATUS_SOLD);
    await watch.next(isSold);
    const end = await watch.cancel();
    log(`watch cancelled (${codeName(end.code)})`);

    const seatChanges: SeatChange[] = [];
    for (const event of watch.events) {
      if (event.event?.$case !== "update") continue;
      for (const s of event.event.value.seats) {
        if (s.label === seat) seatChanges.push({ label: s.label, status: s.status, version: s.version });
      }
    }
    log(`${seat} on the watch: ${seatChanges.map((c) => `${seatStatusName(c.status)} v${c.version}`).join(" -> ")}`);

    return {
      session,
      seat,
      reservationsCreated: won.length,
      winner: winning.user,
      loser: losing.user,
      loserCode,
      ...(loserPreconditionFailure ? { loserPreconditionFailure } : {}),
      sale,
      history,
      snapshot,
      seatChanges,
      watchEvents: [...watch.events],
      watchEndCode: codeName(end.code),
    };
  } finally {
    if (watch) await watch.cancel();
    for (const client of [admin, users.alice, users.bob, watcher]) client.close();
  }
}

export async function main(): Promise<void> {
  const result = await runFlow();
  const ok =
    result.reservationsCreated === 1 &&
    (result.loserCode === codeName(status.FAILED_PRECONDITION) || result.loserCode === codeName(status.ABORTED));
  console.log(ok ? "done: exactly one sale of the raced seat" : "unexpected outcome");
  if (!ok) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`example failed: ${describeError(error)}`);
    process.exitCode = 1;
  });
}
