// The programme, end to end: movies, shows that never share a room, what's on
// tonight, and a cancelled show that refunds its buyers:
//
//   an admin adds two movies ("Filme X", 1h50, rated 12; "Filme Y", 1h35,
//   rated L) and two rooms, and publishes tonight's programme in São Paulo:
//   Filme X at 19:00 and 21:30 in Sala 1, Filme Y at 19:30 in Sala 2. A show
//   takes its movie's title and rating, and its room from its start until
//   the movie ends plus the turnaround (CINEMA_TURNAROUND, 15 minutes by
//   default): Filme X at 19:00 holds Sala 1 until 21:05, so Filme Y at 20:00
//   there is refused (ROOM_BUSY, naming the 19:00 show). alice asks what's on
//   tonight with seats left, and when Filme X plays; she watches the 21:30
//   show's seat map. bob buys two seats for it; the projector breaks and the
//   admin cancels it: bob's sale is refunded in full, alice's watch gets the
//   last map (every seat BLOCKED) and ends with FAILED_PRECONDITION, she is
//   refused a seat there (SESSION_CANCELLED), the show leaves what's on, and
//   cancelling it again changes nothing.
//
// Every name carries a tag of the run ("Filme X 3fa2c1", "Sala 1 3fa2c1"), so
// runs against one server stay apart. "Tonight" is the evening ahead in São
// Paulo (tomorrow's once 19:00 is less than 5 minutes away).
//
// Run it with `npm run example:programme` (after ./setup), with the
// environment of example.ts (CINEMA_ADDR, CINEMA_ADMIN_TOKEN,
// CINEMA_ALICE_TOKEN, CINEMA_BOB_TOKEN); test/programme.test.ts runs
// `runProgrammeFlow` and checks what it returns.

import { randomUUID } from "node:crypto";

import type { ServiceError } from "@grpc/grpc-js";

import {
  AgeRating,
  CinemaClient,
  type Movie,
  type Room,
  type Sale,
  type SeatMapEvent,
  type Session,
  ageRatingName,
  codeName,
  describeError,
  isServiceError,
  seatStatusName,
  sessionStateName,
  ticketStatusName,
} from "./client";
import { type FlowConfig, configFromEnv } from "./example";
import { PRICES, SALA_2, brl, refusalOf } from "./example-rooms";
import { buy } from "./example-tickets";
import type { ListSessionsRequest } from "./gen/cinema/v1/session";

const HOUR = 3_600_000;
/** São Paulo: UTC-3 all year since 2019 (no daylight saving time). */
const SAO_PAULO_OFFSET = -3 * HOUR;

// ---- time ---------------------------------------------------------------

/** Today at 19:00 in São Paulo, or tomorrow if that is less than 5 minutes away. */
export function tonightAt19InSaoPaulo(now: Date = new Date()): Date {
  const local = new Date(now.getTime() + SAO_PAULO_OFFSET);
  const today = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate(), 19) - SAO_PAULO_OFFSET;
  return new Date(today < now.getTime() + 5 * 60_000 ? today + 24 * HOUR : today);
}

/** `19:30`, São Paulo time. */
export function clock(at: Date | undefined): string {
  return at ? new Date(at.getTime() + SAO_PAULO_OFFSET).toISOString().slice(11, 16) : "?";
}

/** Midnight (São Paulo) that starts the day of `at`. */
function startOfDay(at: Date): Date {
  const local = new Date(at.getTime() + SAO_PAULO_OFFSET);
  return new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate()) - SAO_PAULO_OFFSET);
}

// ---- calls --------------------------------------------------------------

/** A movie `minutes` long (whole seconds on the wire), rated `rating`. */
export function createMovie(admin: CinemaClient, title: string, minutes: number, rating: AgeRating, synopsis = ""): Promise<Movie> {
  return admin.createMovie({ title, duration: { seconds: minutes * 60, nanos: 0 }, rating, synopsis });
}

/**
 * A show of `movie` in `room` at `startsAt`, priced per seat kind: it shows
 * the movie's title and rating and takes the room until `endsAt`. One that
 * overlaps another scheduled show of the room is FAILED_PRECONDITION,
 * ROOM_BUSY, subject the show in the way.
 */
export function createShow(admin: CinemaClient, movie: Movie, room: Room, startsAt: Date): Promise<Session> {
  return admin.createSession({ movieId: movie.movieId, roomId: room.roomId, startsAt, currency: "BRL", prices: PRICES });
}

/** Every session ListSessions returns for these filters, page after page. */
export async function listAll(client: CinemaClient, filters: Partial<ListSessionsRequest>): Promise<Session[]> {
  const sessions: Session[] = [];
  let pageToken = "";
  do {
    const page = await client.listSessions({ ...filters, pageSize: 100, pageToken });
    sessions.push(...page.sessions);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return sessions;
}

/** The sessions of the evening of `evening` (18:00 to midnight in São Paulo) with a seat on sale. */
export function whatsOn(client: CinemaClient, evening: Date): Promise<Session[]> {
  const day = startOfDay(evening).getTime();
  return listAll(client, {
    startsAfter: new Date(day + 18 * HOUR),
    startsBefore: new Date(day + 24 * HOUR),
    onlyWithSeats: true,
  });
}

/** One of the caller's sales, from ListPurchases (newest first, paged). */
export async function findSale(client: CinemaClient, saleId: string): Promise<Sale> {
  let pageToken = "";
  do {
    const page = await client.listPurchases({ pageSize: 50, pageToken });
    const sale = page.sales.find((s) => s.saleId === saleId);
    if (sale) return sale;
    pageToken = page.nextPageToken;
  } while (pageToken);
  throw new Error(`sale ${saleId} is not among the caller's purchases`);
}

/** The sessions of `rooms` among `sessions`, in their order. */
export function ours(sessions: Session[], rooms: Room[]): Session[] {
  const ids = new Set(rooms.map((r) => r.roomId));
  return sessions.filter((s) => ids.has(s.roomId));
}

// ---- printing -----------------------------------------------------------

/** `19:00  Filme X 3fa2c1  12  Sala 1 3fa2c1`. */
export function describeShow(session: Session): string {
  return `${clock(session.startsAt)}  ${session.movieTitle}  ${ageRatingName(session.rating)}  ${session.room}`;
}

/** `1h50`. */
function runningTime(movie: Movie): string {
  const minutes = Math.trunc((movie.duration?.seconds ?? 0) / 60);
  return `${Math.trunc(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}`;
}

// ---- the flow -----------------------------------------------------------

export interface ProgrammeFlowResult {
  /** In every name of this run. */
  tag: string;
  /** Filme X, Filme Y. */
  movies: Movie[];
  /** GetMovie of Filme X. */
  fetched: Movie;
  /** Sala 1, Sala 2. */
  rooms: Room[];
  /** X 19:00 Sala 1, Y 19:30 Sala 2, X 21:30 Sala 1. */
  shows: Session[];
  /** Filme Y at 20:00 in Sala 1. */
  clash: ServiceError;
  /** What's on tonight, with seats left. */
  tonight: Session[];
  /** When Filme X plays. */
  playing: Session[];
  /** bob's B3 and B4 at 21:30. */
  sale: Sale;
  /** The 21:30 show, cancelled. */
  cancelled: Session;
  /** bob's sale after it. */
  refunded: Sale;
  /** Every message of alice's watch of the 21:30 show. */
  watchEvents: SeatMapEvent[];
  /** How that watch ended: its code name and message. */
  watchEnd: { code: string; details: string };
  /** alice asking for B5 at 21:30 after it. */
  refused: ServiceError;
  /** What's on tonight after it. */
  tonightAfter: Session[];
  /** When Filme X plays after it. */
  playingAfter: Session[];
  /** Cancelling the 21:30 show again. */
  again: Session;
}

/** Runs the flow, printing one line per step through `log`. */
export async function runProgrammeFlow(
  config: FlowConfig = configFromEnv(),
  log: (line: string) => void = console.log,
): Promise<ProgrammeFlowResult> {
  const tag = randomUUID().slice(0, 6);
  const admin = new CinemaClient(config.address, { token: config.adminToken });
  const alice = new CinemaClient(config.address, { token: config.aliceToken });
  const bob = new CinemaClient(config.address, { token: config.bobToken });
  let watch: ReturnType<CinemaClient["watchSeatMap"]> | undefined;
  try {
    // 1. The catalogue and the rooms.
    const x = await createMovie(admin, `Filme X ${tag}`, 110, AgeRating.AGE_RATING_12, "One last heist on the Avenida Paulista.");
    const y = await createMovie(admin, `Filme Y ${tag}`, 95, AgeRating.AGE_RATING_L, "A family drives the coast road to Paraty.");
    for (const movie of [x, y]) {
      log(`created movie ${movie.movieId}: ${movie.title}, ${runningTime(movie)}, rated ${ageRatingName(movie.rating)}`);
    }
    const fetched = await alice.getMovie(x.movieId);
    const sala1 = await admin.createRoom({ name: `Sala 1 ${tag}`, rows: SALA_2 });
    const sala2 = await admin.createRoom({ name: `Sala 2 ${tag}`, rows: SALA_2 });
    log(`created rooms ${sala1.name} and ${sala2.name}, ${sala1.seatCount} seats each`);

    // 2. Tonight's programme: no two shows of a room overlap.
    const sevenPm = tonightAt19InSaoPaulo();
    const at = (minutes: number) => new Date(sevenPm.getTime() + minutes * 60_000);
    const shows = [
      await createShow(admin, x, sala1, sevenPm),
      await createShow(admin, y, sala2, at(30)),
      await createShow(admin, x, sala1, at(150)),
    ];
    for (const show of shows) log(`published ${describeShow(show)}, the room free again at ${clock(show.endsAt)}`);
    const clash = await refusalOf(createShow(admin, y, sala1, at(60)));
    log(`${y.title} at 20:00 in ${sala1.name}: ${describeError(clash)}`);

    // 3. What alice finds: tonight's sessions with seats left, and Filme X's.
    const tonight = await whatsOn(alice, sevenPm);
    log(`what's on tonight, with seats left (${tonight.length} sessions):`);
    for (const session of tonight) log(`  ${describeShow(session)}`);
    const playing = await listAll(alice, { movieId: x.movieId });
    log(`when ${x.title} plays: ${playing.map((s) => `${clock(s.startsAt)} in ${s.room}`).join(", ")}`);

    // 4. bob buys for 21:30 while alice watches its seats; then the projector breaks.
    const late = shows[2]!;
    watch = alice.watchSeatMap(late.sessionId);
    await watch.next((event) => event.event?.$case === "snapshot");
    const sale = await buy(bob, late.sessionId, ["B3", "B4"]);
    log(`bob bought ${sale.seatLabels.join(", ")} for 21:30: sale ${sale.saleId}, ${brl(sale.amountCents)}`);
    const cancelled = await admin.cancelSession({ sessionId: late.sessionId, reason: "projector broken", requestId: randomUUID() });
    log(`admin cancels the 21:30 show: ${sessionStateName(cancelled.state)} (${cancelled.cancelReason})`);
    const end = await watch.ended;
    const last = watch.events.at(-1);
    const lastSeats = last?.event?.$case === "update" ? last.event.value.seats : [];
    const statuses = [...new Set(lastSeats.map((s) => seatStatusName(s.status)))].join(", ");
    log(`alice's watch: last change ${lastSeats.length} seats ${statuses}, then ${codeName(end.code)}: ${end.details}`);
    const refunded = await findSale(bob, sale.saleId);
    const tickets = refunded.tickets.map((t) => `${t.seatLabel} ${ticketStatusName(t.status)}`).join(", ");
    log(`bob's sale: ${brl(refunded.refundedCents)} of ${brl(refunded.amountCents)} refunded; ${tickets}`);
    const refused = await refusalOf(buy(alice, late.sessionId, ["B5"]));
    log(`alice asks for B5 at 21:30: ${describeError(refused)}`);
    const tonightAfter = await whatsOn(alice, sevenPm);
    log(`what's on tonight now: ${tonightAfter.length} sessions, the 21:30 ${x.title} no more`);
    const playingAfter = await listAll(alice, { movieId: x.movieId });
    log(`when ${x.title} plays now: ${playingAfter.map((s) => `${clock(s.startsAt)} ${sessionStateName(s.state)}`).join(", ")}`);
    const again = await admin.cancelSession({ sessionId: late.sessionId, reason: "projector broken", requestId: randomUUID() });
    log(`admin cancels it again: ${sessionStateName(again.state)} (${again.cancelReason}), nothing refunded twice`);
    return {
      tag,
      movies: [x, y],
      fetched,
      rooms: [sala1, sala2],
      shows,
      clash,
      tonight,
      playing,
      sale,
      cancelled,
      refunded,
      watchEvents: watch.events,
      watchEnd: { code: codeName(end.code), details: end.details },
      refused,
      tonightAfter,
      playingAfter,
      again,
    };
  } finally {
    if (watch) await watch.cancel();
    for (const client of [admin, alice, bob]) client.close();
  }
}

export async function main(): Promise<void> {
  const result = await runProgrammeFlow();
  const ok =
    isServiceError(result.clash) &&
    result.refunded.refundedCents === result.sale.amountCents &&
    result.watchEnd.code === "FAILED_PRECONDITION";
  console.log(ok ? "done: shows kept apart, a cancelled show refunded in full" : "unexpected outcome");
  if (!ok) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`example failed: ${describeError(error)}`);
    process.exitCode = 1;
  });
}
