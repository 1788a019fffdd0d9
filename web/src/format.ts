// Words and numbers as the customer reads them: prices in pt-BR currency
// format, seat kinds and statuses, the countdown of a hold, the accessible
// name of a seat. Pure functions: no DOM, no clock.

import { AgeRating } from "./gen/cinema/v1/movie_pb";
import { SeatStatus, type Seat } from "./gen/cinema/v1/session_pb";
import { SeatKind } from "./gen/cinema/v1/venue_pb";

const moneyFormats = new Map<string, Intl.NumberFormat>();

function moneyFormat(currency: string): Intl.NumberFormat {
  let format = moneyFormats.get(currency);
  if (!format) {
    format = new Intl.NumberFormat("pt-BR", { style: "currency", currency });
    moneyFormats.set(currency, format);
  }
  return format;
}

/** "R$ 40,00" for 4000 BRL cents, with a plain space (Intl puts a no-break
 * space after the symbol). Amounts are in the currency's smallest unit. */
export function formatMoney(cents: bigint | number, currency: string): string {
  const format = moneyFormat(currency);
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(Number(cents) / 10 ** digits).replace(/[\u00a0\u202f]/g, " ");
}

/** What a seat kind is called in a sentence. */
export function kindWord(kind: SeatKind): string {
  switch (kind) {
    case SeatKind.PREMIUM:
      return "premium";
    case SeatKind.WHEELCHAIR:
      return "wheelchair";
    case SeatKind.COMPANION:
      return "companion";
    case SeatKind.COUPLE:
      return "couple";
    default:
      return "standard";
  }
}

/** The status a customer sees: a seat they picked reads "selected". */
export type SeatState = "available" | "held" | "sold" | "blocked" | "selected";

export function seatState(status: SeatStatus, selected: boolean): SeatState {
  switch (status) {
    case SeatStatus.HELD:
      return "held";
    case SeatStatus.SOLD:
      return "sold";
    case SeatStatus.BLOCKED:
      return "blocked";
    default:
      return selected ? "selected" : "available";
  }
}

/** The accessible name of a seat: "Row B, seat 3, premium, R$ 40,00, available". */
export function seatAriaLabel(seat: Seat, currency: string, selected: boolean): string {
  return [
    `Row ${seat.row}`,
    `seat ${seat.number}`,
    kindWord(seat.kind),
    formatMoney(seat.priceCents, currency),
    seatState(seat.status, selected),
  ].join(", ");
}

/** mm:ss left until `expires`, never negative; a started second counts. */
export function formatCountdown(msLeft: number): string {
  const seconds = Math.max(0, Math.ceil(msLeft / 1000));
  const mm = Math.floor(seconds / 60);
  const ss = seconds % 60;
  return `${String(mm).padStart(2, "0")}:${String(ss).padStart(2, "0")}`;
}

/** The age rating as Brazil prints it: "L", "10" … "18"; "" when unrated. */
export function ratingText(rating: AgeRating): string {
  switch (rating) {
    case AgeRating.AGE_RATING_L:
      return "L";
    case AgeRating.AGE_RATING_10:
      return "10";
    case AgeRating.AGE_RATING_12:
      return "12";
    case AgeRating.AGE_RATING_14:
      return "14";
    case AgeRating.AGE_RATING_16:
      return "16";
    case AgeRating.AGE_RATING_18:
      return "18";
    default:
      return "";
  }
}

const startFormat = new Intl.DateTimeFormat("en-GB", {
  weekday: "short",
  day: "numeric",
  month: "short",
  hour: "2-digit",
  minute: "2-digit",
});

/** "Tue 1 Dec, 21:30", in the browser's time zone. */
export function formatStart(date: Date): string {
  return startFormat.format(date);
}

/** "1 seat" / "3 seats". */
export function seatsCount(n: number): string {
  return n === 1 ? "1 seat" : `${n} seats`;
}

/** "B3", "B3 and B4", "B3, B4 and B5". */
export function joinWords(words: string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}
