// One watcher's copy of a seat map, folded from a WatchSeatMap stream the
// way the server folds its own (src/live/state.rs): the first snapshot, then
// every update, each seat taken only if its `version` is newer than the one
// held, so a late or repeated update never rolls a seat back. Also the
// moves of the arrow keys between seats. Pure: no DOM.

import {
  SeatStatus,
  type Seat,
  type SeatMap,
  type SeatMapUpdate,
} from "./gen/cinema/v1/session_pb";

export interface Counts {
  available: number;
  held: number;
  sold: number;
  blocked: number;
}

function countsOf(seats: Iterable<Seat>): Counts {
  const counts: Counts = { available: 0, held: 0, sold: 0, blocked: 0 };
  for (const seat of seats) bump(counts, seat.status, 1);
  return counts;
}

function bump(counts: Counts, status: SeatStatus, by: number): void {
  switch (status) {
    case SeatStatus.HELD:
      counts.held += by;
      break;
    case SeatStatus.SOLD:
      counts.sold += by;
      break;
    case SeatStatus.BLOCKED:
      counts.blocked += by;
      break;
    default:
      counts.available += by;
  }
}

export class SeatMapModel {
  /** Every seat, by label, in the server's order (by row, then left to right). */
  readonly seats: Map<string, Seat>;
  private tally: Counts;

  constructor(snapshot: SeatMap) {
    this.seats = new Map(snapshot.seats.map((seat) => [seat.label, seat]));
    this.tally = countsOf(this.seats.values());
  }

  /** Takes the seats of `update` that are newer than what this map holds and
   * returns them; older, repeated or unknown seats are dropped. */
  apply(update: SeatMapUpdate): Seat[] {
    const applied: Seat[] = [];
    for (const seat of update.seats) {
      const known = this.seats.get(seat.label);
      if (!known || seat.version <= known.version) continue;
      bump(this.tally, known.status, -1);
      bump(this.tally, seat.status, 1);
      this.seats.set(seat.label, seat);
      applied.push(seat);
    }
    return applied;
  }

  counts(): Counts {
    return { ...this.tally };
  }

  get(label: string): Seat | undefined {
    return this.seats.get(label);
  }

  /** The seat and its couple half, if it has one: picked together. */
  group(label: string): Seat[] {
    const seat = this.seats.get(label);
    if (!seat) return [];
    const pair = seat.pairLabel ? this.seats.get(seat.pairLabel) : undefined;
    return pair ? [seat, pair].sort((a, b) => a.x - b.x) : [seat];
  }

  /** Columns and rows the map spans (gaps included). */
  size(): { columns: number; rows: number } {
    let columns = 0;
    let rows = 0;
    for (const seat of this.seats.values()) {
      columns = Math.max(columns, seat.x + 1);
      rows = Math.max(rows, seat.y + 1);
    }
    return { columns, rows };
  }
}

export type Direction = "left" | "right" | "up" | "down" | "home" | "end";

/** The seat an arrow key moves to from `from`: along the row (skipping
 * aisles), or to the nearest seat of the next row towards or away from the
 * screen; `undefined` at an edge. */
export function neighbour(seats: Iterable<Seat>, from: Seat, direction: Direction): Seat | undefined {
  const all = [...seats];
  const row = all.filter((s) => s.y === from.y).sort((a, b) => a.x - b.x);
  switch (direction) {
    case "left":
      return row.filter((s) => s.x < from.x).pop();
    case "right":
      return row.find((s) => s.x > from.x);
    case "home":
      return row[0];
    case "end":
      return row[row.length - 1];
    case "up":
    case "down": {
      const ys = [...new Set(all.map((s) => s.y))].sort((a, b) => a - b);
      const at = ys.indexOf(from.y);
      const y = ys[direction === "up" ? at - 1 : at + 1];
      if (y === undefined) return undefined;
      let best: Seat | undefined;
      for (const seat of all) {
        if (seat.y !== y) continue;
        const distance = Math.abs(seat.x - from.x);
        if (!best || distance < Math.abs(best.x - from.x)) best = seat;
      }
      return best;
    }
  }
}
