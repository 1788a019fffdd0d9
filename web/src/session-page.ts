// One session: its live seat map, the seats the customer picks, their hold
// (countdown, extend, cancel, pay) and the tickets of the sale.

import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Api } from "./api";
import { h, requestId } from "./dom";
import { describeError } from "./errors";
import {
  formatCountdown,
  formatMoney,
  formatStart,
  joinWords,
  kindWord,
  ratingText,
  seatsCount,
} from "./format";
import { ReservationStatus, TicketType, type Reservation, type Sale } from "./gen/cinema/v1/booking_pb";
import { SeatStatus, SessionState, type Seat, type Session } from "./gen/cinema/v1/session_pb";
import type { SeatKind } from "./gen/cinema/v1/venue_pb";
import { watch, type LiveState } from "./live";
import { legend, MapView } from "./map-view";
import { SeatMapModel } from "./seatmap";
import { ticketCard, ticketTypeWord } from "./tickets";

export interface PageHooks {
  /** A sale was paid: the purchases and the sessions list changed. */
  purchased(): void;
  /** The session was cancelled: the sessions list and purchases changed. */
  cancelled(): void;
}

export class SessionPage {
  readonly element: HTMLElement;
  private model: SeatMapModel | undefined;
  private map: MapView | undefined;
  /** Picked seats and their ticket type, in the order picked. */
  private readonly picked = new Map<string, TicketType>();
  private reservation: Reservation | undefined;
  private readonly stopWatching: () => void;
  private readonly ticker: number;

  private readonly live = h("p", { class: "live", role: "status", "data-state": "connecting" }, "Connecting…");
  private readonly counts = h("p", { class: "counts" });
  private readonly mapBox = h("div", { class: "map-box" });
  private readonly legendBox = h("div", {});
  private readonly info = h("p", { class: "seat-info", "aria-hidden": "true" }, "Point at a seat to see its price.");
  private readonly message = h("p", { class: "message", role: "alert" });
  private readonly pickBox = h("section", { class: "panel pick", "aria-label": "Your seats" });
  private readonly holdBox = h("section", { class: "panel hold", "aria-label": "Your hold", hidden: true });
  private readonly saleBox = h("section", { class: "panel sale", "aria-label": "Your tickets", hidden: true });
  private readonly countdown = h("span", { class: "countdown", role: "timer", "aria-live": "off" });

  constructor(
    private readonly api: Api,
    private readonly session: Session,
    private readonly hooks: PageHooks,
  ) {
    const starts = session.startsAt ? formatStart(timestampDate(session.startsAt)) : "";
    const rating = ratingText(session.rating);
    this.element = h(
      "article",
      { class: "session-page", "data-session": session.sessionId },
      h(
        "header",
        {},
        h("h2", {}, session.movieTitle),
        h(
          "p",
          { class: "meta" },
          rating ? h("span", { class: `rating rating-${rating}`, title: `Age rating ${rating}` }, rating) : null,
          ` ${starts} · ${session.room}`,
        ),
      ),
      this.live,
      this.counts,
      this.mapBox,
      this.info,
      this.legendBox,
      this.message,
      this.pickBox,
      this.holdBox,
      this.saleBox,
    );
    if (session.state === SessionState.CANCELLED) this.showLive({ kind: "cancelled" });
    this.renderPick();
    this.stopWatching = watch(api, session.sessionId, {
      snapshot: (map) => this.snapshot(new SeatMapModel(map)),
      update: (update) => this.update(this.model?.apply(update) ?? []),
      state: (state) => this.showLive(state),
    });
    this.ticker = window.setInterval(() => this.tick(), 250);
  }

  destroy(): void {
    this.stopWatching();
    window.clearInterval(this.ticker);
  }

  // --- the live map ------------------------------------------------------

  private snapshot(model: SeatMapModel): void {
    const focused = document.activeElement?.closest?.("[data-label]")?.getAttribute("data-label");
    this.model = model;
    this.map = new MapView(model, this.session.currency, {
      toggle: (label) => this.toggle(label),
      point: (seat) => this.point(seat),
    });
    this.mapBox.replaceChildren(this.map.element);
    this.legendBox.replaceChildren(legend(this.kindPrices(model), this.session.currency));
    this.dropTaken([...this.picked.keys()]);
    this.map.paint(new Set(this.picked.keys()));
    this.markMine();
    if (focused && this.mapBox.isConnected) this.map.focus(focused);
    this.showCounts();
  }

  private update(changed: Seat[]): void {
    if (!this.map || changed.length === 0) return;
    const labels = changed.map((seat) => seat.label);
    this.dropTaken(labels);
    this.map.paint(new Set(this.picked.keys()), labels);
    this.markMine();
    this.showCounts();
  }

  /** Unpicks picked seats that someone else took meanwhile, and says so. */
  private dropTaken(labels: string[]): void {
    const taken = labels.filter(
      (label) => this.picked.has(label) && this.model?.get(label)?.status !== SeatStatus.AVAILABLE,
    );
    if (taken.length === 0) return;
    for (const label of taken) this.picked.delete(label);
    this.say(
      taken.length === 1
        ? `Seat ${taken[0]} was just taken by someone else.`
        : `Seats ${joinWords(taken)} were just taken by someone else.`,
    );
    this.renderPick();
  }

  /** Outlines the seats of the customer's own hold. */
  private markMine(): void {
    const mine = new Set(this.reservation?.seatLabels ?? []);
    for (const g of this.mapBox.querySelectorAll("[data-label]")) {
      g.classList.toggle("mine", mine.has(g.getAttribute("data-label") ?? ""));
    }
  }

  private kindPrices(model: SeatMapModel): Map<SeatKind, bigint> {
    const prices = new Map<SeatKind, bigint>();
    for (const seat of model.seats.values()) {
      const known = prices.get(seat.kind);
      if (known === undefined || seat.priceCents < known) prices.set(seat.kind, seat.priceCents);
    }
    return prices;
  }

  private showLive(state: LiveState): void {
    const words: Record<LiveState["kind"], string> = {
      connecting: "Connecting…",
      live: "Live: seats change here as they are taken",
      reconnecting: "Reconnecting…",
      cancelled: "This session was cancelled",
      failed: state.kind === "failed" ? state.message : "",
    };
    this.live.textContent = words[state.kind];
    this.live.dataset.state = state.kind;
    if (state.kind === "cancelled") {
      this.picked.clear();
      this.reservation = undefined;
      this.renderPick();
      this.pickBox.hidden = true;
      this.holdBox.hidden = true;
      this.hooks.cancelled();
      void this.api.sessions
        .getSession({ sessionId: this.session.sessionId })
        .then((session) => {
          const why = session.cancelReason ? `Reason: ${session.cancelReason}. ` : "";
          this.say(`${why}Tickets bought for it are refunded in full.`, "news");
        })
        .catch(() => {});
    }
  }

  private showCounts(): void {
    if (!this.model) return;
    const c = this.model.counts();
    this.counts.textContent = `${c.available} available · ${c.held} held · ${c.sold} sold · ${c.blocked} not on sale`;
  }

  private point(seat: Seat | undefined): void {
    if (!seat) return;
    const pair = seat.pairLabel ? ` (sold with ${seat.pairLabel})` : "";
    const reason = seat.status === SeatStatus.BLOCKED && seat.blockReason ? ` — ${seat.blockReason}` : "";
    this.info.textContent = `Seat ${seat.label} · ${kindWord(seat.kind)}${pair} · ${formatMoney(
      seat.priceCents,
      this.session.currency,
    )}${reason}`;
  }

  // --- picking ------------------------------------------------------------

  private toggle(label: string): void {
    const seat = this.model?.get(label);
    if (!seat || !this.model || !this.map) return;
    if (this.live.dataset.state === "cancelled") return this.say("This session was cancelled.");
    if (seat.status !== SeatStatus.AVAILABLE) {
      if (this.reservation?.seatLabels.includes(label)) return this.say(`Seat ${label} is held for you — pay below.`);
      switch (seat.status) {
        case SeatStatus.HELD:
          return this.say(`Seat ${label} was just taken by someone else.`);
        case SeatStatus.SOLD:
          return this.say(`Seat ${label} is sold.`);
        default:
          return this.say(`Seat ${label} is not on sale${seat.blockReason ? ` (${seat.blockReason})` : ""}.`);
      }
    }
    if (this.reservation) return this.say("Pay for or cancel the seats you hold first.");
    const group = this.model.group(label).map((s) => s.label);
    const on = !this.picked.has(label);
    for (const l of group) {
      if (on) this.picked.set(l, this.picked.get(l) ?? TicketType.FULL);
      else this.picked.delete(l);
    }
    this.say("");
    this.map.paint(new Set(this.picked.keys()), group);
    this.renderPick();
  }

  private renderPick(): void {
    const currency = this.session.currency;
    const rows = [...this.picked].map(([label, type]) => {
      const seat = this.model?.get(label);
      const price = seat ? (type === TicketType.HALF ? (seat.priceCents + 1n) / 2n : seat.priceCents) : 0n;
      const select = h(
        "select",
        {
          "aria-label": `Ticket type for seat ${label}`,
          onchange: (event) => {
            const value = (event.target as HTMLSelectElement).value;
            this.picked.set(label, value === "half" ? TicketType.HALF : TicketType.FULL);
            this.renderPick();
          },
        },
        h("option", { value: "full", selected: type !== TicketType.HALF }, "Full"),
        h("option", { value: "half", selected: type === TicketType.HALF }, "Half (meia-entrada)"),
      );
      return h(
        "li",
        { "data-label": label },
        h("span", { class: "seat-name" }, `Seat ${label}`),
        h("span", { class: "kind" }, seat ? kindWord(seat.kind) : ""),
        select,
        h("span", { class: "price" }, formatMoney(price, currency)),
      );
    });
    const total = [...this.picked].reduce((sum, [label, type]) => {
      const cents = this.model?.get(label)?.priceCents ?? 0n;
      return sum + (type === TicketType.HALF ? (cents + 1n) / 2n : cents);
    }, 0n);
    const quantity = h("input", {
      type: "number",
      min: 1,
      max: 10,
      value: 2,
      id: "best-quantity",
      "aria-label": "How many seats",
      oninput: () => {
        best.textContent = `Best ${quantity.value || "N"} seats`;
      },
    });
    const best = h("button", { type: "button", class: "best", onclick: () => void this.holdBest(Number(quantity.value)) }, "Best 2 seats");
    const hold = h(
      "button",
      { type: "button", class: "primary hold-button", disabled: this.picked.size === 0, onclick: () => void this.hold() },
      "Hold seats",
    );
    this.pickBox.replaceChildren(
      h("h3", {}, "Your seats"),
      this.picked.size === 0
        ? h("p", { class: "hint" }, "Pick seats on the map (Tab to the map, arrows to move, Space to pick).")
        : h("ul", { class: "picked" }, ...rows),
      h("p", { class: "total", hidden: this.picked.size === 0 }, `Total ${formatMoney(total, currency)}`),
      h("div", { class: "actions" }, hold, h("span", { class: "or" }, "or"), h("label", { for: "best-quantity", class: "visually-hidden" }, "How many seats"), quantity, best),
    );
  }

  // --- the hold -----------------------------------------------------------

  private async hold(): Promise<void> {
    if (this.picked.size === 0) return;
    const ticketTypes: Record<string, TicketType> = {};
    for (const [label, type] of this.picked) if (type === TicketType.HALF) ticketTypes[label] = type;
    await this.call(async () => {
      const reservation = await this.api.booking.reserveSeats({
        sessionId: this.session.sessionId,
        seatLabels: [...this.picked.keys()],
        ticketTypes,
        requestId: requestId(),
      });
      this.picked.clear();
      this.held(reservation);
    });
  }

  private async holdBest(quantity: number): Promise<void> {
    if (!Number.isInteger(quantity) || quantity < 1) return this.say("Say how many seats you want.");
    await this.call(async () => {
      const reservation = await this.api.booking.reserveBestAvailable({
        sessionId: this.session.sessionId,
        quantity,
        requestId: requestId(),
      });
      this.picked.clear();
      this.held(reservation);
    });
  }

  private held(reservation: Reservation): void {
    this.reservation = reservation;
    this.say("");
    this.saleBox.hidden = true;
    this.map?.paint(new Set(this.picked.keys()));
    this.markMine();
    this.renderPick();
    this.renderHold();
  }

  private renderHold(): void {
    const r = this.reservation;
    this.holdBox.hidden = !r;
    this.pickBox.hidden = Boolean(r);
    if (!r) return;
    const seats = r.seats.map((seat) =>
      h(
        "li",
        {},
        `Seat ${seat.label} · ${kindWord(seat.kind)} · ${ticketTypeWord(seat.ticketType)} · ${formatMoney(seat.priceCents, r.currency)}`,
      ),
    );
    const reference = h("input", {
      id: "payment-reference",
      type: "text",
      autocomplete: "off",
      value: `PAY-${r.reservationId.slice(0, 8)}`,
    });
    this.holdBox.replaceChildren(
      h("h3", {}, `Held for you: ${seatsCount(r.seatLabels.length)}`),
      h("ul", { class: "held" }, ...seats),
      h("p", { class: "total" }, `Total ${formatMoney(r.totalPriceCents, r.currency)}`),
      h("p", { class: "time-left" }, "Time left ", this.countdown),
      h(
        "div",
        { class: "actions" },
        h(
          "button",
          { type: "button", class: "extend", disabled: r.extensionsLeft === 0, onclick: () => void this.extend() },
          `Extend (${r.extensionsLeft} left)`,
        ),
        h("button", { type: "button", class: "cancel", onclick: () => void this.cancel() }, "Cancel"),
      ),
      h(
        "form",
        {
          class: "pay",
          onsubmit: (event) => {
            event.preventDefault();
            void this.pay(reference.value);
          },
        },
        h("label", { for: "payment-reference" }, "Payment reference"),
        reference,
        h("button", { type: "submit", class: "primary" }, "Pay"),
      ),
    );
    this.tick();
  }

  private tick(): void {
    const expire = this.reservation?.expireTime;
    if (!expire) return;
    const left = timestampDate(expire).getTime() - Date.now();
    this.countdown.textContent = formatCountdown(left);
    if (left <= 0) {
      this.reservation = undefined;
      this.renderHold();
      this.renderPick();
      this.markMine();
      this.say("Your hold ran out and the seats were released — pick them again.");
    }
  }

  private async extend(): Promise<void> {
    const r = this.reservation;
    if (!r) return;
    await this.call(async () => {
      this.reservation = await this.api.booking.extendReservation({
        reservationId: r.reservationId,
        requestId: requestId(),
      });
      this.renderHold();
      this.say("Your hold was extended.", "news");
    });
  }

  private async cancel(): Promise<void> {
    const r = this.reservation;
    if (!r) return;
    await this.call(async () => {
      await this.api.booking.cancelReservation({ reservationId: r.reservationId });
      this.reservation = undefined;
      this.renderHold();
      this.renderPick();
      this.markMine();
      this.say("Your seats were released.", "news");
    });
  }

  private async pay(reference: string): Promise<void> {
    const r = this.reservation;
    if (!r) return;
    await this.call(async () => {
      const sale = await this.api.booking.confirmPayment({
        reservationId: r.reservationId,
        paymentReference: reference.trim() || `PAY-${r.reservationId.slice(0, 8)}`,
        requestId: requestId(),
      });
      this.reservation = undefined;
      this.renderHold();
      this.renderPick();
      this.markMine();
      this.showSale(sale);
      this.say("");
      this.hooks.purchased();
    });
  }

  private showSale(sale: Sale): void {
    this.saleBox.hidden = false;
    this.saleBox.replaceChildren(
      h("h3", {}, `Paid ${formatMoney(sale.amountCents, sale.currency)} — your tickets`),
      h("p", { class: "hint" }, "Show a code at the door; each one admits one person, once."),
      h("div", { class: "tickets" }, ...sale.tickets.map(ticketCard)),
    );
  }

  // --- messages -----------------------------------------------------------

  /** Tells the customer something: a problem (the default) or news. */
  private say(text: string, tone: "problem" | "news" = "problem"): void {
    this.message.textContent = text;
    this.message.dataset.tone = tone;
  }

  /** Runs a call with the page's buttons off, and tells a failure in words. */
  private async call(work: () => Promise<void>): Promise<void> {
    const buttons = [...this.element.querySelectorAll<HTMLButtonElement>("button:not([disabled])")];
    buttons.forEach((b) => (b.disabled = true));
    try {
      await work();
    } catch (err) {
      this.say(describeError(err));
      if (this.reservation?.status === ReservationStatus.PENDING) this.renderHold();
    } finally {
      buttons.forEach((b) => b.isConnected && (b.disabled = false));
    }
  }
}
