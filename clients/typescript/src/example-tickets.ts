// Tickets, admission at the door and refunds, end to end:
//
//   an admin publishes "Filme Z" in "Sala 3" starting in 30 minutes (its
//   doors are open: admission opens an hour before the start) and again at
//   the same time tomorrow; alice buys A1, A2 and A3 (A3 HALF) for tonight:
//   a ticket per seat, each with the code its QR code carries (the ticket id
//   and an Ed25519 signature, base64url, 107 characters); an usher (a token
//   with the staff role) scans A1: ADMITTED, then at another door
//   ALREADY_ADMITTED naming the first door; an edited code is INVALID; alice
//   is too late to refund herself (REFUND_WINDOW_CLOSED: buyers may until 2h
//   before the start), so an admin refunds A3, which the watch sees go back
//   on sale and which then scans REFUNDED; refunding the rest is refused for
//   A1 (TICKET_ADMITTED). bob buys B1-B3 for tomorrow: a scan today is
//   NOT_YET_OPEN; he refunds B1, then the rest, then B1 again
//   (ALREADY_REFUNDED).
//
// Run it with `npm run example:tickets` (after ./setup), with the
// environment of example.ts plus CINEMA_USHER_TOKEN (a staff token: `cinema
// token --user usher --staff`); test/tickets.test.ts runs `runTicketsFlow`
// and checks what it returns.

import { randomUUID } from "node:crypto";

import type { ServiceError } from "@grpc/grpc-js";

import {
  type Admission,
  CinemaClient,
  type Sale,
  type SeatMapEvent,
  SeatStatus,
  type Session,
  type Ticket,
  admissionResultName,
  codeTicketId,
  describeError,
  isServiceError,
  seatStatusName,
  ticketStatusName,
  ticketTypeName,
} from "./client";
import { type FlowConfig, configFromEnv } from "./example";
import { brl, half, refusalOf } from "./example-rooms";

/** CINEMA_USHER_TOKEN: a token with the staff role, which AdmitTicket needs. */
export function usherTokenFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const token = env["CINEMA_USHER_TOKEN"];
  if (!token) throw new Error("CINEMA_USHER_TOKEN is not set (a staff token: `cinema token --user usher --staff`)");
  return token;
}

/** `minutes` from now, to the second. */
export function inMinutes(minutes: number): Date {
  return new Date(Math.floor((Date.now() + minutes * 60_000) / 1000) * 1000);
}

/** A session in "Sala 3": 2 rows of 8 standard seats at R$ 25,00, at `startsAt`. */
export function createSessionAt(admin: CinemaClient, startsAt: Date, movieTitle = "Filme Z"): Promise<Session> {
  return admin.createSession({
    movieTitle,
    room: "Sala 3",
    startsAt,
    priceCents: 2500,
    currency: "BRL",
    rows: 2,
    seatsPerRow: 8,
  });
}

/** Holds `seats` (those in `halfSeats` HALF) and pays: the sale, a ticket per seat. */
export async function buy(client: CinemaClient, sessionId: string, seats: string[], halfSeats: string[] = []): Promise<Sale> {
  const held = await client.reserveSeats({ sessionId, seatLabels: seats, ticketTypes: half(...halfSeats), requestId: randomUUID() });
  return client.confirmPayment({ reservationId: held.reservationId, paymentReference: `pix-${randomUUID().slice(0, 8)}` });
}

/** The code with the character at `at` changed to the next of the base64url alphabet. */
export function edited(code: string, at = 30): string {
  const alphabet = "-_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const next = alphabet[(alphabet.indexOf(code[at]!) + 1) % alphabet.length]!;
  return code.slice(0, at) + next + code.slice(at + 1);
}

// ---- printing -----------------------------------------------------------

/** `ALREADY_ADMITTED (first at door-1, 03:14:17Z)`. */
export function describeAdmission(admission: Admission): string {
  const said = admissionResultName(admission.result);
  if (!admission.firstGate) return said;
  const at = admission.firstAdmitTime?.toISOString().slice(11, 19) ?? "?";
  return `${said} (first at ${admission.firstGate}, ${at}Z)`;
}

/** `A1 ADMITTED, A2 VALID, A3 REFUNDED`. */
export function describeTickets(tickets: Ticket[]): string {
  return tickets.map((t) => `${t.seatLabel} ${ticketStatusName(t.status)}`).join(", ");
}

/** `R$ 12,50 of R$ 62,50 refunded; A1 ADMITTED, ...`. */
export function describeRefund(sale: Sale): string {
  return `${brl(sale.refundedCents)} of ${brl(sale.amountCents)} refunded; ${describeTickets(sale.tickets)}`;
}

// ---- the flow -----------------------------------------------------------

/** One change of a seat seen on the watch. */
export interface SeatChange {
  status: SeatStatus;
  version: number;
}

export interface TicketsFlowResult {
  /** Starts in 30 minutes: doors open, the buyer's refund window closed. */
  tonight: Session;
  /** Starts in a day: doors not open yet. */
  tomorrow: Session;
  /** alice's A1, A2, A3 (HALF) tonight. */
  sale: Sale;
  /** The ticket id each code names. */
  codeIds: string[];
  /** alice's GetTicket of A1. */
  fetched: Ticket;
  /** A1 scanned at door-1, then at door-2. */
  scans: Admission[];
  /** An edited code scanned. */
  forged: Admission;
  /** alice scanning her own code. */
  selfScan: ServiceError;
  /** alice refunding A3 herself, too late. */
  late: ServiceError;
  /** An admin refunding A3. */
  partial: Sale;
  /** A3 scanned after its refund. */
  refundedScan: Admission;
  /** An admin refunding the rest, A1 admitted. */
  admitted: ServiceError;
  /** bob's B1, B2, B3 tomorrow. */
  bobSale: Sale;
  /** B1 scanned today. */
  earlyScan: Admission;
  /** bob refunding B1, then the rest. */
  bobPartial: Sale;
  bobRest: Sale;
  /** bob refunding B1 again. */
  again: ServiceError;
  /** Every change of A3 on tonight's seat map, in arrival order. */
  a3Changes: SeatChange[];
}

function a3ChangesOf(event: SeatMapEvent): SeatChange[] {
  if (event.event?.$case !== "update") return [];
  return event.event.value.seats.filter((s) => s.label === "A3").map((s) => ({ status: s.status, version: s.version }));
}

/** Runs the flow, printing one line per step through `log`. */
export async function runTicketsFlow(
  config: FlowConfig = configFromEnv(),
  usherToken: string = usherTokenFromEnv(),
  log: (line: string) => void = console.log,
): Promise<TicketsFlowResult> {
  const admin = new CinemaClient(config.address, { token: config.adminToken });
  const alice = new CinemaClient(config.address, { token: config.aliceToken });
  const bob = new CinemaClient(config.address, { token: config.bobToken });
  const usher = new CinemaClient(config.address, { token: usherToken });
  let watch: ReturnType<CinemaClient["watchSeatMap"]> | undefined;
  try {
    // 1. Tonight's session, doors open, and tomorrow's.
    const tonight = await createSessionAt(admin, inMinutes(30));
    const tomorrow = await createSessionAt(admin, inMinutes(24 * 60));
    for (const session of [tonight, tomorrow]) {
      log(`created session ${session.sessionId}: "${session.movieTitle}" in ${session.room} at ${session.startsAt?.toISOString()}`);
    }
    watch = alice.watchSeatMap(tonight.sessionId);
    await watch.next((event) => event.event?.$case === "snapshot");

    // 2. alice's sale: a ticket per seat, each with its code.
    const sale = await buy(alice, tonight.sessionId, ["A1", "A2", "A3"], ["A3"]);
    log(`alice bought ${sale.seatLabels.join(", ")} (A3 half): sale ${sale.saleId}, ${brl(sale.amountCents)}`);
    const codeIds = sale.tickets.map((t) => codeTicketId(t.code));
    for (const t of sale.tickets) {
      log(
        `  ${t.seatLabel} ${ticketTypeName(t.ticketType).padEnd(4)} ${ticketStatusName(t.status)} ticket ${t.ticketId}, ` +
          `code ${t.code.slice(0, 8)}...${t.code.slice(-8)} (${t.code.length} characters)`,
      );
    }
    const [a1, , a3] = sale.tickets as [Ticket, Ticket, Ticket];
    const fetched = await alice.getTicket(a1.ticketId);
    log(`alice reads her ${fetched.seatLabel} ticket: ${ticketStatusName(fetched.status)}`);

    // 3. The door: once, then never again; an edited code is nobody's.
    const scans: Admission[] = [];
    for (const gate of ["door-1", "door-2"]) {
      const scan = await usher.admitTicket(a1.code, gate);
      scans.push(scan);
      log(`usher scans A1 at ${gate}: ${describeAdmission(scan)}`);
    }
    const forged = await usher.admitTicket(edited(a1.code), "door-1");
    log(`usher scans an edited code: ${describeAdmission(forged)}`);
    const selfScan = await refusalOf(alice.admitTicket(a1.code, "door-1"));
    log(`alice scans her own code: ${describeError(selfScan)}`);

    // 4. Refunds tonight: too late for alice, not for an admin.
    const late = await refusalOf(alice.refundSale({ saleId: sale.saleId, seatLabels: ["A3"], reason: "cannot come" }));
    log(`alice refunds A3: ${describeError(late)}`);
    const partial = await admin.refundSale({ saleId: sale.saleId, seatLabels: ["A3"], reason: "cannot come", requestId: randomUUID() });
    log(`admin refunds A3: ${describeRefund(partial)}`);
    const refundedScan = await usher.admitTicket(a3.code, "door-1");
    log(`usher scans A3: ${describeAdmission(refundedScan)}`);
    const admitted = await refusalOf(admin.refundSale({ saleId: sale.saleId, reason: "left early" }));
    log(`admin refunds the rest: ${describeError(admitted)}`);

    // 5. Tomorrow: the doors are not open yet; bob refunds in two steps.
    const bobSale = await buy(bob, tomorrow.sessionId, ["B1", "B2", "B3"]);
    log(`bob bought ${bobSale.seatLabels.join(", ")} for tomorrow: sale ${bobSale.saleId}, ${brl(bobSale.amountCents)}`);
    const earlyScan = await usher.admitTicket(bobSale.tickets[0]!.code, "door-1");
    log(`usher scans B1 today: ${describeAdmission(earlyScan)}`);
    const bobPartial = await bob.refundSale({ saleId: bobSale.saleId, seatLabels: ["B1"], reason: "one fewer" });
    log(`bob refunds B1: ${describeRefund(bobPartial)}`);
    const bobRest = await bob.refundSale({ saleId: bobSale.saleId, reason: "nobody can come" });
    log(`bob refunds the rest: ${describeRefund(bobRest)}`);
    const again = await refusalOf(bob.refundSale({ saleId: bobSale.saleId, seatLabels: ["B1"] }));
    log(`bob refunds B1 again: ${describeError(again)}`);

    // 6. The watch saw A3 held, sold, then on sale again.
    await watch.next((event) => a3ChangesOf(event).some((c) => c.status === SeatStatus.SEAT_STATUS_AVAILABLE));
    const a3Changes = watch.events.flatMap(a3ChangesOf);
    log(`A3 on the watch: ${a3Changes.map((c) => `${seatStatusName(c.status)} v${c.version}`).join(" -> ")}`);
    return {
      tonight,
      tomorrow,
      sale,
      codeIds,
      fetched,
      scans,
      forged,
      selfScan,
      late,
      partial,
      refundedScan,
      admitted,
      bobSale,
      earlyScan,
      bobPartial,
      bobRest,
      again,
      a3Changes,
    };
  } finally {
    if (watch) await watch.cancel();
    for (const client of [admin, alice, bob, usher]) client.close();
  }
}

export async function main(): Promise<void> {
  const result = await runTicketsFlow();
  const ok =
    result.scans.map((s) => admissionResultName(s.result)).join() === "ADMITTED,ALREADY_ADMITTED" &&
    result.partial.refundedCents === 1250 &&
    isServiceError(result.admitted);
  console.log(ok ? "done: tickets admitted once, refunds by the rules" : "unexpected outcome");
  if (!ok) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`example failed: ${describeError(error)}`);
    process.exitCode = 1;
  });
}
