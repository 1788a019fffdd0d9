import { describe, expect, it } from "vitest";
import { SeatStatus } from "../src/gen/cinema/v1/session_pb";
import { SeatKind } from "../src/gen/cinema/v1/venue_pb";
import { neighbour, SeatMapModel } from "../src/seatmap";
import { seat, snapshot, update } from "./fixtures";

// Row A: A1 A2 _ A3 (an aisle at x=2); row B: B1 B2 B3 B4; row C: a couple seat C1+C2.
function room() {
  return snapshot([
    seat("A1", 0, 0),
    seat("A2", 1, 0),
    seat("A3", 3, 0, { status: SeatStatus.BLOCKED }),
    seat("B1", 0, 1),
    seat("B2", 1, 1),
    seat("B3", 2, 1, { status: SeatStatus.SOLD }),
    seat("B4", 3, 1),
    seat("C1", 1, 2, { kind: SeatKind.COUPLE, pairLabel: "C2" }),
    seat("C2", 2, 2, { kind: SeatKind.COUPLE, pairLabel: "C1" }),
  ]);
}

describe("SeatMapModel", () => {
  it("counts the snapshot by status", () => {
    const model = new SeatMapModel(room());
    expect(model.counts()).toEqual({ available: 7, held: 0, sold: 1, blocked: 1 });
    expect(model.size()).toEqual({ columns: 4, rows: 3 });
  });

  it("applies newer versions and keeps the counts in step", () => {
    const model = new SeatMapModel(room());
    const applied = model.apply(
      update([seat("A1", 0, 0, { status: SeatStatus.HELD, version: 2n }), seat("A2", 1, 0, { status: SeatStatus.HELD, version: 2n })]),
    );
    expect(applied.map((s) => s.label)).toEqual(["A1", "A2"]);
    expect(model.get("A1")?.status).toBe(SeatStatus.HELD);
    expect(model.counts()).toEqual({ available: 5, held: 2, sold: 1, blocked: 1 });

    model.apply(update([seat("A1", 0, 0, { status: SeatStatus.SOLD, version: 3n })]));
    expect(model.counts()).toEqual({ available: 5, held: 1, sold: 2, blocked: 1 });
  });

  it("drops stale, repeated and unknown seats", () => {
    const model = new SeatMapModel(room());
    model.apply(update([seat("A1", 0, 0, { status: SeatStatus.HELD, version: 5n })]));
    const applied = model.apply(
      update([
        seat("A1", 0, 0, { status: SeatStatus.AVAILABLE, version: 4n }), // older
        seat("A1", 0, 0, { status: SeatStatus.SOLD, version: 5n }), // same version again
        seat("Z9", 9, 9, { status: SeatStatus.SOLD, version: 9n }), // not in the map
      ]),
    );
    expect(applied).toEqual([]);
    expect(model.get("A1")?.status).toBe(SeatStatus.HELD);
    expect(model.get("Z9")).toBeUndefined();
    expect(model.counts()).toEqual({ available: 6, held: 1, sold: 1, blocked: 1 });
  });

  it("a fresh snapshot replaces everything", () => {
    const model = new SeatMapModel(room());
    model.apply(update([seat("A1", 0, 0, { status: SeatStatus.HELD, version: 5n })]));
    const again = new SeatMapModel(snapshot([seat("A1", 0, 0, { version: 6n })]));
    expect(again.counts()).toEqual({ available: 1, held: 0, sold: 0, blocked: 0 });
  });

  it("groups a couple seat with its other half, left to right", () => {
    const model = new SeatMapModel(room());
    expect(model.group("C2").map((s) => s.label)).toEqual(["C1", "C2"]);
    expect(model.group("B1").map((s) => s.label)).toEqual(["B1"]);
    expect(model.group("nope")).toEqual([]);
  });
});

describe("neighbour", () => {
  const seats = room().seats;
  const at = (label: string) => seats.find((s) => s.label === label)!;
  const move = (label: string, direction: Parameters<typeof neighbour>[2]) =>
    neighbour(seats, at(label), direction)?.label;

  it("moves along a row across aisles, stopping at the ends", () => {
    expect(move("A2", "right")).toBe("A3");
    expect(move("A3", "left")).toBe("A2");
    expect(move("A3", "right")).toBeUndefined();
    expect(move("A1", "left")).toBeUndefined();
    expect(move("B3", "home")).toBe("B1");
    expect(move("B1", "end")).toBe("B4");
  });

  it("moves to the nearest seat of the next row", () => {
    expect(move("A1", "down")).toBe("B1");
    expect(move("A3", "down")).toBe("B4");
    expect(move("B4", "down")).toBe("C2");
    expect(move("B1", "down")).toBe("C1");
    expect(move("C1", "up")).toBe("B2");
    expect(move("A2", "up")).toBeUndefined();
    expect(move("C2", "down")).toBeUndefined();
  });
});
