"""The example's flow against a live server, with exact outcomes.

Needs the environment example.py reads (tests/it/clients.rs sets it for a fresh
server): CINEMA_ADDR, CINEMA_ADMIN_TOKEN, CINEMA_ALICE_TOKEN,
CINEMA_BOB_TOKEN, NATS_URL, CINEMA_EVENTS_STREAM, CINEMA_EVENTS_SUBJECT_ROOT.
Every test works on sessions it creates itself.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import pytest

import example
from cinema_client import Client, booking_pb2, connect, error_details, session_pb2, session_stub, venue_pb2

HERE = Path(__file__).resolve().parent.parent


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
    """The whole story once, on its own session; the tests below read it."""
    return example.run_flow(config, seat="B4")


@pytest.fixture
def channel(config):
    channel = connect(config.addr)
    yield channel
    channel.close()


def test_the_session_is_filme_x_at_19h_with_16_seats_at_25_reais(flow):
    session = flow.session
    assert session.movie_title == "Filme X"
    assert (session.rows, session.seats_per_row, session.total_seats) == (2, 8, 16)
    assert (session.price_cents, session.currency) == (2500, "BRL")
    starts = session.starts_at.ToDatetime(tzinfo=example.SAO_PAULO)
    assert (starts.hour, starts.minute) == (19, 0)


def test_exactly_one_of_two_simultaneous_reservations_is_created(flow):
    race = flow.race
    assert [a.user for a in race.attempts] == ["alice", "bob"]
    assert race.created == 1
    winner, (loser,) = race.winner, race.losers
    assert list(winner.reservation.seat_labels) == ["B4"]
    assert winner.reservation.status == booking_pb2.RESERVATION_STATUS_PENDING
    assert winner.reservation.user_id == winner.user
    assert winner.reservation.total_price_cents == 2500
    assert loser.error.code in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ABORTED)
    if loser.error.code == grpc.StatusCode.FAILED_PRECONDITION:
        assert [(v.type, v.subject) for v in loser.error.precondition_violations] == [
            ("SEAT_UNAVAILABLE", "B4")
        ]


def test_the_winner_pays_for_exactly_that_seat(flow):
    reservation = flow.race.winner.reservation
    sale = flow.sale
    assert sale.reservation_id == reservation.reservation_id
    assert sale.session_id == flow.session.session_id
    assert sale.user_id == flow.race.winner.user
    assert list(sale.seat_labels) == ["B4"]
    assert (sale.amount_cents, sale.currency) == (2500, "BRL")
    assert sale.movie_title == "Filme X"
    assert sale.payment_reference.startswith("pix-")


def test_the_history_starts_with_that_sale(flow):
    assert flow.history, "the winner's history is empty"
    assert flow.history[0] == flow.sale
    assert [s.sale_id for s in flow.history].count(flow.sale.sale_id) == 1


def test_the_payment_confirmed_event_decodes_to_that_sale(flow, config):
    received, sale = flow.event, flow.sale
    event = received.event
    assert received.subject == f"{config.events_subject_root}.payment.confirmed"
    assert received.headers.get("Cinema-Event-Type") == "cinema.events.v1.PaymentConfirmed"
    assert received.headers.get("Nats-Msg-Id") == event.event_id
    assert event.reservation_id == sale.reservation_id
    assert event.sale_id == sale.sale_id
    assert event.session_id == flow.session.session_id
    assert event.user_id == sale.user_id
    assert list(event.seat_labels) == ["B4"]
    assert (event.amount_cents, event.currency) == (2500, "BRL")
    # Each seat with its kind, ticket type and price, as on the sale.
    assert [(s.label, s.kind, s.ticket_type, s.price_cents) for s in event.seats] == [
        ("B4", venue_pb2.SEAT_KIND_STANDARD, booking_pb2.TICKET_TYPE_FULL, 2500)
    ]
    assert list(event.seats) == list(sale.seats)
    assert event.payment_reference == sale.payment_reference


def test_no_seat_labels_is_invalid_argument_naming_the_field(config, channel):
    admin = Client(channel, config.admin_token)
    session = example.create_session(admin)
    alice = Client(channel, config.alice_token)
    with pytest.raises(grpc.RpcError) as caught:
        alice.booking.ReserveSeats(
            booking_pb2.ReserveSeatsRequest(session_id=session.session_id, seat_labels=[]),
            metadata=alice.auth,
            timeout=10,
        )
    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in details.field_violations] == ["seat_labels"]
    assert details.field_violations[0].description


def test_a_bad_session_names_every_bad_field(config, channel):
    admin = Client(channel, config.admin_token)
    with pytest.raises(grpc.RpcError) as caught:
        admin.sessions.CreateSession(
            session_pb2.CreateSessionRequest(movie_title="", rows=30), metadata=admin.auth, timeout=10
        )
    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    fields = {v.field for v in details.field_violations}
    assert {"movie_title", "rows"} <= fields


def test_a_taken_seat_is_failed_precondition_per_seat(config, channel):
    admin = Client(channel, config.admin_token)
    session = example.create_session(admin)
    alice, bob = Client(channel, config.alice_token), Client(channel, config.bob_token)
    alice.booking.ReserveSeats(
        booking_pb2.ReserveSeatsRequest(session_id=session.session_id, seat_labels=["A1", "A2"]),
        metadata=alice.auth,
        timeout=10,
    )
    with pytest.raises(grpc.RpcError) as caught:
        bob.booking.ReserveSeats(
            booking_pb2.ReserveSeatsRequest(
                session_id=session.session_id, seat_labels=["A2", "A3"], request_id=str(uuid.uuid4())
            ),
            metadata=bob.auth,
            timeout=10,
        )
    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.FAILED_PRECONDITION
    assert [(v.type, v.subject) for v in details.precondition_violations] == [("SEAT_UNAVAILABLE", "A2")]


def test_no_token_is_unauthenticated(config, channel):
    with pytest.raises(grpc.RpcError) as caught:
        session_stub(channel).ListSessions(session_pb2.ListSessionsRequest(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_the_example_runs_as_a_script(config):
    done = subprocess.run(
        [sys.executable, str(HERE / "example.py")],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    out = done.stdout
    assert "reservations created: 1" in out
    assert "created session" in out and "Filme X" in out
    assert "paid: sale" in out
    assert "payment.confirmed" in out and "decoded" in out
