"""Tickets, admission at the door and refunds, from Python.

An admin publishes "Filme Z" in "Sala 3" starting in 30 minutes (its doors
are open: admission opens an hour before the start) and again at the same
time tomorrow. alice buys A1, A2 and A3 (A3 with a HALF ticket) for tonight: her
sale has a ticket per seat, each with the code its QR code carries (the
ticket id and an Ed25519 signature, base64url, 107 characters). An usher
(a token with the staff role) scans A1: ADMITTED; again, at another door:
ALREADY_ADMITTED, naming the first door and time; an edited code: INVALID.
alice is too late to refund herself (REFUND_WINDOW_CLOSED: buyers may
until 2h before the start), so an admin refunds A3, which is on sale again
at once and scans as REFUNDED; refunding the rest is refused for A1, whose
ticket admitted someone (TICKET_ADMITTED). bob buys B1-B3 for tomorrow: a
scan today is NOT_YET_OPEN; he refunds B1, then the rest, then B1 again
(ALREADY_REFUNDED).

    clients/python/.venv/bin/python clients/python/example_tickets.py

Same environment as example.py (CINEMA_ADDR, CINEMA_ADMIN_TOKEN,
CINEMA_ALICE_TOKEN, CINEMA_BOB_TOKEN), plus CINEMA_USHER_TOKEN: a token
with the staff role (`cinema token --user usher --staff`).

Each step is a function returning what it got, so tests/test_tickets.py
can check it; main() prints the story.
"""

from __future__ import annotations

import base64
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Generic, TypeVar

import grpc

from cinema_client import (
    Client,
    ErrorDetails,
    booking_pb2,
    connect,
    error_details,
    session_pb2,
    ticket_pb2,
)
from example import SAO_PAULO, Config, brl
from example_rooms import pay, reserve, seat_map, seat_of, status_name, ticket_name

T = TypeVar("T")

# --- configuration --------------------------------------------------------------


def usher_token_from_env() -> str:
    """CINEMA_USHER_TOKEN: a token with the staff role, which AdmitTicket needs."""
    token = os.environ.get("CINEMA_USHER_TOKEN")
    if not token:
        raise SystemExit("set CINEMA_USHER_TOKEN (a staff token: `cinema token --user usher --staff`)")
    return token


# --- sessions and sales ---------------------------------------------------------


def create_session_at(admin: Client, starts_at: datetime, title: str = "Filme Z") -> session_pb2.Session:
    """A session in "Sala 3", 2 rows of 8 standard seats at R$ 25,00, at `starts_at`."""
    request = session_pb2.CreateSessionRequest(
        movie_title=title,
        room="Sala 3",
        price_cents=2500,
        currency="BRL",
        rows=2,
        seats_per_row=8,
    )
    request.starts_at.FromDatetime(starts_at)
    return admin.sessions.CreateSession(request, metadata=admin.auth, timeout=10)


def in_minutes(minutes: int) -> datetime:
    """`minutes` from now, to the second."""
    return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).replace(microsecond=0)


def buy(client: Client, session_id: str, seats: Sequence[str], half: Iterable[str] = ()) -> booking_pb2.Sale:
    """Holds `seats` (those in `half` HALF) and pays: the sale, with a ticket per seat."""
    return pay(client, reserve(client, session_id, seats, half).reservation_id)


# --- tickets --------------------------------------------------------------------

_CODE = re.compile(r"[A-Za-z0-9_-]{107}")


def code_ticket_id(code: str) -> str:
    """The ticket id a code names, after checking the code's shape: 107
    base64url characters (no padding) that decode to the 16 bytes of the
    ticket id and a 64-byte Ed25519 signature. Raises ValueError otherwise.
    Only the public key (`cinema ticket-key`) tells a genuine code from a
    forged one: `cinema ticket verify CODE --public-key KEY`, or the door."""
    if not _CODE.fullmatch(code):
        raise ValueError(f"a ticket code is 107 base64url characters, not {code!r}")
    raw = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))
    if len(raw) != 16 + 64:
        raise ValueError(f"a ticket code decodes to 80 bytes, not {len(raw)}")
    return str(uuid.UUID(bytes=raw[:16]))


def get_ticket(client: Client, ticket_id: str) -> ticket_pb2.Ticket:
    """TicketService.GetTicket: the caller's own ticket (staff and admins may
    read any); NOT_FOUND for an unknown id."""
    request = ticket_pb2.GetTicketRequest(ticket_id=ticket_id)
    return client.tickets.GetTicket(request, metadata=client.auth, timeout=10)


def admit(usher: Client, code: str, gate: str) -> ticket_pb2.Admission:
    """TicketService.AdmitTicket (staff or admin): the scan's result, always
    answered OK: ADMITTED (this scan let them in), ALREADY_ADMITTED (with
    `first_gate` and `first_admit_time`), REFUNDED, INVALID (not a code of
    this box office), NOT_YET_OPEN (earlier than an hour before the start)."""
    request = ticket_pb2.AdmitTicketRequest(code=code, gate=gate)
    return usher.tickets.AdmitTicket(request, metadata=usher.auth, timeout=10)


def refund(
    client: Client,
    sale_id: str,
    seats: Sequence[str] = (),
    reason: str = "",
    request_id: str | None = None,
) -> booking_pb2.Sale:
    """BookingService.RefundSale: refunds `seats` of the sale (none named:
    every seat not refunded yet) and puts them back on sale; returns the sale
    after it (`refunded_cents`, the tickets REFUNDED). The buyer may until 2h
    before the start (CINEMA_REFUND_CUTOFF), an admin until the start;
    FAILED_PRECONDITION: REFUND_WINDOW_CLOSED (subject the sale),
    TICKET_ADMITTED and ALREADY_REFUNDED (subject each seat). The same
    `request_id` again refunds once."""
    request = booking_pb2.RefundSaleRequest(
        sale_id=sale_id,
        seat_labels=list(seats),
        reason=reason,
        request_id=request_id or str(uuid.uuid4()),
    )
    return client.booking.RefundSale(request, metadata=client.auth, timeout=10)


@dataclass
class Outcome(Generic[T]):
    """A call's answer, or the error that refused it."""

    value: T | None = None
    error: ErrorDetails | None = None


def outcome(call: Callable[[], T]) -> Outcome[T]:
    """Runs `call`; a refusal is returned (Outcome.error) instead of raised."""
    try:
        return Outcome(value=call())
    except grpc.RpcError as error:
        return Outcome(error=error_details(error))


# --- printing -------------------------------------------------------------------


def result_name(result: int) -> str:
    """ADMISSION_RESULT_ALREADY_ADMITTED -> "ALREADY_ADMITTED"."""
    return ticket_pb2.AdmissionResult.Name(result).removeprefix("ADMISSION_RESULT_")


def ticket_status(status: int) -> str:
    """TICKET_STATUS_REFUNDED -> "REFUNDED"."""
    return booking_pb2.TicketStatus.Name(status).removeprefix("TICKET_STATUS_")


def describe_admission(admission: ticket_pb2.Admission) -> str:
    """`ALREADY_ADMITTED (first at door-1, 19:01:02)`."""
    said = result_name(admission.result)
    if admission.first_gate:
        first = admission.first_admit_time.ToDatetime(tzinfo=timezone.utc).astimezone(SAO_PAULO)
        said += f" (first at {admission.first_gate}, {first:%H:%M:%S})"
    return said


def describe_tickets(sale: booking_pb2.Sale) -> str:
    """`A1 ADMITTED, A2 VALID, A3 REFUNDED`."""
    return ", ".join(f"{t.seat_label} {ticket_status(t.status)}" for t in sale.tickets)


def describe_refund(sale: booking_pb2.Sale) -> str:
    """`R$ 12,50 of R$ 62,50 refunded; A1 ADMITTED, ...`."""
    return f"{brl(sale.refunded_cents)} of {brl(sale.amount_cents)} refunded; {describe_tickets(sale)}"


def describe_error(error: ErrorDetails) -> str:
    """`FAILED_PRECONDITION (TICKET_ADMITTED A1): ...`."""
    reasons = [f"{v.type} {v.subject}" for v in error.precondition_violations]
    return f"{error.code.name}" + (f" ({'; '.join(reasons)})" if reasons else "") + f": {error.message}"


def describe_outcome(result: Outcome, describe: Callable[[T], str]) -> str:
    return describe(result.value) if result.error is None else describe_error(result.error)


def edited(code: str, at: int = 30) -> str:
    """The code with the character at `at` changed to the next one of the
    base64url alphabet: no longer a code of this box office."""
    alphabet = "-_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    swapped = alphabet[(alphabet.index(code[at]) + 1) % len(alphabet)]
    return code[:at] + swapped + code[at + 1 :]


# --- the whole flow -------------------------------------------------------------


@dataclass
class TicketsFlow:
    tonight: session_pb2.Session  # starts in 30 minutes: doors open
    tomorrow: session_pb2.Session  # in a day: doors not open yet
    sale: booking_pb2.Sale  # alice's A1, A2, A3 (HALF) tonight
    code_ids: list[str]  # the ticket id each code names
    fetched: ticket_pb2.Ticket  # alice's GetTicket of A1
    scans: list[ticket_pb2.Admission]  # A1 at door-1, then at door-2
    forged: ticket_pb2.Admission  # an edited code
    self_scan: Outcome  # alice scanning her own code
    late: Outcome  # alice refunding A3 herself, too late
    partial: booking_pb2.Sale  # an admin refunding A3
    a3: session_pb2.Seat  # A3 on the seat map after it
    refunded_scan: ticket_pb2.Admission  # A3 scanned after its refund
    admitted: Outcome  # an admin refunding the rest, A1 admitted
    bob_sale: booking_pb2.Sale  # bob's B1, B2, B3 tomorrow
    early_scan: ticket_pb2.Admission  # B1 scanned today
    bob_partial: booking_pb2.Sale  # bob refunding B1
    bob_rest: booking_pb2.Sale  # bob refunding the rest
    again: Outcome  # bob refunding B1 again


def run_tickets_flow(config: Config, usher_token: str, log=lambda line: None) -> TicketsFlow:
    """Plays the story against the server of `config`; `log` receives one
    readable line per step."""
    channel = connect(config.addr)
    try:
        admin = Client(channel, config.admin_token)
        alice = Client(channel, config.alice_token)
        bob = Client(channel, config.bob_token)
        usher = Client(channel, usher_token)

        # 1. Tonight's session, doors open, and tomorrow's.
        tonight = create_session_at(admin, in_minutes(30))
        tomorrow = create_session_at(admin, in_minutes(24 * 60))
        for session in (tonight, tomorrow):
            starts = session.starts_at.ToDatetime(tzinfo=timezone.utc).astimezone(SAO_PAULO)
            log(
                f"created session {session.session_id}: {session.movie_title!r} in {session.room}, "
                f"{starts:%Y-%m-%d %H:%M} São Paulo"
            )

        # 2. alice's sale: a ticket per seat, each with its code.
        sale = buy(alice, tonight.session_id, ["A1", "A2", "A3"], half=["A3"])
        log(f"alice bought {', '.join(sale.seat_labels)} (A3 half): sale {sale.sale_id}, {brl(sale.amount_cents)}")
        code_ids = []
        for ticket in sale.tickets:
            code_ids.append(code_ticket_id(ticket.code))
            log(
                f"  {ticket.seat_label} {ticket_name(ticket.ticket_type):<4} {ticket_status(ticket.status)} "
                f"ticket {ticket.ticket_id}, code {ticket.code[:8]}...{ticket.code[-8:]} ({len(ticket.code)} characters)"
            )
        a1, a3 = sale.tickets[0], sale.tickets[2]
        fetched = get_ticket(alice, a1.ticket_id)
        log(f"alice reads her {fetched.seat_label} ticket: {ticket_status(fetched.status)}")

        # 3. The door: once, then never again; an edited code is nobody's.
        scans = [admit(usher, a1.code, gate) for gate in ("door-1", "door-2")]
        for gate, scan in zip(("door-1", "door-2"), scans):
            log(f"usher scans A1 at {gate}: {describe_admission(scan)}")
        forged = admit(usher, edited(a1.code), "door-1")
        log(f"usher scans an edited code: {describe_admission(forged)}")
        self_scan = outcome(lambda: admit(alice, a1.code, "door-1"))
        log(f"alice scans her own code: {describe_outcome(self_scan, describe_admission)}")

        # 4. Refunds tonight: too late for alice, not for an admin.
        late = outcome(lambda: refund(alice, sale.sale_id, ["A3"], reason="cannot come"))
        log(f"alice refunds A3: {describe_outcome(late, describe_refund)}")
        partial = refund(admin, sale.sale_id, ["A3"], reason="cannot come")
        log(f"admin refunds A3: {describe_refund(partial)}")
        a3_seat = seat_of(seat_map(alice, tonight.session_id), "A3")
        log(f"A3 on the seat map: {status_name(a3_seat.status)}")
        refunded_scan = admit(usher, a3.code, "door-1")
        log(f"usher scans A3: {describe_admission(refunded_scan)}")
        admitted = outcome(lambda: refund(admin, sale.sale_id, reason="left early"))
        log(f"admin refunds the rest: {describe_outcome(admitted, describe_refund)}")

        # 5. Tomorrow: the doors are not open yet; bob refunds in two steps.
        bob_sale = buy(bob, tomorrow.session_id, ["B1", "B2", "B3"])
        log(f"bob bought {', '.join(bob_sale.seat_labels)} for tomorrow: sale {bob_sale.sale_id}, {brl(bob_sale.amount_cents)}")
        early_scan = admit(usher, bob_sale.tickets[0].code, "door-1")
        log(f"usher scans B1 today: {describe_admission(early_scan)}")
        bob_partial = refund(bob, bob_sale.sale_id, ["B1"], reason="one fewer")
        log(f"bob refunds B1: {describe_refund(bob_partial)}")
        bob_rest = refund(bob, bob_sale.sale_id, reason="nobody can come")
        log(f"bob refunds the rest: {describe_refund(bob_rest)}")
        again = outcome(lambda: refund(bob, bob_sale.sale_id, ["B1"]))
        log(f"bob refunds B1 again: {describe_outcome(again, describe_refund)}")
    finally:
        channel.close()
    return TicketsFlow(
        tonight=tonight,
        tomorrow=tomorrow,
        sale=sale,
        code_ids=code_ids,
        fetched=fetched,
        scans=scans,
        forged=forged,
        self_scan=self_scan,
        late=late,
        partial=partial,
        a3=a3_seat,
        refunded_scan=refunded_scan,
        admitted=admitted,
        bob_sale=bob_sale,
        early_scan=early_scan,
        bob_partial=bob_partial,
        bob_rest=bob_rest,
        again=again,
    )


def main() -> int:
    config = Config.from_env()
    usher_token = usher_token_from_env()
    print(f"cinema at {config.addr}")
    run_tickets_flow(config, usher_token, log=print)
    return 0


if __name__ == "__main__":
    sys.exit(main())
