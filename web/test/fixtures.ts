// Seats and maps as the server sends them, built with the generated schemas.

import { create } from "@bufbuild/protobuf";
import {
  SeatMapSchema,
  SeatMapUpdateSchema,
  SeatSchema,
  SeatStatus,
  type Seat,
  type SeatMap,
  type SeatMapUpdate,
} from "../src/gen/cinema/v1/session_pb";
import { SeatKind } from "../src/gen/cinema/v1/venue_pb";

export function seat(label: string, x: number, y: number, more: Partial<Omit<Seat, "$typeName">> = {}): Seat {
  return create(SeatSchema, {
    label,
    row: label.replace(/\d+$/, ""),
    number: Number(label.replace(/^[A-Z]+/, "")),
    status: SeatStatus.AVAILABLE,
    version: 1n,
    kind: SeatKind.STANDARD,
    priceCents: 2500n,
    x,
    y,
    ...more,
  });
}

export function snapshot(seats: Seat[]): SeatMap {
  return create(SeatMapSchema, { sessionId: "s1", seats });
}

export function update(seats: Seat[]): SeatMapUpdate {
  return create(SeatMapUpdateSchema, { sessionId: "s1", seats });
}
