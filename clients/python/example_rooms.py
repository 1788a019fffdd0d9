"""Rooms, seat kinds, prices, HALF tickets and blocked seats, from Python.

An admin draws "Sala 2" (wheelchair spaces with companion seats at the ends
of the front row, an aisle down the middle, a premium row, three couple seats
at the back) and publishes "Filme Y" in it, priced per seat kind. alice holds
two premium seats, one of them with a HALF ticket, and a couple seat, and
pays. The admin blocks B5 (a broken armrest): bob is refused it with
FAILED_PRECONDITION and a SEAT_UNAVAILABLE violation for B5, until it is
unblocked and he gets it.

    clients/python/.venv/bin/python clients/python/example_rooms.py

Same environment as example.py: CINEMA_ADDR (127.0.0.1:50051),
CINEMA_ADMIN_TOKEN, CINEMA_ALICE_TOKEN, CINEMA_BOB_TOKEN.

Each step is a function returning what it got, so tests/test_rooms.py can
check it; main() prints the story.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timezone

import grpc

from cinema_client import Client, booking_pb2, connect, error_details, session_pb2, venue_pb2
from example import SAO_PAULO, Attempt, Config, brl, describe, next_showtime

# --- the room -------------------------------------------------------------------

# One string per row, from the screen back, one character per position:
# S standard, P premium, W wheelchair space, C companion seat, LR a couple
# seat (two halves, always reserved together), _ an aisle or gap. Seats are
# numbered from 1, left to right; gaps take no number, so row A is A1..A8
# (A5 is the first seat after the aisle) and row D is D1..D6 (D1+D2, D3+D4
# and D5+D6 are the couple seats).
SALA_2 = [
    ("A", "WCSS_SSCW"),
    ("B", "SSSS_SSSS"),
    ("C", "PPPP_PPPP"),
    ("D", "LR_LR_LR"),
]

# Price of one seat of each kind, in cents (2500 = R$ 25,00); a couple seat's
# price is per half. WHEELCHAIR and COMPANION are left out on purpose: they
# cost the STANDARD price unless given one of their own.
PRICES = {
    venue_pb2.SEAT_KIND_STANDARD: 2500,
    venue_pb2.SEAT_KIND_PREMIUM: 4000,
    venue_pb2.SEAT_KIND_COUPLE: 3000,
}


def create_room(
    admin: Client, name: str = "Sala 2", rows: Sequence[tuple[str, str]] = SALA_2
) -> venue_pb2.Room:
    """VenueService.CreateRoom (admin only). A bad layout is INVALID_ARGUMENT
    with one field violation per problem, naming the row (`rows[3].seats`)."""
    request = venue_pb2.CreateRoomRequest(
        name=name,
        rows=[venue_pb2.RowLayout(label=label, seats=seats) for label, seats in rows],
    )
    return admin.venues.CreateRoom(request, metadata=admin.auth, timeout=10)


def create_priced_session(
    admin: Client,
    room: venue_pb2.Room,
    prices: Mapping[int, int] = PRICES,
    title: str = "Filme Y",
    allow_single_seat_gaps: bool = False,
) -> session_pb2.Session:
    """A session in `room`, with a price per seat kind. `rows` and
    `seats_per_row` stay unset: the room's layout gives the seats. Unless
    `allow_single_seat_gaps`, a hold that would leave one seat alone between
    taken ones is refused (SINGLE_SEAT_GAP)."""
    request = session_pb2.CreateSessionRequest(
        movie_title=title,
        room_id=room.room_id,
        currency="BRL",
        prices=[session_pb2.KindPrice(kind=kind, price_cents=cents) for kind, cents in prices.items()],
        allow_single_seat_gaps=allow_single_seat_gaps,
    )
    request.starts_at.FromDatetime(next_showtime())
    return admin.sessions.CreateSession(request, metadata=admin.auth, timeout=10)


def seat_map(client: Client, session_id: str) -> session_pb2.SeatMap:
    return client.sessions.GetSeatMap(
        session_pb2.GetSeatMapRequest(session_id=session_id), metadata=client.auth, timeout=10
    )


# --- booking with ticket types --------------------------------------------------


def reserve(
    client: Client, session_id: str, seats: Sequence[str], half: Iterable[str] = ()
) -> booking_pb2.Reservation:
    """Holds `seats`: those in `half` with a HALF ticket (half the seat's
    price, rounded up to the cent), the others FULL. Both halves of a couple
    seat must be asked for together."""
    request = booking_pb2.ReserveSeatsRequest(
        session_id=session_id,
        seat_labels=seats,
        request_id=str(uuid.uuid4()),
        ticket_types={label: booking_pb2.TICKET_TYPE_HALF for label in half},
    )
    return client.booking.ReserveSeats(request, metadata=client.auth, timeout=10)


def try_reserve(
    user: str, client: Client, session_id: str, seats: Sequence[str], half: Iterable[str] = ()
) -> Attempt:
    """Like reserve(), but a refusal is returned (Attempt.error) instead of raised."""
    attempt = Attempt(user)
    try:
        attempt.reservation = reserve(client, session_id, seats, half)
    except grpc.RpcError as error:
        attempt.error = error_details(error)
    return attempt


def pay(client: Client, reservation_id: str) -> booking_pb2.Sale:
    request = booking_pb2.ConfirmPaymentRequest(
        reservation_id=reservation_id,
        payment_reference=f"pix-{uuid.uuid4().hex[:12]}",
        request_id=str(uuid.uuid4()),
    )
    return client.booking.ConfirmPayment(request, metadata=client.auth, timeout=10)


# --- blocked seats --------------------------------------------------------------


def block_seats(admin: Client, session_id: str, seats: Sequence[str], reason: str) -> session_pb2.SeatMap:
    """SessionService.BlockSeats (admin only): takes the seats out of sale, all
    or none, and returns the seat map after the change."""
    request = session_pb2.BlockSeatsRequest(session_id=session_id, seat_labels=seats, reason=reason)
    return admin.sessions.BlockSeats(request, metadata=admin.auth, timeout=10)


def unblock_seats(admin: Client, session_id: str, seats: Sequence[str], reason: str) -> session_pb2.SeatMap:
    """SessionService.UnblockSeats (admin only): puts the seats back on sale."""
    request = session_pb2.UnblockSeatsRequest(session_id=session_id, seat_labels=seats, reason=reason)
    return admin.sessions.UnblockSeats(request, metadata=admin.auth, timeout=10)


# --- printing -------------------------------------------------------------------


def kind_name(kind: int) -> str:
    """SEAT_KIND_PREMIUM -> "premium"."""
    return venue_pb2.SeatKind.Name(kind).removeprefix("SEAT_KIND_").lower()


def ticket_name(ticket_type: int) -> str:
    """TICKET_TYPE_HALF -> "half"."""
    return booking_pb2.TicketType.Name(ticket_type).removeprefix("TICKET_TYPE_").lower()


def status_name(status: int) -> str:
    """SEAT_STATUS_BLOCKED -> "BLOCKED"."""
    return session_pb2.SeatStatus.Name(status).removeprefix("SEAT_STATUS_")


_LETTER = {
    venue_pb2.SEAT_KIND_STANDARD: "S",
    venue_pb2.SEAT_KIND_PREMIUM: "P",
    venue_pb2.SEAT_KIND_WHEELCHAIR: "W",
    venue_pb2.SEAT_KIND_COMPANION: "C",
}


def draw(seats: Sequence[session_pb2.Seat]) -> list[str]:
    """The seat map as text, screen at the top: each seat is its number and
    kind letter at its column `x`, so aisles show as blanks; a couple seat's
    halves are L and R."""
    x_of = {seat.label: seat.x for seat in seats}
    rows: dict[str, dict[int, str]] = {}
    for seat in seats:
        if seat.kind == venue_pb2.SEAT_KIND_COUPLE:
            letter = "L" if x_of[seat.pair_label] > seat.x else "R"
        else:
            letter = _LETTER.get(seat.kind, "?")
        rows.setdefault(seat.row, {})[seat.x] = f"{seat.number:>2}{letter}"
    width = 1 + max(seat.x for seat in seats)
    lines = [("      " + "screen".center(4 * width)).rstrip()]
    for row, cells in rows.items():
        lines.append(f"  {row:<2}  " + "".join(f"{cells.get(x, ''):>4}" for x in range(width)).rstrip())
    return lines


def counts(seat_map: session_pb2.SeatMap) -> str:
    return (
        f"{seat_map.available_count} available, {seat_map.held_count} held, "
        f"{seat_map.sold_count} sold, {seat_map.blocked_count} blocked"
    )


def seat_of(seat_map: session_pb2.SeatMap, label: str) -> session_pb2.Seat:
    return next(seat for seat in seat_map.seats if seat.label == label)


# --- the whole flow -------------------------------------------------------------


@dataclass
class RoomsFlow:
    room: venue_pb2.Room
    session: session_pb2.Session
    seat_map: session_pb2.SeatMap  # before anything was reserved
    reservation: booking_pb2.Reservation  # alice's: C4, C5 (HALF), D1+D2
    sale: booking_pb2.Sale  # alice's payment for it
    blocked: session_pb2.SeatMap  # after B5 was blocked
    refused: Attempt  # bob asking for B5 and B6 while B5 is blocked
    unblocked: session_pb2.SeatMap  # after B5 was unblocked
    bob: booking_pb2.Reservation  # bob's: B5, B6 (HALF)


def run_rooms_flow(config: Config, log=lambda line: None) -> RoomsFlow:
    """Plays the story against the server of `config`; `log` receives one
    readable line per step."""
    channel = connect(config.addr)
    try:
        admin = Client(channel, config.admin_token)
        alice = Client(channel, config.alice_token)
        bob = Client(channel, config.bob_token)

        # 1. The room, and a session in it priced per seat kind.
        room = create_room(admin)
        log(f"created room {room.room_id} {room.name!r}: {room.seat_count} seats in {len(room.rows)} rows")
        session = create_priced_session(admin, room)
        starts = session.starts_at.ToDatetime(tzinfo=timezone.utc).astimezone(SAO_PAULO)
        log(
            f"created session {session.session_id}: {session.movie_title!r} in {session.room}, "
            f"{starts:%Y-%m-%d %H:%M} São Paulo, {session.total_seats} seats"
        )
        for price in session.prices:  # every kind in the room, WHEELCHAIR and COMPANION included
            per = " per half" if price.kind == venue_pb2.SEAT_KIND_COUPLE else ""
            log(f"  {kind_name(price.kind):<10} {brl(price.price_cents)}{per}")
        before = seat_map(alice, session.session_id)
        for line in draw(before.seats):
            log(line)

        # 2. alice: two premium seats, C5 with a HALF ticket, and the couple seat D1+D2.
        reservation = reserve(alice, session.session_id, ["C4", "C5", "D1", "D2"], half=["C5"])
        log(f"alice holds {', '.join(reservation.seat_labels)} (reservation {reservation.reservation_id}):")
        for seat in reservation.seats:
            kind, ticket = kind_name(seat.kind), ticket_name(seat.ticket_type)
            log(f"  {seat.label:<3} {kind:<8} {ticket:<4} {brl(seat.price_cents)}")
        log(f"  total {brl(reservation.total_price_cents)} {reservation.currency}")
        sale = pay(alice, reservation.reservation_id)
        log(f"alice paid: sale {sale.sale_id}, {brl(sale.amount_cents)} {sale.currency}")

        # 3. B5 is blocked: bob cannot have it until it is unblocked.
        blocked = block_seats(admin, session.session_id, ["B5"], reason="broken armrest")
        b5 = seat_of(blocked, "B5")
        log(f"admin blocked B5 ({b5.block_reason}): {status_name(b5.status)}; {counts(blocked)}")
        refused = try_reserve("bob", bob, session.session_id, ["B5", "B6"])
        log(f"bob asks for B5 and B6: {describe(refused)}")
        unblocked = unblock_seats(admin, session.session_id, ["B5"], reason="repaired")
        log(f"admin unblocked B5: {status_name(seat_of(unblocked, 'B5').status)}; {counts(unblocked)}")
        bob_reservation = reserve(bob, session.session_id, ["B5", "B6"], half=["B6"])
        log(
            "bob holds B5 and B6 (B6 half): "
            + ", ".join(f"{s.label} {brl(s.price_cents)}" for s in bob_reservation.seats)
            + f", total {brl(bob_reservation.total_price_cents)}"
        )
    finally:
        channel.close()
    return RoomsFlow(
        room=room,
        session=session,
        seat_map=before,
        reservation=reservation,
        sale=sale,
        blocked=blocked,
        refused=refused,
        unblocked=unblocked,
        bob=bob_reservation,
    )


def main() -> int:
    config = Config.from_env()
    print(f"cinema at {config.addr}")
    run_rooms_flow(config, log=print)
    return 0


if __name__ == "__main__":
    sys.exit(main())
