// What went wrong, in the customer's words. The server names each refused
// precondition in google.rpc details (grpc-status-details-bin): its `type`
// (SEAT_UNAVAILABLE, SINGLE_SEAT_GAP, …) and `subject` (a seat label, or the
// id of a reservation or session). Every type the API documents has a
// sentence; an unknown one gets a generic sentence, never the raw message.

import { Code, ConnectError } from "@connectrpc/connect";
import {
  BadRequestSchema,
  PreconditionFailureSchema,
} from "./gen/google/rpc/error_details_pb";
import { joinWords } from "./format";

/** A sentence for every violation of one `type`, naming its subjects. */
export function violationSentence(type: string, subjects: string[]): string {
  const seats = joinWords(subjects);
  const many = subjects.length > 1;
  switch (type) {
    case "SEAT_UNAVAILABLE":
      return many
        ? `Seats ${seats} were just taken by someone else`
        : `Seat ${seats} was just taken by someone else`;
    case "SINGLE_SEAT_GAP":
      return many
        ? `That would leave seats ${seats} alone between taken seats — pick seats next to each other`
        : `That would leave seat ${seats} alone between taken seats — pick seats next to each other`;
    case "NOT_ENOUGH_ADJACENT_SEATS":
      return "There are not that many free seats together any more — try fewer seats, or pick them on the map";
    case "EXTENSION_LIMIT":
      return "This hold can't be extended again — pay now or it will be released";
    case "RESERVATION_EXPIRED":
      return "Your hold ran out and the seats were released — pick them again";
    case "RESERVATION_CANCELLED":
      return "This hold was cancelled — pick your seats again";
    case "RESERVATION_CONFIRMED":
    case "RESERVATION_PAID":
      return "These seats are already paid for";
    case "SESSION_CANCELLED":
      return "This session was cancelled";
    case "SESSION_STARTED":
      return "This session has already started — tickets are no longer sold";
    case "REFUND_WINDOW_CLOSED":
      return "It is too late to refund these tickets";
    case "TICKET_ADMITTED":
      return many
        ? `The tickets for seats ${seats} were already used at the door and can't be refunded`
        : `The ticket for seat ${seats} was already used at the door and can't be refunded`;
    case "ALREADY_REFUNDED":
      return many ? `Seats ${seats} were already refunded` : `Seat ${seats} was already refunded`;
    case "ROOM_BUSY":
      return "The room is taken by another session at that time";
    default:
      return "That can't be done right now — refresh the seat map and try again";
  }
}

/** The sentences of a list of violations, one per type, in order of first appearance. */
export function violationsText(violations: { type: string; subject: string }[]): string {
  const byType = new Map<string, string[]>();
  for (const { type, subject } of violations) {
    const subjects = byType.get(type) ?? [];
    if (!subjects.includes(subject)) subjects.push(subject);
    byType.set(type, subjects);
  }
  return [...byType].map(([type, subjects]) => violationSentence(type, subjects) + ".").join(" ");
}

/** A sentence for a gRPC code without details. */
export function codeSentence(code: Code): string {
  switch (code) {
    case Code.Aborted:
      return "Someone else is taking one of these seats right now — try again.";
    case Code.ResourceExhausted:
      return "Too many tries in a short time — wait a moment and try again.";
    case Code.Unauthenticated:
      return "Your sign-in has expired — open the link the demo printed again.";
    case Code.PermissionDenied:
      return "You are not allowed to do that.";
    case Code.NotFound:
      return "That is no longer there — refresh the page.";
    case Code.Unavailable:
    case Code.DeadlineExceeded:
      return "The box office can't be reached right now — try again in a moment.";
    case Code.InvalidArgument:
      return "Please check your choice and try again.";
    default:
      return "Something went wrong — try again.";
  }
}

/** What to tell the customer about a failed call. */
export function describeError(err: unknown): string {
  const error = ConnectError.from(err);
  const failures = error.findDetails(PreconditionFailureSchema);
  const violations = failures.flatMap((f) => f.violations);
  if (violations.length > 0) return violationsText(violations);
  if (error.code === Code.InvalidArgument) {
    const fields = error.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations);
    if (fields.length > 0) {
      return `Please check your choice: ${fields.map((f) => f.description).join("; ")}.`;
    }
  }
  return codeSentence(error.code);
}

/** Whether a failed WatchSeatMap ended for good because the session was cancelled. */
export function isSessionCancelled(err: unknown): boolean {
  const error = ConnectError.from(err);
  return error
    .findDetails(PreconditionFailureSchema)
    .some((f) => f.violations.some((v) => v.type === "SESSION_CANCELLED"));
}
