// The side lists: upcoming sessions (click one to open its map) and the
// customer's purchases (with their tickets and a refund button).

import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Api } from "./api";
import { h, requestId } from "./dom";
import { describeError } from "./errors";
import { formatMoney, formatStart, ratingText, seatsCount } from "./format";
import { TicketStatus, type Sale } from "./gen/cinema/v1/booking_pb";
import { SessionState, type Session } from "./gen/cinema/v1/session_pb";
import { ticketCard } from "./tickets";

export class SessionsList {
  readonly element: HTMLElement;
  private readonly list = h("ul", { class: "sessions" });
  private readonly status = h("p", { class: "hint", role: "status" }, "Loading sessions…");
  /** The session on show, marked in the list. */
  private current = "";

  constructor(
    private readonly api: Api,
    private readonly show: (session: Session) => void,
  ) {
    this.element = h(
      "section",
      { class: "side sessions-box", "aria-labelledby": "sessions-title" },
      h(
        "div",
        { class: "side-head" },
        h("h2", { id: "sessions-title" }, "Upcoming sessions"),
        h("button", { type: "button", class: "link", onclick: () => void this.refresh() }, "Refresh"),
      ),
      this.status,
      this.list,
    );
  }

  async refresh(): Promise<void> {
    try {
      const { sessions } = await this.api.sessions.listSessions({
        startsAfter: timestampFromDate(new Date()),
        pageSize: 50,
      });
      this.status.textContent = sessions.length === 0 ? "No sessions coming up." : "";
      this.list.replaceChildren(...sessions.map((session) => this.item(session)));
    } catch (err) {
      this.status.textContent = describeError(err);
    }
  }

  private open(session: Session): void {
    this.current = session.sessionId;
    for (const button of this.list.querySelectorAll("button[data-session]")) {
      if (button.getAttribute("data-session") === this.current) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    }
    this.show(session);
  }

  private item(session: Session): HTMLElement {
    const rating = ratingText(session.rating);
    const cancelled = session.state === SessionState.CANCELLED;
    return h(
      "li",
      {},
      h(
        "button",
        {
          type: "button",
          class: "session",
          "data-session": session.sessionId,
          "aria-current": session.sessionId === this.current ? "true" : null,
          onclick: () => this.open(session),
        },
        h("span", { class: "when" }, session.startsAt ? formatStart(timestampDate(session.startsAt)) : ""),
        h("span", { class: "title" }, session.movieTitle),
        rating ? h("span", { class: `rating rating-${rating}`, title: `Age rating ${rating}` }, rating) : null,
        h("span", { class: "room" }, session.room),
        h("span", { class: "left" }, cancelled ? "cancelled" : `${seatsCount(session.availableSeats)} left`),
      ),
    );
  }
}

export class PurchasesList {
  readonly element: HTMLElement;
  private readonly list = h("ul", { class: "purchases" });
  private readonly status = h("p", { class: "hint", role: "status" });

  constructor(private readonly api: Api) {
    this.element = h(
      "section",
      { class: "side purchases-box", "aria-labelledby": "purchases-title" },
      h("div", { class: "side-head" }, h("h2", { id: "purchases-title" }, "My purchases")),
      this.status,
      this.list,
    );
  }

  async refresh(): Promise<void> {
    try {
      const { sales } = await this.api.booking.listPurchases({ pageSize: 20 });
      this.status.textContent = sales.length === 0 ? "Nothing bought yet." : "";
      this.list.replaceChildren(...sales.map((sale) => this.item(sale)));
    } catch (err) {
      this.status.textContent = describeError(err);
    }
  }

  private item(sale: Sale): HTMLElement {
    const refundable = sale.tickets.some((t) => t.status === TicketStatus.VALID);
    const refunded = sale.refundedCents > 0n ? ` · refunded ${formatMoney(sale.refundedCents, sale.currency)}` : "";
    const tickets = h("details", {}, h("summary", {}, "Tickets"), h("div", { class: "tickets" }));
    tickets.addEventListener(
      "toggle",
      () => tickets.querySelector(".tickets")?.replaceChildren(...sale.tickets.map(ticketCard)),
      { once: true },
    );
    const note = h("p", { class: "message", role: "alert" });
    return h(
      "li",
      { "data-sale": sale.saleId },
      h("strong", {}, sale.movieTitle),
      h(
        "p",
        { class: "meta" },
        `${sale.startsAt ? formatStart(timestampDate(sale.startsAt)) : ""} · seats ${sale.seatLabels.join(", ")} · ${formatMoney(
          sale.amountCents,
          sale.currency,
        )}${refunded}`,
      ),
      tickets,
      refundable
        ? h(
            "button",
            {
              type: "button",
              class: "refund",
              onclick: async (event) => {
                (event.target as HTMLButtonElement).disabled = true;
                try {
                  await this.api.booking.refundSale({
                    saleId: sale.saleId,
                    reason: "refunded by the customer",
                    requestId: requestId(),
                  });
                  await this.refresh();
                } catch (err) {
                  note.textContent = describeError(err);
                  (event.target as HTMLButtonElement).disabled = false;
                }
              },
            },
            "Refund",
          )
        : null,
      note,
    );
  }
}
