// A ticket as the customer shows it at the door: a QR code whose text is
// exactly the ticket's `code` (kept in `data-code` too), with its seat and type.

import QRCode from "qrcode";
import { h } from "./dom";
import { TicketStatus, TicketType, type Ticket } from "./gen/cinema/v1/booking_pb";

export function ticketTypeWord(type: TicketType): string {
  return type === TicketType.HALF ? "Half" : "Full";
}

function statusWord(status: TicketStatus): string {
  switch (status) {
    case TicketStatus.ADMITTED:
      return "used";
    case TicketStatus.REFUNDED:
      return "refunded";
    default:
      return "valid";
  }
}

export function ticketCard(ticket: Ticket): HTMLElement {
  const qr = h("div", {
    class: "qr",
    role: "img",
    "aria-label": `QR code of the ticket for seat ${ticket.seatLabel}`,
  });
  void QRCode.toString(ticket.code, { type: "svg", errorCorrectionLevel: "M", margin: 4 }).then((svg) => {
    qr.innerHTML = svg;
  });
  return h(
    "figure",
    { class: `ticket ticket-${statusWord(ticket.status)}`, "data-code": ticket.code, "data-seat": ticket.seatLabel },
    qr,
    h(
      "figcaption",
      {},
      h("strong", {}, `Seat ${ticket.seatLabel}`),
      ` · ${ticketTypeWord(ticket.ticketType)}`,
      ticket.status === TicketStatus.VALID ? null : ` · ${statusWord(ticket.status)}`,
    ),
  );
}
