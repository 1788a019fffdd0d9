"""Letting the server choose seats, no stranded single seats, and longer
holds, from Python.

An admin publishes "Filme Y" in "Sala 2" (see example_rooms.py). bob asks
for the best 3 seats side by side, one of them a HALF ticket: the server
picks the block nearest the sweet spot (the room's horizontal centre, two
thirds of the way from the screen to the back row), C2-C4 in the premium
row, C2 the HALF one. alice asks for the best 2 and gets the couple seat
D3+D4, nearer still. alice then asks for B5 and B7 by hand: that would
leave B6 alone between them, so it is refused with SINGLE_SEAT_GAP for B6.
bob extends his hold twice (extensions_left 2 -> 1 -> 0), a third time is
refused with EXTENSION_LIMIT, and he pays. A party of 5 finds no 5 seats
side by side: NOT_ENOUGH_ADJACENT_SEATS.

    clients/python/.venv/bin/python clients/python/example_selection.py

Same environment as example.py: CINEMA_ADDR (127.0.0.1:50051),
CINEMA_ADMIN_TOKEN, CINEMA_ALICE_TOKEN, CINEMA_BOB_TOKEN.

Each step is a function returning what it got, so tests/test_selection.py
can check it; main() prints the story.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

import grpc

from cinema_client import Client, booking_pb2, connect, error_details
from example import SAO_PAULO, Attempt, Config, brl, describe
from example_rooms import create_priced_session, create_room, kind_name, pay, ticket_name, try_reserve

# --- the calls ------------------------------------------------------------------


def reserve_best(
    client: Client, session_id: str, quantity: int, kinds: Iterable[int] = (), half: int = 0
) -> booking_pb2.Reservation:
    """BookingService.ReserveBestAvailable: holds the best `quantity` adjacent
    seats in one row (no aisle inside, a couple seat only whole), of `kinds`
    (none: STANDARD, PREMIUM and COUPLE); the `half` leftmost get HALF
    tickets. FAILED_PRECONDITION with NOT_ENOUGH_ADJACENT_SEATS (subject the
    session id) when no such block is free."""
    request = booking_pb2.ReserveBestAvailableRequest(
        session_id=session_id,
        quantity=quantity,
        kinds=list(kinds),
        half_price_quantity=half,
        request_id=str(uuid.uuid4()),
    )
    return client.booking.ReserveBestAvailable(request, metadata=client.auth, timeout=10)


def extend(client: Client, reservation_id: str, request_id: str | None = None) -> booking_pb2.Reservation:
    """BookingService.ExtendReservation: the hold now ends one hold time from
    now (never earlier), and `extensions_left` goes down by one. The same
    `request_id` again returns the reservation without extending it twice.
    FAILED_PRECONDITION: EXTENSION_LIMIT past the limit, RESERVATION_PAID
    once paid (subject the reservation id)."""
    request = booking_pb2.ExtendReservationRequest(
        reservation_id=reservation_id, request_id=request_id or str(uuid.uuid4())
    )
    return client.booking.ExtendReservation(request, metadata=client.auth, timeout=10)


def attempt(user: str, call: Callable[[], booking_pb2.Reservation]) -> Attempt:
    """Runs a call that returns a Reservation; a refusal is returned
    (Attempt.error) instead of raised."""
    result = Attempt(user)
    try:
        result.reservation = call()
    except grpc.RpcError as error:
        result.error = error_details(error)
    return result


# --- printing -------------------------------------------------------------------


def hold_end(reservation: booking_pb2.Reservation) -> datetime:
    return reservation.expire_time.ToDatetime(tzinfo=timezone.utc)


def describe_until(reservation: booking_pb2.Reservation) -> str:
    """`held until 19:00:30.125, extensions left: 2` (São Paulo time)."""
    until = hold_end(reservation).astimezone(SAO_PAULO)
    return f"held until {until:%H:%M:%S}.{until.microsecond // 1000:03d}, extensions left: {reservation.extensions_left}"


def describe_hold(reservation: booking_pb2.Reservation) -> str:
    """`C2 premium half R$ 20,00, ... = R$ 100,00, held until ...`."""
    seats = ", ".join(
        f"{s.label} {kind_name(s.kind)} {ticket_name(s.ticket_type)} {brl(s.price_cents)}"
        for s in reservation.seats
    )
    return f"{seats} = {brl(reservation.total_price_cents)}, {describe_until(reservation)}"


# --- the whole flow -------------------------------------------------------------


@dataclass
class SelectionFlow:
    session_id: str
    best: booking_pb2.Reservation  # bob's best 3, the leftmost HALF
    pair: booking_pb2.Reservation  # alice's best 2: the couple seat
    gap: Attempt  # alice asking for B5 and B7
    extensions: list[Attempt]  # bob extending his hold three times
    sale: booking_pb2.Sale  # bob paying
    too_many: Attempt  # a party of 5


def run_selection_flow(config: Config, log=lambda line: None) -> SelectionFlow:
    """Plays the story against the server of `config`; `log` receives one
    readable line per step."""
    channel = connect(config.addr)
    try:
        admin = Client(channel, config.admin_token)
        alice = Client(channel, config.alice_token)
        bob = Client(channel, config.bob_token)
        session = create_priced_session(admin, create_room(admin))
        session_id = session.session_id
        log(f"created session {session_id}: {session.movie_title!r} in {session.room}")

        # 1. The server chooses: the best block, nearest the sweet spot.
        best = reserve_best(bob, session_id, 3, half=1)
        log(f"bob's best 3 (1 half): {describe_hold(best)}")
        pair = reserve_best(alice, session_id, 2)
        log(f"alice's best 2: {describe_hold(pair)}")

        # 2. No seat left alone between taken ones.
        gap = try_reserve("alice", alice, session_id, ["B5", "B7"])
        log(f"alice asks for B5 and B7: {describe(gap)}")

        # 3. bob holds longer, as often as the server allows.
        extensions = [attempt("bob", lambda: extend(bob, best.reservation_id)) for _ in range(3)]
        for number, extension in enumerate(extensions, 1):
            if extension.reservation is not None:
                log(f"bob extends ({number}): {describe_until(extension.reservation)}")
            else:
                log(f"bob extends ({number}): {describe(extension)}")
        sale = pay(bob, best.reservation_id)
        log(f"bob paid: sale {sale.sale_id}, {brl(sale.amount_cents)} {sale.currency}")

        # 4. Five side by side: no row of Sala 2 has them.
        too_many = attempt("bob", lambda: reserve_best(bob, session_id, 5))
        log(f"bob's best 5: {describe(too_many)}")
    finally:
        channel.close()
    return SelectionFlow(session_id, best, pair, gap, extensions, sale, too_many)


def main() -> int:
    config = Config.from_env()
    print(f"cinema at {config.addr}")
    run_selection_flow(config, log=print)
    return 0


if __name__ == "__main__":
    sys.exit(main())
