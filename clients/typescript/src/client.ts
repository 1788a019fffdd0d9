// Hand-written helpers over the generated stubs (src/gen/, made by ./generate
// with ts-proto for @grpc/grpc-js): connect to a cinema server, send a bearer
// token, call unary RPCs of the five services as promises, watch a seat map,
// check a ticket code's shape, and read the google.rpc error details the
// server attaches to its errors.

import {
  type CallOptions,
  type ClientReadableStream,
  type ClientUnaryCall,
  type Interceptor,
  InterceptingCall,
  Metadata,
  type ChannelCredentials,
  type ServiceError,
  credentials,
  status,
} from "@grpc/grpc-js";
import { readFileSync } from "node:fs";

import {
  BookingServiceClient,
  CancelReservationRequest,
  ConfirmPaymentRequest,
  type DeepPartial,
  ExtendReservationRequest,
  GetReservationRequest,
  ListPurchasesRequest,
  type ListPurchasesResponse,
  RefundSaleRequest,
  type Reservation,
  ReserveBestAvailableRequest,
  ReserveSeatsRequest,
  type Sale,
  type Ticket,
  TicketStatus,
  TicketType,
  ticketStatusToJSON,
  ticketTypeToJSON,
} from "./gen/cinema/v1/booking";
import {
  AgeRating,
  CreateMovieRequest,
  GetMovieRequest,
  ListMoviesRequest,
  type ListMoviesResponse,
  type Movie,
  MovieServiceClient,
  ageRatingToJSON,
} from "./gen/cinema/v1/movie";
import {
  BlockSeatsRequest,
  CancelSessionRequest,
  CreateSessionRequest,
  GetSeatMapRequest,
  GetSessionRequest,
  GetSessionSalesRequest,
  ListSessionsRequest,
  type ListSessionsResponse,
  type SeatMap,
  type SeatMapEvent,
  type SeatMapUpdate,
  SeatStatus,
  type Session,
  type SessionSales,
  SessionServiceClient,
  SessionState,
  UnblockSeatsRequest,
  WatchSeatMapRequest,
  seatStatusToJSON,
  sessionStateToJSON,
} from "./gen/cinema/v1/session";
import {
  type Admission,
  AdmissionResult,
  AdmitTicketRequest,
  GetTicketRequest,
  TicketServiceClient,
  admissionResultToJSON,
} from "./gen/cinema/v1/ticket";
import {
  CreateRoomRequest,
  GetRoomRequest,
  ListRoomsRequest,
  type ListRoomsResponse,
  type Room,
  SeatKind,
  VenueServiceClient,
  seatKindToJSON,
} from "./gen/cinema/v1/venue";
import {
  BadRequest,
  ErrorInfo,
  PreconditionFailure,
  ResourceInfo,
} from "./gen/google/rpc/error_details";
import { Status as RpcStatus } from "./gen/google/rpc/status";

export const DEFAULT_ADDRESS = "127.0.0.1:50051";

/** Metadata carrying `authorization: Bearer <token>`, for one call. */
export function bearer(token: string): Metadata {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}

/** An interceptor that adds `authorization: Bearer <token>` to every call. */
export function bearerInterceptor(token: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set("authorization", `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}

/** The last (fullest) overload of a generated unary method. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/**
 * Calls a generated unary method and returns its answer as a promise; a
 * failed call rejects with the grpc-js `ServiceError` (code, details,
 * trailing metadata). `method` must be bound to its client, e.g.
 * `unary(client.getSession.bind(client), { sessionId })`.
 */
export function unary<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  metadata: Metadata = new Metadata(),
  options: Partial<CallOptions> = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, metadata, options, (error, response) => {
      if (error) reject(error);
      else resolve(response);
    });
  });
}

export interface CinemaClientOptions {
  /** Sent as `authorization: Bearer <token>` on every call. */
  token?: string;
  /** Deadline of each unary call, in milliseconds (default 10 s). */
  timeoutMs?: number;
  /**
   * A CA bundle (PEM file) to trust: the channel speaks TLS and trusts only
   * that CA. Default: the CINEMA_CA_FILE environment variable; unset, the
   * channel is plaintext.
   */
  caFile?: string;
  /** A client certificate and its key (PEM files) for a server that asks for one (mutual TLS); default CINEMA_CLIENT_CERT and CINEMA_CLIENT_KEY. */
  clientCertFile?: string;
  clientKeyFile?: string;
}

/** Plaintext, or TLS trusting `caFile` (with a client certificate if given). */
export function channelCredentials(options: CinemaClientOptions = {}): ChannelCredentials {
  const env = process.env;
  const caFile = options.caFile ?? env["CINEMA_CA_FILE"];
  if (!caFile) return credentials.createInsecure();
  const certFile = options.clientCertFile ?? env["CINEMA_CLIENT_CERT"];
  const keyFile = options.clientKeyFile ?? env["CINEMA_CLIENT_KEY"];
  return credentials.createSsl(
    readFileSync(caFile),
    keyFile ? readFileSync(keyFile) : null,
    certFile ? readFileSync(certFile) : null,
  );
}

/**
 * The five cinema services over one channel (plaintext, or TLS with
 * `caFile` / CINEMA_CA_FILE), with
 * promise methods for every unary RPC. `close()` it when done, or node will
 * not exit.
 */
export class CinemaClient {
  readonly sessions: SessionServiceClient;
  readonly booking: BookingServiceClient;
  readonly venues: VenueServiceClient;
  readonly tickets: TicketServiceClient;
  readonly movies: MovieServiceClient;
  private readonly timeoutMs: number;

  constructor(address: string = DEFAULT_ADDRESS, options: CinemaClientOptions = {}) {
    const interceptors = options.token === undefined ? [] : [bearerInterceptor(options.token)];
    const channel = channelCredentials(options);
    this.sessions = new SessionServiceClient(address, channel, { interceptors });
    // The other clients share the session client's channel (one connection).
    const shared = { interceptors, channelOverride: this.sessions.getChannel() };
    this.booking = new BookingServiceClient(address, channel, shared);
    this.venues = new VenueServiceClient(address, channel, shared);
    this.tickets = new TicketServiceClient(address, channel, shared);
    this.movies = new MovieServiceClient(address, channel, shared);
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Resolves once the channel is connected (or rejects after `timeoutMs`). */
  ready(timeoutMs: number = this.timeoutMs): Promise<void> {
    return new Promise((resolve, reject) => {
      this.sessions.waitForReady(Date.now() + timeoutMs, (error) => (error ? reject(error) : resolve()));
    });
  }

  close(): void {
    this.sessions.close(); // closes the shared channel
  }

  private options(): Partial<CallOptions> {
    return { deadline: Date.now() + this.timeoutMs };
  }

  private call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    return unary(method, request, new Metadata(), this.options());
  }

  // SessionService

  createSession(request: DeepPartial<CreateSessionRequest>): Promise<Session> {
    const s = this.sessions;
    return this.call(s.createSession.bind(s), CreateSessionRequest.fromPartial(request));
  }

  getSession(sessionId: string): Promise<Session> {
    const s = this.sessions;
    return this.call(s.getSession.bind(s), GetSessionRequest.fromPartial({ sessionId }));
  }

  listSessions(request: DeepPartial<ListSessionsRequest> = {}): Promise<ListSessionsResponse> {
    const s = this.sessions;
    return this.call(s.listSessions.bind(s), ListSessionsRequest.fromPartial(request));
  }

  getSeatMap(sessionId: string): Promise<SeatMap> {
    const s = this.sessions;
    return this.call(s.getSeatMap.bind(s), GetSeatMapRequest.fromPartial({ sessionId }));
  }

  getSessionSales(sessionId: string): Promise<SessionSales> {
    const s = this.sessions;
    return this.call(s.getSessionSales.bind(s), GetSessionSalesRequest.fromPartial({ sessionId }));
  }

  /** Takes seats out of sale, all or none (admin only); the seat map after it. */
  blockSeats(request: DeepPartial<BlockSeatsRequest>): Promise<SeatMap> {
    const s = this.sessions;
    return this.call(s.blockSeats.bind(s), BlockSeatsRequest.fromPartial(request));
  }

  /** Puts blocked seats back on sale (admin only); the seat map after it. */
  unblockSeats(request: DeepPartial<UnblockSeatsRequest>): Promise<SeatMap> {
    const s = this.sessions;
    return this.call(s.unblockSeats.bind(s), UnblockSeatsRequest.fromPartial(request));
  }

  /**
   * Cancels a session that has not started (admin only), in one step: pending
   * holds cancelled, every sale refunded in full (admitted tickets too,
   * whatever the refund window), every seat BLOCKED; the session after it,
   * SESSION_STATE_CANCELLED with its `cancelReason`. Cancelling it again
   * returns it as it is; one that has started is FAILED_PRECONDITION,
   * SESSION_STARTED. Reserving in a cancelled session is SESSION_CANCELLED.
   */
  cancelSession(request: DeepPartial<CancelSessionRequest>): Promise<Session> {
    const s = this.sessions;
    return this.call(s.cancelSession.bind(s), CancelSessionRequest.fromPartial(request));
  }

  /** Starts a WatchSeatMap stream; see {@link SeatMapWatch}. No deadline. */
  watchSeatMap(sessionId: string): SeatMapWatch {
    return new SeatMapWatch(this.sessions.watchSeatMap(WatchSeatMapRequest.fromPartial({ sessionId })));
  }

  // BookingService (the caller is the token's user)

  reserveSeats(request: DeepPartial<ReserveSeatsRequest>): Promise<Reservation> {
    const b = this.booking;
    return this.call(b.reserveSeats.bind(b), ReserveSeatsRequest.fromPartial(request));
  }

  /**
   * Holds the best `quantity` adjacent seats in one row (no aisle inside, a
   * couple seat only whole) of `kinds` (none: STANDARD, PREMIUM and COUPLE),
   * nearest the room's sweet spot; the `halfPriceQuantity` leftmost get HALF
   * tickets. FAILED_PRECONDITION, NOT_ENOUGH_ADJACENT_SEATS when no block is free.
   */
  reserveBestAvailable(request: DeepPartial<ReserveBestAvailableRequest>): Promise<Reservation> {
    const b = this.booking;
    return this.call(b.reserveBestAvailable.bind(b), ReserveBestAvailableRequest.fromPartial(request));
  }

  /**
   * Holds a pending reservation one hold time from now (never earlier), one
   * of its `extensionsLeft`. FAILED_PRECONDITION: EXTENSION_LIMIT past the
   * limit, RESERVATION_PAID once paid.
   */
  extendReservation(request: DeepPartial<ExtendReservationRequest>): Promise<Reservation> {
    const b = this.booking;
    return this.call(b.extendReservation.bind(b), ExtendReservationRequest.fromPartial(request));
  }

  getReservation(reservationId: string): Promise<Reservation> {
    const b = this.booking;
    return this.call(b.getReservation.bind(b), GetReservationRequest.fromPartial({ reservationId }));
  }

  confirmPayment(request: DeepPartial<ConfirmPaymentRequest>): Promise<Sale> {
    const b = this.booking;
    return this.call(b.confirmPayment.bind(b), ConfirmPaymentRequest.fromPartial(request));
  }

  cancelReservation(reservationId: string): Promise<Reservation> {
    const b = this.booking;
    return this.call(b.cancelReservation.bind(b), CancelReservationRequest.fromPartial({ reservationId }));
  }

  listPurchases(request: DeepPartial<ListPurchasesRequest> = {}): Promise<ListPurchasesResponse> {
    const b = this.booking;
    return this.call(b.listPurchases.bind(b), ListPurchasesRequest.fromPartial(request));
  }

  /**
   * Refunds seats of a sale (`seatLabels` empty: every seat not refunded
   * yet) and puts them back on sale; the sale after it, with
   * `refundedCents` and the tickets REFUNDED. The buyer may until
   * CINEMA_REFUND_CUTOFF (2h) before the start, an admin until the start.
   * FAILED_PRECONDITION: REFUND_WINDOW_CLOSED (subject the sale id),
   * TICKET_ADMITTED and ALREADY_REFUNDED (subject each seat).
   */
  refundSale(request: DeepPartial<RefundSaleRequest>): Promise<Sale> {
    const b = this.booking;
    return this.call(b.refundSale.bind(b), RefundSaleRequest.fromPartial(request));
  }

  // TicketService

  /**
   * Scans a ticket's code at `gate` (staff or admin only). Always answers
   * OK with a `result`: ADMITTED the first time, ALREADY_ADMITTED after
   * (`firstGate`, `firstAdmitTime`), REFUNDED, INVALID (no `ticket`),
   * NOT_YET_OPEN (earlier than CINEMA_ADMISSION_OPENS before the start).
   */
  admitTicket(code: string, gate: string): Promise<Admission> {
    const t = this.tickets;
    return this.call(t.admitTicket.bind(t), AdmitTicketRequest.fromPartial({ code, gate }));
  }

  /** One ticket: the caller's own (staff and admins read any). */
  getTicket(ticketId: string): Promise<Ticket> {
    const t = this.tickets;
    return this.call(t.getTicket.bind(t), GetTicketRequest.fromPartial({ ticketId }));
  }

  // MovieService

  /**
   * Adds a movie (admin only): `duration` from 1 minute to 6 hours in whole
   * seconds, `rating` required. INVALID_ARGUMENT names every bad field.
   */
  createMovie(request: DeepPartial<CreateMovieRequest>): Promise<Movie> {
    const m = this.movies;
    return this.call(m.createMovie.bind(m), CreateMovieRequest.fromPartial(request));
  }

  getMovie(movieId: string): Promise<Movie> {
    const m = this.movies;
    return this.call(m.getMovie.bind(m), GetMovieRequest.fromPartial({ movieId }));
  }

  /** Movies by title, then id, one page at a time. */
  listMovies(request: DeepPartial<ListMoviesRequest> = {}): Promise<ListMoviesResponse> {
    const m = this.movies;
    return this.call(m.listMovies.bind(m), ListMoviesRequest.fromPartial(request));
  }

  // VenueService

  /** Creates a room from its rows, nearest the screen first (admin only). */
  createRoom(request: DeepPartial<CreateRoomRequest>): Promise<Room> {
    const v = this.venues;
    return this.call(v.createRoom.bind(v), CreateRoomRequest.fromPartial(request));
  }

  getRoom(roomId: string): Promise<Room> {
    const v = this.venues;
    return this.call(v.getRoom.bind(v), GetRoomRequest.fromPartial({ roomId }));
  }

  listRooms(request: DeepPartial<ListRoomsRequest> = {}): Promise<ListRoomsResponse> {
    const v = this.venues;
    return this.call(v.listRooms.bind(v), ListRoomsRequest.fromPartial(request));
  }
}

/** How a stream ended: its gRPC status code and message. */
export interface StreamEnd {
  code: status;
  details: string;
  error?: ServiceError;
}

/**
 * A running WatchSeatMap stream. Every message is kept in `events` and passed
 * to the `onEvent` listeners; `next(predicate)` waits for a matching message,
 * `cancel()` ends the stream and waits until it is closed, and `ended`
 * resolves with the final status (never rejects).
 */
export class SeatMapWatch {
  readonly events: SeatMapEvent[] = [];
  readonly ended: Promise<StreamEnd>;
  private end: StreamEnd | undefined;
  private readonly listeners: Array<(event: SeatMapEvent) => void> = [];
  private readonly waiters = new Set<() => void>();

  constructor(readonly call: ClientReadableStream<SeatMapEvent>) {
    this.ended = new Promise((resolve) => {
      let settled = false;
      const finish = (end: StreamEnd) => {
        if (settled) return;
        settled = true;
        this.end = end;
        for (const wake of this.waiters) wake();
        resolve(end);
      };
      call.on("data", (event: SeatMapEvent) => {
        this.events.push(event);
        for (const listener of this.listeners) listener(event);
        for (const wake of this.waiters) wake();
      });
      // A stream ends with exactly one of: an error (any non-OK status,
      // including CANCELLED after cancel()), or a status OK.
      call.on("error", (error: ServiceError) => finish({ code: error.code, details: error.details, error }));
      call.on("status", (s: { code: status; details: string }) => {
        if (s.code === status.OK) finish({ code: s.code, details: s.details });
      });
    });
  }

  /** Calls `listener` for every message from now on. */
  onEvent(listener: (event: SeatMapEvent) => void): this {
    this.listeners.push(listener);
    return this;
  }

  /**
   * Resolves with the first message (already received or still to come) that
   * satisfies `predicate`; rejects if the stream ends first or after
   * `timeoutMs`.
   */
  next(predicate: (event: SeatMapEvent) => boolean, timeoutMs = 10_000): Promise<SeatMapEvent> {
    return new Promise((resolve, reject) => {
      let checked = 0;
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no matching seat map message within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = () => {
        for (; checked < this.events.length; checked++) {
          const event = this.events[checked]!;
          if (predicate(event)) {
            clearTimeout(timer);
            this.waiters.delete(check);
            resolve(event);
            return;
          }
        }
        if (this.end) {
          clearTimeout(timer);
          this.waiters.delete(check);
          reject(new Error(`the watch ended (${status[this.end.code]}: ${this.end.details}) before a matching message`));
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Cancels the stream and resolves once it has ended (normally CANCELLED). */
  cancel(): Promise<StreamEnd> {
    if (!this.end) this.call.cancel();
    return this.ended;
  }
}

// ---- errors -------------------------------------------------------------

export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number" && "metadata" in error;
}

/** The name of a gRPC status code, e.g. 9 → "FAILED_PRECONDITION". */
export function codeName(code: status): string {
  return status[code] ?? `CODE_${code}`;
}

/** The `google.rpc` details of an error that the server attaches. */
export interface ErrorDetails {
  status?: RpcStatus;
  badRequest?: BadRequest;
  preconditionFailure?: PreconditionFailure;
  resourceInfo?: ResourceInfo;
  errorInfo?: ErrorInfo;
  /** type URLs of details not decoded here */
  unknown: string[];
}

const TYPE_PREFIX = "type.googleapis.com/";

/**
 * Decodes the `google.rpc.Status` of the `grpc-status-details-bin` trailer
 * (the "rich error model") and the details it carries. Returns only
 * `{ unknown: [] }` when the error has no such trailer.
 */
export function errorDetails(error: ServiceError): ErrorDetails {
  const details: ErrorDetails = { unknown: [] };
  const raw = error.metadata?.get("grpc-status-details-bin")[0];
  if (raw === undefined || typeof raw === "string") return details;
  details.status = RpcStatus.decode(raw);
  for (const any of details.status.details) {
    const bytes = any.value;
    switch (any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1)) {
      case "google.rpc.BadRequest":
        details.badRequest = BadRequest.decode(bytes);
        break;
      case "google.rpc.PreconditionFailure":
        details.preconditionFailure = PreconditionFailure.decode(bytes);
        break;
      case "google.rpc.ResourceInfo":
        details.resourceInfo = ResourceInfo.decode(bytes);
        break;
      case "google.rpc.ErrorInfo":
        details.errorInfo = ErrorInfo.decode(bytes);
        break;
      default:
        details.unknown.push(any.typeUrl.startsWith(TYPE_PREFIX) ? any.typeUrl.slice(TYPE_PREFIX.length) : any.typeUrl);
    }
  }
  return details;
}

/** One line describing an error: code, message and its details. */
export function describeError(error: unknown): string {
  if (!isServiceError(error)) return String(error);
  const d = errorDetails(error);
  const parts = [`${codeName(error.code)}: ${error.details}`];
  for (const v of d.badRequest?.fieldViolations ?? []) parts.push(`field ${v.field}: ${v.description}`);
  for (const v of d.preconditionFailure?.violations ?? []) parts.push(`${v.type} ${v.subject}: ${v.description}`);
  if (d.resourceInfo) parts.push(`${d.resourceInfo.resourceType} ${d.resourceInfo.resourceName}`);
  return parts.join("; ");
}

// ---- seat maps ----------------------------------------------------------

/** "SEAT_STATUS_HELD" → "HELD". */
export function seatStatusName(s: SeatStatus): string {
  return seatStatusToJSON(s).replace(/^SEAT_STATUS_/, "");
}

/** "SEAT_KIND_PREMIUM" → "premium". */
export function seatKindName(kind: SeatKind): string {
  return seatKindToJSON(kind).replace(/^SEAT_KIND_/, "").toLowerCase();
}

/** "TICKET_TYPE_HALF" → "half". */
export function ticketTypeName(type: TicketType): string {
  return ticketTypeToJSON(type).replace(/^TICKET_TYPE_/, "").toLowerCase();
}

/** "TICKET_STATUS_ADMITTED" → "ADMITTED". */
export function ticketStatusName(s: TicketStatus): string {
  return ticketStatusToJSON(s).replace(/^TICKET_STATUS_/, "");
}

/** "AGE_RATING_12" → "12"; a session without a movie has none: "-". */
export function ageRatingName(rating: AgeRating): string {
  return rating === AgeRating.AGE_RATING_UNSPECIFIED ? "-" : ageRatingToJSON(rating).replace(/^AGE_RATING_/, "");
}

/** "SESSION_STATE_CANCELLED" → "CANCELLED". */
export function sessionStateName(state: SessionState): string {
  return sessionStateToJSON(state).replace(/^SESSION_STATE_/, "");
}

/** "ADMISSION_RESULT_ALREADY_ADMITTED" → "ALREADY_ADMITTED". */
export function admissionResultName(result: AdmissionResult): string {
  return admissionResultToJSON(result).replace(/^ADMISSION_RESULT_/, "");
}

// ---- ticket codes -------------------------------------------------------

const CODE = /^[A-Za-z0-9_-]{107}$/;

/**
 * The ticket id a code names, after checking the code's shape: 107 base64url
 * characters (no padding) that decode to the ticket id's 16 bytes and a
 * 64-byte Ed25519 signature. Throws otherwise. Only the public key tells a
 * genuine code from a forged one (`cinema ticket verify CODE --public-key
 * KEY`, or the door).
 */
export function codeTicketId(code: string): string {
  if (!CODE.test(code)) throw new Error(`a ticket code is 107 base64url characters, not ${JSON.stringify(code)}`);
  const bytes = Buffer.from(code, "base64url");
  if (bytes.length !== 16 + 64) throw new Error(`a ticket code decodes to 80 bytes, not ${bytes.length}`);
  const hex = bytes.subarray(0, 16).toString("hex");
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
}

/** A seat map's (or update's) counts, e.g. "25 available, 0 held, 4 sold, 1 blocked". */
export function describeCounts(m: SeatMap | SeatMapUpdate): string {
  return `${m.availableCount} available, ${m.heldCount} held, ${m.soldCount} sold, ${m.blockedCount} blocked`;
}

/** ` until 03:14:17.399Z` for a held seat whose hold end is known (UTC), else nothing. */
function until(seat: { holdExpireTime?: Date | undefined }): string {
  return seat.holdExpireTime ? ` until ${seat.holdExpireTime.toISOString().slice(11)}` : "";
}

/** One readable line for a WatchSeatMap message. */
export function describeSeatMapEvent(event: SeatMapEvent): string {
  switch (event.event?.$case) {
    case "snapshot": {
      const map = event.event.value;
      return `snapshot: ${map.seats.length} seats (${describeCounts(map)})`;
    }
    case "update": {
      const update = event.event.value;
      const seats = update.seats.map((s) => `${s.label} ${seatStatusName(s.status)} v${s.version}${until(s)}`).join(", ");
      return `update: ${seats} (${describeCounts(update)})`;
    }
    default:
      return "empty message";
  }
}

export { AdmissionResult, AgeRating, SeatKind, SeatStatus, SessionState, TicketStatus, TicketType, status };
export type { Admission, Movie, Reservation, Room, Sale, SeatMap, SeatMapEvent, SeatMapUpdate, Session, Ticket };
