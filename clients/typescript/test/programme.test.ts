// The programme against a live server, with exact outcomes: movies, shows
// that never share a room, filtered session lists and cancellations. Same
// environment as example.test.ts (tests/it/clients.rs in the repository root
// sets it for a fresh server, whose turnaround is the default 15 minutes).
// Every test works on movies, rooms and shows it creates itself, named with
// a tag of its own; lists that other tests' sessions may join are read for
// this test's rooms or movies only.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";

import type { ServiceError } from "@grpc/grpc-js";

import {
  AgeRating,
  CinemaClient,
  type Movie,
  type Room,
  SeatStatus,
  SessionState,
  TicketStatus,
  ageRatingName,
  codeName,
  errorDetails,
} from "../src/client";
import { type FlowConfig, configFromEnv } from "../src/example";
import {
  type ProgrammeFlowResult,
  clock,
  createMovie,
  createShow,
  findSale,
  listAll,
  ours,
  runProgrammeFlow,
} from "../src/example-programme";
import { SALA_2, refusalOf } from "../src/example-rooms";
import { violations } from "../src/example-selection";
import { buy } from "../src/example-tickets";

const config: FlowConfig = configFromEnv();

const MINUTE = 60_000;
const TURNAROUND = 15 * MINUTE;
const { SESSION_STATE_SCHEDULED: SCHEDULED, SESSION_STATE_CANCELLED: CANCELLED } = SessionState;

/** A FAILED_PRECONDITION's violations as [type, subject] pairs. */
function refused(error: ServiceError): Array<[string, string]> {
  assert.equal(codeName(error.code), "FAILED_PRECONDITION", error.details);
  return violations(error);
}

/** An INVALID_ARGUMENT's bad fields. */
function badFields(error: ServiceError): string[] {
  assert.equal(codeName(error.code), "INVALID_ARGUMENT", error.details);
  return (errorDetails(error).badRequest?.fieldViolations ?? []).map((v) => v.field);
}

function time(at: Date | undefined): number {
  assert.ok(at, "a time");
  return at.getTime();
}

/** `days` from now, to the second. */
function inDays(days: number): Date {
  return new Date(Math.floor((Date.now() + days * 24 * 60 * MINUTE) / 1000) * 1000);
}

describe("the programme flow", () => {
  let flow: ProgrammeFlowResult;
  before(async () => {
    flow = await runProgrammeFlow(config, () => {});
  });

  test("movies keep their running time, rating and synopsis", () => {
    const [x, y] = flow.movies as [Movie, Movie];
    assert.deepEqual(
      [x.title, x.duration, x.rating],
      [`Filme X ${flow.tag}`, { seconds: 110 * 60, nanos: 0 }, AgeRating.AGE_RATING_12],
    );
    assert.deepEqual([y.title, y.duration?.seconds, y.rating], [`Filme Y ${flow.tag}`, 95 * 60, AgeRating.AGE_RATING_L]);
    assert.equal(y.synopsis, "A family drives the coast road to Paraty.");
    assert.deepEqual(flow.fetched, x);
  });

  test("a show takes its movie's title and rating, and its room until the movie ends plus the turnaround", () => {
    const [x, y] = flow.movies as [Movie, Movie];
    const [sala1, sala2] = flow.rooms as [Room, Room];
    const sevenPm = time(flow.shows[0]!.startsAt);
    assert.equal(clock(flow.shows[0]!.startsAt), "19:00");
    const expected: Array<[Movie, Room, number]> = [
      [x, sala1, sevenPm],
      [y, sala2, sevenPm + 30 * MINUTE],
      [x, sala1, sevenPm + 150 * MINUTE],
    ];
    flow.shows.forEach((show, i) => {
      const [movie, room, starts] = expected[i]!;
      assert.deepEqual([show.movieId, show.movieTitle, show.rating], [movie.movieId, movie.title, movie.rating]);
      assert.deepEqual([show.roomId, show.room], [room.roomId, room.name]);
      assert.equal(time(show.startsAt), starts);
      assert.equal(time(show.endsAt), starts + (movie.duration?.seconds ?? 0) * 1000 + TURNAROUND);
      assert.deepEqual([show.state, show.cancelReason], [SCHEDULED, ""]);
    });
  });

  test("a show overlapping another in its room is ROOM_BUSY, naming it", () => {
    assert.deepEqual(refused(flow.clash), [["ROOM_BUSY", flow.shows[0]!.sessionId]]);
  });

  test("what's on tonight lists the evening's shows by start, with their rating", () => {
    const tag = flow.tag;
    assert.deepEqual(
      ours(flow.tonight, flow.rooms).map((s) => [clock(s.startsAt), s.movieTitle, ageRatingName(s.rating), s.room]),
      [
        ["19:00", `Filme X ${tag}`, "12", `Sala 1 ${tag}`],
        ["19:30", `Filme Y ${tag}`, "L", `Sala 2 ${tag}`],
        ["21:30", `Filme X ${tag}`, "12", `Sala 1 ${tag}`],
      ],
    );
    const starts = flow.tonight.map((s) => time(s.startsAt));
    assert.deepEqual(starts, [...starts].sort((a, b) => a - b));
    assert.ok(flow.tonight.every((s) => s.availableSeats > 0));
  });

  test("when a movie plays lists exactly its shows", () => {
    assert.deepEqual(
      flow.playing.map((s) => s.sessionId),
      [flow.shows[0]!.sessionId, flow.shows[2]!.sessionId],
    );
  });

  test("a cancelled show refunds every sale in full", () => {
    const late = flow.shows[2]!;
    assert.deepEqual(
      [flow.cancelled.sessionId, flow.cancelled.state, flow.cancelled.cancelReason, flow.cancelled.availableSeats],
      [late.sessionId, CANCELLED, "projector broken", 0],
    );
    assert.deepEqual([flow.sale.amountCents, flow.refunded.refundedCents], [5000, 5000]);
    assert.deepEqual(
      flow.refunded.tickets.map((t) => [t.seatLabel, t.status]),
      [
        ["B3", TicketStatus.TICKET_STATUS_REFUNDED],
        ["B4", TicketStatus.TICKET_STATUS_REFUNDED],
      ],
    );
  });

  test("its watchers get the last map, every seat BLOCKED, then FAILED_PRECONDITION", () => {
    const last = flow.watchEvents.at(-1);
    assert.equal(last?.event?.$case, "update");
    const seats = last?.event?.$case === "update" ? last.event.value : undefined;
    assert.equal(seats?.seats.length, 30);
    assert.ok(seats?.seats.every((s) => s.status === SeatStatus.SEAT_STATUS_BLOCKED && s.blockReason === "session cancelled: projector broken"));
    assert.deepEqual([seats?.availableCount, seats?.blockedCount], [0, 30]);
    assert.equal(flow.watchEnd.code, "FAILED_PRECONDITION");
  });

  test("a cancelled show sells nothing and leaves what's on", () => {
    const late = flow.shows[2]!.sessionId;
    assert.deepEqual(refused(flow.refused), [["SESSION_CANCELLED", late]]);
    assert.deepEqual(
      ours(flow.tonightAfter, flow.rooms).map((s) => s.sessionId),
      [flow.shows[0]!.sessionId, flow.shows[1]!.sessionId],
    );
    assert.deepEqual(
      flow.playingAfter.map((s) => [s.sessionId, s.state, s.cancelReason]),
      [
        [flow.shows[0]!.sessionId, SCHEDULED, ""],
        [late, CANCELLED, "projector broken"],
      ],
    );
  });

  test("cancelling again returns the session as it is", () => {
    assert.deepEqual(flow.again, flow.cancelled);
  });
});

describe("the programme, one rule at a time", () => {
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

  /** A movie `minutes` long and a room, both new. */
  async function movieAndRoom(minutes = 100): Promise<[Movie, Room]> {
    const tag = randomUUID().slice(0, 6);
    const movie = await createMovie(admin, `Filme T ${tag}`, minutes, AgeRating.AGE_RATING_16);
    return [movie, await admin.createRoom({ name: `Sala T ${tag}`, rows: SALA_2 })];
  }

  test("a bad movie names every field; only admins add movies; an unknown one is NOT_FOUND", async () => {
    const bad = await refusalOf(admin.createMovie({ title: " ", duration: { seconds: 59 }, synopsis: "s".repeat(2001) }));
    assert.deepEqual(badFields(bad), ["title", "duration", "rating", "synopsis"]);
    const notAdmin = await refusalOf(createMovie(alice, "Filme A", 90, AgeRating.AGE_RATING_L));
    assert.equal(codeName(notAdmin.code), "PERMISSION_DENIED");
    assert.equal(codeName((await refusalOf(alice.getMovie(randomUUID()))).code), "NOT_FOUND");
  });

  test("a show may start exactly when the room is free, and in a cancelled show's time", async () => {
    const [movie, room] = await movieAndRoom();
    const first = await createShow(admin, movie, room, inDays(3));
    const free = time(first.endsAt);
    assert.equal(free - time(first.startsAt), 100 * MINUTE + TURNAROUND);
    const early = await refusalOf(createShow(admin, movie, room, new Date(free - 1000)));
    assert.deepEqual(refused(early), [["ROOM_BUSY", first.sessionId]]);
    const earlier = await refusalOf(createShow(admin, movie, room, new Date(time(first.startsAt) - 100 * MINUTE)));
    assert.deepEqual(refused(earlier), [["ROOM_BUSY", first.sessionId]]);
    const second = await createShow(admin, movie, room, new Date(free));
    assert.equal(time(second.startsAt), free);
    // A cancelled show takes no time: its slot can be given again.
    await admin.cancelSession({ sessionId: first.sessionId, reason: "moved" });
    const again = await createShow(admin, movie, room, first.startsAt!);
    assert.deepEqual([again.state, time(again.endsAt)], [SCHEDULED, free]);
  });

  test("a room and a time window narrow the list", async () => {
    const [movie, room] = await movieAndRoom();
    const starts = [0, 1, 2].map((i) => new Date(inDays(4).getTime() + i * 180 * MINUTE));
    const ids: string[] = [];
    for (const at of starts) ids.push((await createShow(admin, movie, room, at)).sessionId);
    assert.deepEqual((await listAll(alice, { roomId: room.roomId })).map((s) => s.sessionId), ids);
    // starts_after is inclusive, starts_before exclusive.
    const window = await listAll(alice, { roomId: room.roomId, startsAfter: starts[1], startsBefore: starts[2] });
    assert.deepEqual(window.map((s) => s.sessionId), [ids[1]]);
    const empty = await refusalOf(alice.listSessions({ startsAfter: starts[1], startsBefore: starts[1] }));
    assert.deepEqual(badFields(empty), ["starts_before"]);
  });

  test("a page token is good only with the filters that made it", async () => {
    const [movie, room] = await movieAndRoom();
    const ids: string[] = [];
    for (const i of [0, 1, 2]) {
      ids.push((await createShow(admin, movie, room, new Date(inDays(5).getTime() + i * 180 * MINUTE))).sessionId);
    }
    const first = await alice.listSessions({ pageSize: 2, movieId: movie.movieId });
    assert.equal(first.sessions.length, 2);
    const rest = await alice.listSessions({ pageSize: 2, movieId: movie.movieId, pageToken: first.nextPageToken });
    assert.deepEqual([...first.sessions, ...rest.sessions].map((s) => s.sessionId), ids);
    assert.equal(rest.nextPageToken, "");
    const other = await refusalOf(
      alice.listSessions({ pageSize: 2, movieId: movie.movieId, roomId: room.roomId, pageToken: first.nextPageToken }),
    );
    assert.deepEqual(badFields(other), ["page_token"]);
  });

  test("every seat of a cancelled show is BLOCKED with the reason, and its sale refunded", async () => {
    const [movie, room] = await movieAndRoom();
    const show = await createShow(admin, movie, room, inDays(6));
    const sale = await buy(bob, show.sessionId, ["A3"]);
    await admin.cancelSession({ sessionId: show.sessionId, reason: "flooded" });
    const map = await alice.getSeatMap(show.sessionId);
    assert.deepEqual(
      [...new Set(map.seats.map((s) => `${s.status} ${s.blockReason}`))],
      [`${SeatStatus.SEAT_STATUS_BLOCKED} session cancelled: flooded`],
    );
    assert.equal((await findSale(bob, sale.saleId)).refundedCents, 2500);
  });

  test("only admins cancel, and a cancellation needs a reason", async () => {
    const [movie, room] = await movieAndRoom();
    const show = await createShow(admin, movie, room, inDays(7));
    const notAdmin = await refusalOf(alice.cancelSession({ sessionId: show.sessionId, reason: "no" }));
    assert.equal(codeName(notAdmin.code), "PERMISSION_DENIED");
    const blank = await refusalOf(admin.cancelSession({ sessionId: show.sessionId, reason: " " }));
    assert.deepEqual(badFields(blank), ["reason"]);
  });

  test("a show that has started is neither cancelled nor sold: SESSION_STARTED", async () => {
    const [movie, room] = await movieAndRoom();
    const show = await createShow(admin, movie, room, new Date(Date.now() + 2000));
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const started = [["SESSION_STARTED", show.sessionId]];
    assert.deepEqual(refused(await refusalOf(admin.cancelSession({ sessionId: show.sessionId, reason: "late" }))), started);
    assert.deepEqual(refused(await refusalOf(buy(alice, show.sessionId, ["A3"]))), started);
  });
});
