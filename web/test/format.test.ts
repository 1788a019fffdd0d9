import { describe, expect, it } from "vitest";
import { formatCountdown, formatMoney, joinWords, ratingText, seatAriaLabel } from "../src/format";
import { AgeRating } from "../src/gen/cinema/v1/movie_pb";
import { SeatStatus } from "../src/gen/cinema/v1/session_pb";
import { SeatKind } from "../src/gen/cinema/v1/venue_pb";
import { seat } from "./fixtures";

describe("formatMoney", () => {
  it("formats BRL the pt-BR way with a plain space", () => {
    expect(formatMoney(4000n, "BRL")).toBe("R$ 40,00");
    expect(formatMoney(123456n, "BRL")).toBe("R$ 1.234,56");
    expect(formatMoney(5, "BRL")).toBe("R$ 0,05");
    expect(formatMoney(4000n, "BRL")).not.toMatch(/\u00a0/);
  });

  it("follows the currency's own minor unit", () => {
    expect(formatMoney(1500n, "JPY")).toBe("JP¥ 1.500");
    expect(formatMoney(2500n, "USD")).toBe("US$ 25,00");
  });
});

describe("seatAriaLabel", () => {
  it("says row, number, kind, price and status", () => {
    const b3 = seat("B3", 2, 1, { kind: SeatKind.PREMIUM, priceCents: 4000n });
    expect(seatAriaLabel(b3, "BRL", false)).toBe("Row B, seat 3, premium, R$ 40,00, available");
    expect(seatAriaLabel(b3, "BRL", true)).toBe("Row B, seat 3, premium, R$ 40,00, selected");
  });

  it("names every status and kind in lower case", () => {
    const cases: [SeatStatus, SeatKind, string][] = [
      [SeatStatus.HELD, SeatKind.STANDARD, "Row A, seat 1, standard, R$ 25,00, held"],
      [SeatStatus.SOLD, SeatKind.WHEELCHAIR, "Row A, seat 1, wheelchair, R$ 25,00, sold"],
      [SeatStatus.BLOCKED, SeatKind.COMPANION, "Row A, seat 1, companion, R$ 25,00, blocked"],
      [SeatStatus.AVAILABLE, SeatKind.COUPLE, "Row A, seat 1, couple, R$ 25,00, available"],
    ];
    for (const [status, kind, label] of cases) {
      expect(seatAriaLabel(seat("A1", 0, 0, { status, kind }), "BRL", false)).toBe(label);
    }
  });

  it("never calls a taken seat selected", () => {
    expect(seatAriaLabel(seat("A1", 0, 0, { status: SeatStatus.SOLD }), "BRL", true)).toMatch(/, sold$/);
  });

  it("handles two-letter rows", () => {
    expect(seatAriaLabel(seat("AA12", 0, 0), "BRL", false)).toBe("Row AA, seat 12, standard, R$ 25,00, available");
  });
});

describe("formatCountdown", () => {
  it("shows mm:ss, rounding a started second up", () => {
    expect(formatCountdown(30_000)).toBe("00:30");
    expect(formatCountdown(29_001)).toBe("00:30");
    expect(formatCountdown(65_000)).toBe("01:05");
    expect(formatCountdown(600_000)).toBe("10:00");
    expect(formatCountdown(999)).toBe("00:01");
  });

  it("never goes below zero", () => {
    expect(formatCountdown(0)).toBe("00:00");
    expect(formatCountdown(-5000)).toBe("00:00");
  });
});

describe("small words", () => {
  it("joins lists", () => {
    expect(joinWords([])).toBe("");
    expect(joinWords(["B3"])).toBe("B3");
    expect(joinWords(["B3", "B4"])).toBe("B3 and B4");
    expect(joinWords(["B3", "B4", "B5"])).toBe("B3, B4 and B5");
  });

  it("prints ratings as Brazil does", () => {
    expect(ratingText(AgeRating.AGE_RATING_L)).toBe("L");
    expect(ratingText(AgeRating.AGE_RATING_16)).toBe("16");
    expect(ratingText(AgeRating.AGE_RATING_UNSPECIFIED)).toBe("");
  });
});
