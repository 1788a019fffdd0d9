"""Best available seats, the single-seat-gap rule and hold extensions
against a live server, with exact outcomes.

Needs the environment example.py reads (tests/it/clients.rs sets it for a
fresh server). Every test works on rooms and sessions it creates itself, in
"Sala 2" (example_rooms.SALA_2):

    A   W C S S _ S S C W     the sweet spot: the centre column (the aisle),
    B   S S S S _ S S S S     two thirds of the way from A to D, so row C
    C   P P P P _ P P P P
    D   LR _ LR _ LR
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import pytest

import example
import example_rooms
import example_selection
from cinema_client import Client, booking_pb2, connect, session_pb2, venue_pb2

HERE = Path(__file__).resolve().parent.parent

STANDARD = venue_pb2.SEAT_KIND_STANDARD
PREMIUM = venue_pb2.SEAT_KIND_PREMIUM
COUPLE = venue_pb2.SEAT_KIND_COUPLE
FULL = booking_pb2.TICKET_TYPE_FULL
HALF = booking_pb2.TICKET_TYPE_HALF


@pytest.fixture(scope="module")
def config():
    missing = [
        name
        for name in ("CINEMA_ADMIN_TOKEN", "CINEMA_ALICE_TOKEN", "CINEMA_BOB_TOKEN")
        if not os.environ.get(name)
    ]
    if missing:
        pytest.fail(f"these tests need a live server: set {', '.join(missing)} (see README.md)")
    return example.Config.from_env()


@pytest.fixture(scope="module")
def flow(config):
    """The whole story once, in its own session; the tests below read it."""
    return example_selection.run_selection_flow(config)


@pytest.fixture
def channel(config):
    channel = connect(config.addr)
    yield channel
    channel.close()


@pytest.fixture
def users(config, channel):
    return (
        Client(channel, config.admin_token),
        Client(channel, config.alice_token),
        Client(channel, config.bob_token),
    )


def new_session(admin, **kwargs):
    """A fresh "Filme Y" in a fresh "Sala 2"; its id."""
    room = example_rooms.create_room(admin)
    return example_rooms.create_priced_session(admin, room, **kwargs).session_id


def priced(seats):
    """ReservedSeats as comparable tuples."""
    return [(s.label, s.kind, s.ticket_type, s.price_cents) for s in seats]


def violations(attempt):
    return [(v.type, v.subject) for v in attempt.error.precondition_violations]


# --- the flow -------------------------------------------------------------------


def test_the_best_three_are_c2_to_c4_the_leftmost_half_price(flow):
    # Row C is the sweet spot's row; C2-C4 and C5-C7 are as near its
    # centre, and a tie goes to the block more to the left.
    best = flow.best
    assert list(best.seat_labels) == ["C2", "C3", "C4"]
    assert priced(best.seats) == [
        ("C2", PREMIUM, HALF, 2000),
        ("C3", PREMIUM, FULL, 4000),
        ("C4", PREMIUM, FULL, 4000),
    ]
    assert sum(s.ticket_type == HALF for s in best.seats) == 1
    assert (best.total_price_cents, best.currency) == (10000, "BRL")
    assert best.status == booking_pb2.RESERVATION_STATUS_PENDING
    assert best.extensions_left == 2


def test_the_best_two_are_the_couple_seat_nearest_the_sweet_spot(flow):
    # D3+D4 is half a column off centre, one row back: nearer than C5+C6.
    assert priced(flow.pair.seats) == [("D3", COUPLE, FULL, 3000), ("D4", COUPLE, FULL, 3000)]
    assert flow.pair.total_price_cents == 6000


def test_a_hold_that_strands_one_seat_is_single_seat_gap_for_that_seat(flow):
    assert flow.gap.reservation is None
    assert flow.gap.error.code == grpc.StatusCode.FAILED_PRECONDITION
    assert violations(flow.gap) == [("SINGLE_SEAT_GAP", "B6")]


def test_a_hold_is_extended_twice_then_refused_with_extension_limit(flow):
    first, second, third = flow.extensions
    assert [first.reservation.extensions_left, second.reservation.extensions_left] == [1, 0]
    ends = [example_selection.hold_end(r) for r in (flow.best, first.reservation, second.reservation)]
    assert ends[0] < ends[1] < ends[2]
    assert third.error.code == grpc.StatusCode.FAILED_PRECONDITION
    assert violations(third) == [("EXTENSION_LIMIT", flow.best.reservation_id)]


def test_an_extended_hold_is_paid_at_the_price_it_was_held_at(flow):
    assert list(flow.sale.seat_labels) == ["C2", "C3", "C4"]
    assert priced(flow.sale.seats) == priced(flow.best.seats)
    assert flow.sale.amount_cents == 10000


def test_no_block_of_five_is_not_enough_adjacent_seats_for_the_session(flow):
    assert flow.too_many.error.code == grpc.StatusCode.FAILED_PRECONDITION
    assert violations(flow.too_many) == [("NOT_ENOUGH_ADJACENT_SEATS", flow.session_id)]


# --- best available on other maps -----------------------------------------------


def test_only_the_kinds_asked_for_with_every_ticket_half(users):
    admin, alice, _ = users
    session_id = new_session(admin)
    best = example_selection.reserve_best(alice, session_id, 3, kinds=[STANDARD], half=3)
    # Row B, nearest row C: B2-B4 (B5-B7 is as near; ties go left).
    assert priced(best.seats) == [
        ("B2", STANDARD, HALF, 1250),
        ("B3", STANDARD, HALF, 1250),
        ("B4", STANDARD, HALF, 1250),
    ]
    assert best.total_price_cents == 3750


def test_best_available_passes_over_a_block_that_would_strand_a_seat(users):
    admin, alice, bob = users
    session_id = new_session(admin)
    example_rooms.reserve(alice, session_id, ["B1"])
    # B3+B4 is nearest, but would leave B2 alone beside alice's B1.
    best = example_selection.reserve_best(bob, session_id, 2, kinds=[STANDARD])
    assert list(best.seat_labels) == ["B5", "B6"]


def test_held_seats_are_passed_over(users):
    admin, alice, bob = users
    session_id = new_session(admin)
    example_rooms.reserve(alice, session_id, ["C3"])
    best = example_selection.reserve_best(bob, session_id, 3)
    assert list(best.seat_labels) == ["C5", "C6", "C7"]


def test_a_session_may_allow_single_seat_gaps(users):
    admin, alice, _ = users
    session_id = new_session(admin, allow_single_seat_gaps=True)
    request = session_pb2.GetSessionRequest(session_id=session_id)
    assert admin.sessions.GetSession(request, metadata=admin.auth, timeout=10).allow_single_seat_gaps
    held = example_rooms.reserve(alice, session_id, ["B5", "B7"])
    assert list(held.seat_labels) == ["B5", "B7"]


# --- extensions -----------------------------------------------------------------


def test_a_retried_extension_extends_once(users):
    admin, alice, _ = users
    reservation = example_rooms.reserve(alice, new_session(admin), ["A3"])
    request_id = str(uuid.uuid4())
    first = example_selection.extend(alice, reservation.reservation_id, request_id)
    again = example_selection.extend(alice, reservation.reservation_id, request_id)
    assert (first.extensions_left, again.extensions_left) == (1, 1)
    assert again.expire_time == first.expire_time


def test_a_paid_reservation_is_not_extended(users):
    admin, alice, _ = users
    reservation = example_rooms.reserve(alice, new_session(admin), ["A3"])
    example_rooms.pay(alice, reservation.reservation_id)
    refused = example_selection.attempt(
        "alice", lambda: example_selection.extend(alice, reservation.reservation_id)
    )
    assert refused.error.code == grpc.StatusCode.FAILED_PRECONDITION
    assert violations(refused) == [("RESERVATION_PAID", reservation.reservation_id)]


def test_the_selection_example_runs_as_a_script(config):
    done = subprocess.run(
        [sys.executable, str(HERE / "example_selection.py")],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    out = done.stdout
    assert "bob's best 3 (1 half): C2 premium half R$ 20,00, C3 premium full R$ 40,00, " in out
    assert "alice asks for B5 and B7: FAILED_PRECONDITION (SINGLE_SEAT_GAP B6)" in out
    assert "bob extends (3): FAILED_PRECONDITION (EXTENSION_LIMIT " in out
