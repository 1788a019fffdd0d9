// The seat map as SVG: one focusable `<g role="button">` per seat, placed by
// its `x`/`y` (aisles are just the columns no seat uses), shaped by kind and
// marked by status with a symbol or pattern as well as a colour. One seat
// at a time is in the Tab order (a roving tabindex); arrow keys, Home and
// End move between seats, Space and Enter pick.

import { h, s } from "./dom";
import { formatMoney, kindWord, seatAriaLabel, seatState, type SeatState } from "./format";
import { SeatStatus, type Seat } from "./gen/cinema/v1/session_pb";
import { SeatKind } from "./gen/cinema/v1/venue_pb";
import { neighbour, type Direction, type SeatMapModel } from "./seatmap";

/** Distance between seat origins, and a seat's size, in SVG units. */
const PITCH = 34;
const SIZE = 28;
const MARGIN_X = 30;
const MARGIN_TOP = 46;

export interface MapHandlers {
  /** The customer picked or unpicked this seat (click, Space or Enter). */
  toggle(label: string): void;
  /** The pointer or focus is on this seat now (undefined: on none). */
  point(seat: Seat | undefined): void;
}

/** The pieces of one seat, drawn at the origin: its shape by kind, then the
 * mark of its state. `side` says which half of a couple seat this is. */
export function seatPieces(kind: SeatKind, state: SeatState, text: string, side: "left" | "right" | null): SVGElement[] {
  const shapeClass = `shape kind-${kindWord(kind)} st-${state}`;
  const pieces: SVGElement[] = [];
  if (kind === SeatKind.WHEELCHAIR) {
    pieces.push(s("circle", { class: shapeClass, cx: SIZE / 2, cy: SIZE / 2, r: SIZE / 2 - 1 }));
  } else if (kind === SeatKind.COUPLE && side) {
    // The two halves meet in the middle of the gap, square where they
    // meet: one wide sofa with a seam.
    const r = (PITCH - SIZE) / 2;
    const d =
      side === "left"
        ? `M5 0 H${SIZE + r} V${SIZE} H5 A5 5 0 0 1 0 ${SIZE - 5} V5 A5 5 0 0 1 5 0 Z`
        : `M${-r} 0 H${SIZE - 5} A5 5 0 0 1 ${SIZE} 5 V${SIZE - 5} A5 5 0 0 1 ${SIZE - 5} ${SIZE} H${-r} Z`;
    pieces.push(s("path", { class: shapeClass, d }));
  } else {
    pieces.push(s("rect", { class: shapeClass, x: 0, y: 0, width: SIZE, height: SIZE, rx: 5 }));
  }
  if (kind === SeatKind.PREMIUM) {
    // A headrest bar: premium is told by shape, not only by colour.
    pieces.push(s("rect", { class: "headrest", x: 4, y: -4, width: SIZE - 8, height: 5, rx: 2 }));
  }
  const mark = (d: string) => s("path", { class: `mark mark-${state}`, d });
  switch (state) {
    case "selected":
      pieces.push(mark("M7 14.5 L12 19.5 L21 9"));
      break;
    case "sold":
      pieces.push(mark("M8.5 8.5 L19.5 19.5 M19.5 8.5 L8.5 19.5"));
      break;
    case "blocked":
      pieces.push(mark("M6 14 H22"));
      break;
    case "held":
      pieces.push(
        // Hatched, with a clock: someone has it for a while.
        s("rect", { class: "hatch", x: 2, y: 2, width: SIZE - 4, height: SIZE - 4, rx: 4 }),
        s("circle", { class: "clock", cx: SIZE / 2, cy: SIZE / 2, r: 7.5 }),
        mark("M14 9.5 V14 L17 16"),
      );
      break;
    default:
      pieces.push(
        kind === SeatKind.WHEELCHAIR
          ? s("text", { class: "symbol", x: SIZE / 2, y: SIZE / 2 + 6, "text-anchor": "middle" }, "♿")
          : s("text", { class: "number", x: SIZE / 2, y: SIZE / 2 + 4.5, "text-anchor": "middle" }, text),
      );
  }
  return pieces;
}

/** Patterns the seats use, defined once per page. */
export function seatDefs(): SVGSVGElement {
  return s(
    "svg",
    { width: 0, height: 0, "aria-hidden": "true", style: "position:absolute" },
    s(
      "defs",
      {},
      s(
        "pattern",
        { id: "hatch", width: 5, height: 5, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
        s("rect", { width: 2, height: 5, fill: "rgba(60, 40, 0, 0.45)" }),
      ),
    ),
  );
}

export class MapView {
  readonly element: SVGSVGElement;
  private readonly groups = new Map<string, SVGGElement>();
  private current: string | undefined;

  constructor(
    private readonly model: SeatMapModel,
    private readonly currency: string,
    private readonly on: MapHandlers,
  ) {
    const { columns, rows } = model.size();
    const width = MARGIN_X * 2 + columns * PITCH - (PITCH - SIZE);
    const height = MARGIN_TOP + rows * PITCH;
    this.element = s("svg", {
      class: "seat-map",
      viewBox: `-6 -6 ${width + 12} ${height + 12}`,
      width: width + 12,
      role: "group",
      "aria-label": "Seat map, screen at the top",
    });
    this.element.append(
      s("path", {
        class: "screen",
        d: `M${MARGIN_X} 18 Q${width / 2} 2 ${width - MARGIN_X} 18`,
      }),
      s("text", { class: "screen-label", x: width / 2, y: 30, "text-anchor": "middle" }, "SCREEN"),
    );
    const rowLabels = new Map<number, string>();
    for (const seat of model.seats.values()) rowLabels.set(seat.y, seat.row);
    for (const [y, row] of rowLabels) {
      const cy = MARGIN_TOP + y * PITCH + SIZE / 2 + 4;
      this.element.append(
        s("text", { class: "row-label", x: 8, y: cy, "text-anchor": "middle", "aria-hidden": "true" }, row),
        s("text", { class: "row-label", x: width - 8, y: cy, "text-anchor": "middle", "aria-hidden": "true" }, row),
      );
    }
    for (const seat of model.seats.values()) {
      const g = s("g", {
        role: "button",
        tabindex: -1,
        "data-label": seat.label,
        transform: `translate(${MARGIN_X + seat.x * PITCH} ${MARGIN_TOP + seat.y * PITCH})`,
      });
      g.addEventListener("click", () => {
        this.focus(seat.label, false);
        this.on.toggle(seat.label);
      });
      g.addEventListener("pointerenter", () => this.on.point(this.model.get(seat.label)));
      g.addEventListener("pointerleave", () => this.on.point(undefined));
      g.addEventListener("focus", () => this.on.point(this.model.get(seat.label)));
      this.groups.set(seat.label, g);
      this.element.append(g);
    }
    this.element.addEventListener("keydown", (event) => this.key(event));
    const first = [...model.seats.values()].find((seat) => seat.status === SeatStatus.AVAILABLE);
    this.current = (first ?? model.seats.values().next().value)?.label;
  }

  /** Draws every seat, or only `labels`, as the model and the picks have them now. */
  paint(selected: ReadonlySet<string>, labels?: Iterable<string>): void {
    for (const label of labels ?? this.groups.keys()) {
      const g = this.groups.get(label);
      const seat = this.model.get(label);
      if (!g || !seat) continue;
      const picked = selected.has(label);
      const state = seatState(seat.status, picked);
      const pair = seat.pairLabel ? this.model.get(seat.pairLabel) : undefined;
      const side = pair ? (pair.x > seat.x ? "left" : "right") : null;
      const label_ = seatAriaLabel(seat, this.currency, picked);
      g.replaceChildren(
        s("title", {}, `${seat.label} · ${kindWord(seat.kind)} · ${formatMoney(seat.priceCents, this.currency)} · ${state}`),
        s("rect", { class: "focus-ring", x: -4, y: -6, width: SIZE + 8, height: SIZE + 10, rx: 7 }),
        ...seatPieces(seat.kind, state, String(seat.number), side),
      );
      g.setAttribute("aria-label", label_);
      g.setAttribute("aria-pressed", String(picked));
      g.setAttribute("class", `seat st-${state}`);
      g.setAttribute("tabindex", label === this.current ? "0" : "-1");
    }
  }

  /** Moves the Tab stop (and, unless `move` is false, the focus) to a seat. */
  focus(label: string, move = true): void {
    const previous = this.current ? this.groups.get(this.current) : undefined;
    previous?.setAttribute("tabindex", "-1");
    this.current = label;
    const g = this.groups.get(label);
    g?.setAttribute("tabindex", "0");
    if (move) g?.focus();
  }

  private key(event: KeyboardEvent): void {
    const label = (event.target as Element).closest("[data-label]")?.getAttribute("data-label");
    const seat = label ? this.model.get(label) : undefined;
    if (!seat) return;
    const moves: Record<string, Direction> = {
      ArrowLeft: "left",
      ArrowRight: "right",
      ArrowUp: "up",
      ArrowDown: "down",
      Home: "home",
      End: "end",
    };
    const direction = moves[event.key];
    if (direction) {
      event.preventDefault();
      const next = neighbour(this.model.seats.values(), seat, direction);
      if (next) this.focus(next.label);
    } else if (event.key === " " || event.key === "Enter") {
      event.preventDefault();
      this.on.toggle(seat.label);
    }
  }
}

/** The key to the map: each status on a standard seat, each kind available, with its price. */
export function legend(prices: Map<SeatKind, bigint>, currency: string): HTMLElement {
  const sample = (kind: SeatKind, state: SeatState, text: string) => {
    if (kind !== SeatKind.COUPLE) {
      return s(
        "svg",
        { class: "sample", width: 30, height: 36, viewBox: `-1 -6 ${SIZE + 2} ${SIZE + 8}`, "aria-hidden": "true" },
        ...seatPieces(kind, state, text, null),
      );
    }
    const width = PITCH + SIZE + 2;
    return s(
      "svg",
      { class: "sample", width: width + 2, height: 36, viewBox: `-1 -6 ${width} ${SIZE + 8}`, "aria-hidden": "true" },
      ...seatPieces(kind, state, "7", "left"),
      s("g", { transform: `translate(${PITCH} 0)` }, ...seatPieces(kind, state, "8", "right")),
    );
  };
  const states: [SeatState, string][] = [
    ["available", "Available"],
    ["selected", "Your pick"],
    ["held", "Held"],
    ["sold", "Sold"],
    ["blocked", "Not on sale"],
  ];
  const kinds: [SeatKind, string][] = [
    [SeatKind.STANDARD, "Standard"],
    [SeatKind.PREMIUM, "Premium"],
    [SeatKind.COUPLE, "Couple (per person, sold in pairs)"],
    [SeatKind.WHEELCHAIR, "Wheelchair space"],
    [SeatKind.COMPANION, "Companion seat"],
  ];
  return h(
    "div",
    { class: "legend" },
    h(
      "ul",
      { "aria-label": "Seat status" },
      ...states.map(([state, words]) => h("li", {}, sample(SeatKind.STANDARD, state, "7"), words)),
      h("li", { class: "mine" }, sample(SeatKind.STANDARD, "held", "7"), "Held for you"),
    ),
    h(
      "ul",
      { "aria-label": "Seat kinds and prices" },
      ...kinds
        .filter(([kind]) => prices.has(kind))
        .map(([kind, words]) =>
          h(
            "li",
            {},
            sample(kind, "available", "7"),
            `${words} ${formatMoney(prices.get(kind)!, currency)}`,
          ),
        ),
    ),
  );
}
