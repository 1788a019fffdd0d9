import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { describeError, isSessionCancelled, violationSentence, violationsText } from "../src/errors";
import {
  BadRequestSchema,
  PreconditionFailureSchema,
} from "../src/gen/google/rpc/error_details_pb";

/** A ConnectError as the transport makes it from grpc-status-details-bin:
 * each detail a type name and the message's bytes. */
function failed(code: Code, violations: [string, string][]): ConnectError {
  const detail = create(PreconditionFailureSchema, {
    violations: violations.map(([type, subject]) => ({ type, subject, description: "server words" })),
  });
  const err = new ConnectError("server words", code);
  err.details.push({ type: "google.rpc.PreconditionFailure", value: toBinary(PreconditionFailureSchema, detail) });
  return err;
}

describe("violation sentences", () => {
  it("speaks of seats in customer words", () => {
    expect(violationSentence("SEAT_UNAVAILABLE", ["B3"])).toBe("Seat B3 was just taken by someone else");
    expect(violationSentence("SEAT_UNAVAILABLE", ["B3", "B4"])).toBe("Seats B3 and B4 were just taken by someone else");
    expect(violationSentence("SINGLE_SEAT_GAP", ["B4"])).toBe(
      "That would leave seat B4 alone between taken seats — pick seats next to each other",
    );
  });

  it("has a sentence of its own for every type the API documents", () => {
    const types = [
      "SEAT_UNAVAILABLE",
      "SINGLE_SEAT_GAP",
      "NOT_ENOUGH_ADJACENT_SEATS",
      "EXTENSION_LIMIT",
      "RESERVATION_EXPIRED",
      "RESERVATION_CANCELLED",
      "RESERVATION_CONFIRMED",
      "RESERVATION_PAID",
      "SESSION_CANCELLED",
      "SESSION_STARTED",
      "REFUND_WINDOW_CLOSED",
      "TICKET_ADMITTED",
      "ALREADY_REFUNDED",
      "ROOM_BUSY",
    ];
    const generic = violationSentence("SOMETHING_NEW", ["x"]);
    for (const type of types) {
      const sentence = violationSentence(type, ["B3"]);
      expect(sentence, type).not.toBe(generic);
      expect(sentence, type).not.toMatch(/[A-Z]{2,}_[A-Z]/);
    }
    expect(generic).toBe("That can't be done right now — refresh the seat map and try again");
  });

  it("groups subjects by type", () => {
    expect(
      violationsText([
        { type: "SEAT_UNAVAILABLE", subject: "B3" },
        { type: "SEAT_UNAVAILABLE", subject: "B4" },
        { type: "SINGLE_SEAT_GAP", subject: "B6" },
      ]),
    ).toBe(
      "Seats B3 and B4 were just taken by someone else. That would leave seat B6 alone between taken seats — pick seats next to each other.",
    );
  });
});

describe("describeError", () => {
  it("reads PreconditionFailure details", () => {
    expect(describeError(failed(Code.FailedPrecondition, [["SEAT_UNAVAILABLE", "B3"]]))).toBe(
      "Seat B3 was just taken by someone else.",
    );
    expect(describeError(failed(Code.FailedPrecondition, [["EXTENSION_LIMIT", "r-1"]]))).toBe(
      "This hold can't be extended again — pay now or it will be released.",
    );
  });

  it("reads BadRequest field violations", () => {
    const bad = create(BadRequestSchema, {
      fieldViolations: [{ field: "seat_labels", description: "a couple seat is sold whole" }],
    });
    const err = new ConnectError("bad", Code.InvalidArgument);
    err.details.push({ type: "google.rpc.BadRequest", value: toBinary(BadRequestSchema, bad) });
    expect(describeError(err)).toBe("Please check your choice: a couple seat is sold whole.");
  });

  it("falls back to the code, never the server's message", () => {
    expect(describeError(new ConnectError("x", Code.Aborted))).toMatch(/right now — try again/);
    expect(describeError(new ConnectError("x", Code.Unavailable))).toMatch(/can't be reached/);
    expect(describeError(new Error("boom"))).toBe("Something went wrong — try again.");
  });

  it("knows a cancelled session", () => {
    expect(isSessionCancelled(failed(Code.FailedPrecondition, [["SESSION_CANCELLED", "s1"]]))).toBe(true);
    expect(isSessionCancelled(failed(Code.FailedPrecondition, [["SEAT_UNAVAILABLE", "A1"]]))).toBe(false);
  });
});
