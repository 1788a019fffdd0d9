"""Rooms, prices, HALF tickets and blocked seats against a live server, with
exact outcomes.

Needs the environment example.py reads (tests/it/clients.rs sets it for a
fresh server). Every test works on rooms and sessions it creates itself.
"""

import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

import example
import example_rooms
from cinema_client import Client, booking_pb2, connect, error_details, session_pb2, venue_pb2

HERE = Path(__file__).resolve().parent.parent

STANDARD = venue_pb2.SEAT_KIND_STANDARD
PREMIUM = venue_pb2.SEAT_KIND_PREMIUM
WHEELCHAIR = venue_pb2.SEAT_KIND_WHEELCHAIR
COMPANION = venue_pb2.SEAT_KIND_COMPANION
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
    """The whole story once, in its own room; the tests below read it."""
    return example_rooms.run_rooms_flow(config)


@pytest.fixture
def channel(config):
    channel = connect(config.addr)
    yield channel
    channel.close()


def priced(seats):
    """ReservedSeats as comparable tuples."""
    return [(s.label, s.kind, s.ticket_type, s.price_cents) for s in seats]


def test_the_room_has_30_seats_in_the_rows_drawn(flow):
    room = flow.room
    assert room.name == "Sala 2"
    assert [(r.label, r.seats) for r in room.rows] == example_rooms.SALA_2
    assert room.seat_count == 8 + 8 + 8 + 6
    assert room.room_id and room.create_time.seconds > 0


def test_anyone_can_read_the_room_back(flow, config, channel):
    alice = Client(channel, config.alice_token)
    request = venue_pb2.GetRoomRequest(room_id=flow.room.room_id)
    got = alice.venues.GetRoom(request, metadata=alice.auth, timeout=10)
    assert got == flow.room
    # ListRooms pages oldest first: look through every page.
    listed, token = [], ""
    while True:
        page = alice.venues.ListRooms(
            venue_pb2.ListRoomsRequest(page_size=100, page_token=token), metadata=alice.auth, timeout=10
        )
        listed += [room.room_id for room in page.rooms]
        if not (token := page.next_page_token):
            break
    assert listed.count(flow.room.room_id) == 1


def test_the_session_is_priced_per_kind_wheelchair_and_companion_at_the_standard_price(flow):
    session = flow.session
    assert (session.room_id, session.room) == (flow.room.room_id, "Sala 2")
    assert (session.total_seats, session.available_seats) == (30, 30)
    assert (session.rows, session.seats_per_row) == (4, 0)
    assert (session.price_cents, session.currency) == (2500, "BRL")
    assert [(p.kind, p.price_cents) for p in session.prices] == [
        (STANDARD, 2500),
        (PREMIUM, 4000),
        (WHEELCHAIR, 2500),
        (COMPANION, 2500),
        (COUPLE, 3000),
    ]


def test_the_seat_map_follows_the_layout(flow):
    seats = {seat.label: seat for seat in flow.seat_map.seats}
    assert len(seats) == 30
    assert all(s.status == session_pb2.SEAT_STATUS_AVAILABLE for s in seats.values())
    # Row A: numbers skip the aisle, columns (x) do not.
    row_a = [(s.label, s.kind, s.x) for s in flow.seat_map.seats if s.row == "A"]
    assert row_a == [
        ("A1", WHEELCHAIR, 0),
        ("A2", COMPANION, 1),
        ("A3", STANDARD, 2),
        ("A4", STANDARD, 3),
        ("A5", STANDARD, 5),
        ("A6", STANDARD, 6),
        ("A7", COMPANION, 7),
        ("A8", WHEELCHAIR, 8),
    ]
    assert (seats["C4"].kind, seats["C4"].price_cents, seats["C4"].y) == (PREMIUM, 4000, 2)
    # Row D: three couple seats, each half priced and naming the other.
    row_d = [(s.label, s.kind, s.price_cents, s.pair_label) for s in flow.seat_map.seats if s.row == "D"]
    assert row_d == [
        ("D1", COUPLE, 3000, "D2"),
        ("D2", COUPLE, 3000, "D1"),
        ("D3", COUPLE, 3000, "D4"),
        ("D4", COUPLE, 3000, "D3"),
        ("D5", COUPLE, 3000, "D6"),
        ("D6", COUPLE, 3000, "D5"),
    ]
    assert example_rooms.draw(flow.seat_map.seats)[1:] == [
        "  A     1W  2C  3S  4S      5S  6S  7C  8W",
        "  B     1S  2S  3S  4S      5S  6S  7S  8S",
        "  C     1P  2P  3P  4P      5P  6P  7P  8P",
        "  D     1L  2R      3L  4R      5L  6R",
    ]


def test_a_half_ticket_costs_half_the_seat_and_the_total_is_the_sum(flow):
    reservation = flow.reservation
    assert reservation.status == booking_pb2.RESERVATION_STATUS_PENDING
    assert list(reservation.seat_labels) == ["C4", "C5", "D1", "D2"]
    assert priced(reservation.seats) == [
        ("C4", PREMIUM, FULL, 4000),
        ("C5", PREMIUM, HALF, 2000),
        ("D1", COUPLE, FULL, 3000),
        ("D2", COUPLE, FULL, 3000),
    ]
    assert (reservation.total_price_cents, reservation.currency) == (12000, "BRL")


def test_the_sale_keeps_each_seat_price(flow):
    sale = flow.sale
    assert sale.reservation_id == flow.reservation.reservation_id
    assert priced(sale.seats) == priced(flow.reservation.seats)
    assert (sale.amount_cents, sale.currency) == (12000, "BRL")
    assert sale.movie_title == "Filme Y"


def test_a_blocked_seat_reads_blocked_with_its_reason(flow):
    b5 = example_rooms.seat_of(flow.blocked, "B5")
    assert (b5.status, b5.block_reason) == (session_pb2.SEAT_STATUS_BLOCKED, "broken armrest")
    blocked = flow.blocked
    # 30 seats: 4 sold to alice, B5 blocked.
    counts = (blocked.available_count, blocked.held_count, blocked.sold_count, blocked.blocked_count)
    assert counts == (25, 0, 4, 1)


def test_reserving_a_blocked_seat_is_failed_precondition_for_that_seat(flow):
    refused = flow.refused
    assert refused.reservation is None
    assert refused.error.code == grpc.StatusCode.FAILED_PRECONDITION
    violations = [(v.type, v.subject) for v in refused.error.precondition_violations]
    assert violations == [("SEAT_UNAVAILABLE", "B5")]


def test_an_unblocked_seat_is_on_sale_again(flow):
    b5 = example_rooms.seat_of(flow.unblocked, "B5")
    assert (b5.status, b5.block_reason) == (session_pb2.SEAT_STATUS_AVAILABLE, "")
    assert flow.unblocked.blocked_count == 0
    assert priced(flow.bob.seats) == [("B5", STANDARD, FULL, 2500), ("B6", STANDARD, HALF, 1250)]
    assert flow.bob.total_price_cents == 3750


def test_half_of_an_odd_price_is_rounded_up_to_the_cent(config, channel):
    admin, alice = Client(channel, config.admin_token), Client(channel, config.alice_token)
    room = example_rooms.create_room(admin, name="Sala ímpar")
    odd = {STANDARD: 2555, PREMIUM: 3875, COUPLE: 3001}
    session = example_rooms.create_priced_session(admin, room, prices=odd)
    reservation = example_rooms.reserve(
        alice, session.session_id, ["A1", "B1", "C1", "D1", "D2"], half=["A1", "B1", "C1", "D1"]
    )
    assert priced(reservation.seats) == [
        ("A1", WHEELCHAIR, HALF, 1278),  # 2555 / 2 = 1277.5: the STANDARD price, halved
        ("B1", STANDARD, HALF, 1278),
        ("C1", PREMIUM, HALF, 1938),  # 3875 / 2 = 1937.5
        ("D1", COUPLE, HALF, 1501),  # 3001 / 2 = 1500.5
        ("D2", COUPLE, FULL, 3001),
    ]
    assert reservation.total_price_cents == 1278 + 1278 + 1938 + 1501 + 3001


def test_half_a_couple_seat_is_invalid_argument(config, channel):
    admin, alice = Client(channel, config.admin_token), Client(channel, config.alice_token)
    session = example_rooms.create_priced_session(admin, example_rooms.create_room(admin))
    with pytest.raises(grpc.RpcError) as caught:
        example_rooms.reserve(alice, session.session_id, ["D3"])
    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in details.field_violations] == ["seat_labels[0]"]
    assert "D4" in details.field_violations[0].description


def test_a_bad_layout_names_every_bad_row(config, channel):
    admin = Client(channel, config.admin_token)
    with pytest.raises(grpc.RpcError) as caught:
        # Row B has an unknown X, row "b" a lower-case label.
        rows = [("A", "SSSSSSSS_SSSSSSSS"), ("B", "SSXS"), ("b", "SSSS")]
        example_rooms.create_room(admin, name="Sala torta", rows=rows)
    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in details.field_violations] == ["rows[1].seats", "rows[2].label"]


def test_only_an_admin_creates_rooms_or_blocks_seats(config, channel):
    admin, alice = Client(channel, config.admin_token), Client(channel, config.alice_token)
    with pytest.raises(grpc.RpcError) as caught:
        example_rooms.create_room(alice)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    session = example_rooms.create_priced_session(admin, example_rooms.create_room(admin))
    with pytest.raises(grpc.RpcError) as caught:
        example_rooms.block_seats(alice, session.session_id, ["B5"], reason="mine")
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_the_rooms_example_runs_as_a_script(config):
    done = subprocess.run(
        [sys.executable, str(HERE / "example_rooms.py")],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    out = done.stdout
    assert "  C5  premium  half R$ 20,00" in out
    assert "  total R$ 120,00 BRL" in out
    assert "bob asks for B5 and B6: FAILED_PRECONDITION (SEAT_UNAVAILABLE B5)" in out
    assert "bob holds B5 and B6 (B6 half): B5 R$ 25,00, B6 R$ 12,50, total R$ 37,50" in out
