"""Tickets, admission and refunds against a live server, with exact outcomes.

Needs the environment example.py reads plus CINEMA_USHER_TOKEN, a token
with the staff role (tests/it/clients.rs sets it for a fresh server). Every
test works on sessions it creates itself: "tonight" starts in 30 minutes
(admission is open, the buyer's refund window closed), "tomorrow" in a day
(admission not open yet, refunds open to the buyer).
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import pytest

import example
import example_tickets as tickets
from cinema_client import Client, booking_pb2, connect, session_pb2, ticket_pb2

HERE = Path(__file__).resolve().parent.parent

ADMITTED = ticket_pb2.ADMISSION_RESULT_ADMITTED
ALREADY_ADMITTED = ticket_pb2.ADMISSION_RESULT_ALREADY_ADMITTED
REFUNDED_SCAN = ticket_pb2.ADMISSION_RESULT_REFUNDED
INVALID = ticket_pb2.ADMISSION_RESULT_INVALID
NOT_YET_OPEN = ticket_pb2.ADMISSION_RESULT_NOT_YET_OPEN
VALID = booking_pb2.TICKET_STATUS_VALID
ADMITTED_TICKET = booking_pb2.TICKET_STATUS_ADMITTED
REFUNDED = booking_pb2.TICKET_STATUS_REFUNDED
FULL = booking_pb2.TICKET_TYPE_FULL
HALF = booking_pb2.TICKET_TYPE_HALF


@pytest.fixture(scope="module")
def config():
    names = ("CINEMA_ADMIN_TOKEN", "CINEMA_ALICE_TOKEN", "CINEMA_BOB_TOKEN", "CINEMA_USHER_TOKEN")
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        pytest.fail(f"these tests need a live server: set {', '.join(missing)} (see README.md)")
    return example.Config.from_env()


@pytest.fixture(scope="module")
def usher_token(config):
    return tickets.usher_token_from_env()


@pytest.fixture(scope="module")
def flow(config, usher_token):
    """The whole story once, in its own sessions; the tests below read it."""
    return tickets.run_tickets_flow(config, usher_token)


@pytest.fixture
def users(config, usher_token):
    channel = connect(config.addr)
    yield (
        Client(channel, config.admin_token),
        Client(channel, config.alice_token),
        Client(channel, config.bob_token),
        Client(channel, usher_token),
    )
    channel.close()


def statuses(sale):
    return [(t.seat_label, t.status) for t in sale.tickets]


def violations(result):
    assert result.value is None, f"expected a refusal, got {result.value}"
    assert result.error.code == grpc.StatusCode.FAILED_PRECONDITION, result.error
    return [(v.type, v.subject) for v in result.error.precondition_violations]


# --- the flow: tickets ----------------------------------------------------------


def test_a_sale_has_a_valid_ticket_per_seat_with_its_type(flow):
    sale = flow.sale
    assert [(t.seat_label, t.ticket_type, t.status) for t in sale.tickets] == [
        ("A1", FULL, VALID),
        ("A2", FULL, VALID),
        ("A3", HALF, VALID),
    ]
    assert (sale.amount_cents, sale.refunded_cents) == (6250, 0)
    assert all(t.sale_id == sale.sale_id and t.session_id == sale.session_id for t in sale.tickets)
    assert len({t.ticket_id for t in sale.tickets}) == 3


def test_each_code_is_107_base64url_characters_naming_its_ticket(flow):
    assert flow.code_ids == [t.ticket_id for t in flow.sale.tickets]
    assert len({t.code for t in flow.sale.tickets}) == 3


def test_a_malformed_code_is_not_a_code():
    for bad in ["", "A" * 106, "A" * 108, "+" * 107, "A" * 106 + "="]:
        with pytest.raises(ValueError):
            tickets.code_ticket_id(bad)


def test_get_ticket_returns_the_buyers_ticket(flow):
    a1 = flow.sale.tickets[0]
    assert flow.fetched.ticket_id == a1.ticket_id
    assert (flow.fetched.seat_label, flow.fetched.status, flow.fetched.code) == ("A1", VALID, a1.code)


# --- the flow: admission --------------------------------------------------------


def test_a_ticket_is_admitted_once_then_already_admitted_at_the_first_gate(flow):
    first, second = flow.scans
    assert first.result == ADMITTED
    assert second.result == ALREADY_ADMITTED
    for scan in (first, second):
        assert scan.ticket.ticket_id == flow.sale.tickets[0].ticket_id
        assert scan.ticket.status == ADMITTED_TICKET
        assert scan.first_gate == "door-1"
    assert second.first_admit_time == first.first_admit_time


def test_an_edited_code_is_invalid_with_no_ticket(flow):
    assert flow.forged.result == INVALID
    assert not flow.forged.HasField("ticket")


def test_only_staff_admit(flow):
    assert flow.self_scan.error.code == grpc.StatusCode.PERMISSION_DENIED


def test_admission_is_not_yet_open_a_day_before(flow):
    scan = flow.early_scan
    assert scan.result == NOT_YET_OPEN
    assert (scan.ticket.seat_label, scan.ticket.status) == ("B1", VALID)
    assert not scan.first_gate


def test_a_refunded_ticket_scans_refunded(flow):
    scan = flow.refunded_scan
    assert scan.result == REFUNDED_SCAN
    assert (scan.ticket.seat_label, scan.ticket.status) == ("A3", REFUNDED)


# --- the flow: refunds ----------------------------------------------------------


def test_the_buyer_cannot_refund_within_two_hours_of_the_start(flow):
    assert violations(flow.late) == [("REFUND_WINDOW_CLOSED", flow.sale.sale_id)]


def test_an_admin_refunds_one_seat_and_it_is_on_sale_again(flow):
    assert flow.partial.refunded_cents == 1250  # A3's HALF price
    assert statuses(flow.partial) == [("A1", ADMITTED_TICKET), ("A2", VALID), ("A3", REFUNDED)]
    assert flow.a3.status == session_pb2.SEAT_STATUS_AVAILABLE


def test_an_admitted_ticket_is_never_refunded(flow):
    assert violations(flow.admitted) == [("TICKET_ADMITTED", "A1")]


def test_a_partial_refund_then_the_rest_then_already_refunded(flow):
    assert flow.bob_sale.amount_cents == 7500
    assert flow.bob_partial.refunded_cents == 2500
    assert statuses(flow.bob_partial) == [("B1", REFUNDED), ("B2", VALID), ("B3", VALID)]
    assert flow.bob_rest.refunded_cents == 7500
    assert statuses(flow.bob_rest) == [("B1", REFUNDED), ("B2", REFUNDED), ("B3", REFUNDED)]
    assert violations(flow.again) == [("ALREADY_REFUNDED", "B1")]


# --- more -----------------------------------------------------------------------


def test_tickets_are_read_by_their_buyer_and_staff_only(users):
    admin, alice, bob, usher = users
    session = tickets.create_session_at(admin, tickets.in_minutes(24 * 60))
    ticket = tickets.buy(alice, session.session_id, ["A1"]).tickets[0]
    for reader in (alice, usher, admin):
        assert tickets.get_ticket(reader, ticket.ticket_id).code == ticket.code
    refused = tickets.outcome(lambda: tickets.get_ticket(bob, ticket.ticket_id))
    assert refused.error.code == grpc.StatusCode.PERMISSION_DENIED
    unknown = tickets.outcome(lambda: tickets.get_ticket(alice, str(uuid.uuid4())))
    assert unknown.error.code == grpc.StatusCode.NOT_FOUND


def test_a_retried_refund_refunds_once(users):
    admin, alice, _, _ = users
    session = tickets.create_session_at(admin, tickets.in_minutes(24 * 60))
    sale = tickets.buy(alice, session.session_id, ["B4", "B5"])
    request_id = str(uuid.uuid4())
    first = tickets.refund(alice, sale.sale_id, ["B4"], request_id=request_id)
    again = tickets.refund(alice, sale.sale_id, ["B4"], request_id=request_id)
    assert first.refunded_cents == again.refunded_cents == 2500
    assert statuses(again) == [("B4", REFUNDED), ("B5", VALID)]


def test_a_refunded_seat_is_sold_again_with_a_new_ticket(users):
    admin, alice, bob, usher = users
    session = tickets.create_session_at(admin, tickets.in_minutes(30))
    sale = tickets.buy(alice, session.session_id, ["A5"])
    tickets.refund(admin, sale.sale_id, ["A5"])
    resold = tickets.buy(bob, session.session_id, ["A5"]).tickets[0]
    assert resold.ticket_id != sale.tickets[0].ticket_id
    assert tickets.admit(usher, resold.code, "door-1").result == ADMITTED
    assert tickets.admit(usher, sale.tickets[0].code, "door-1").result == REFUNDED_SCAN


def test_someone_elses_sale_is_not_refunded(users):
    admin, alice, bob, _ = users
    session = tickets.create_session_at(admin, tickets.in_minutes(24 * 60))
    sale = tickets.buy(alice, session.session_id, ["A7"])
    refused = tickets.outcome(lambda: tickets.refund(bob, sale.sale_id))
    assert refused.error.code == grpc.StatusCode.PERMISSION_DENIED


def test_the_tickets_example_runs_as_a_script(config):
    done = subprocess.run(
        [sys.executable, str(HERE / "example_tickets.py")],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    out = done.stdout
    assert "usher scans A1 at door-1: ADMITTED (first at door-1, " in out
    assert "usher scans A1 at door-2: ALREADY_ADMITTED (first at door-1, " in out
    assert "admin refunds A3: R$ 12,50 of R$ 62,50 refunded; A1 ADMITTED, A2 VALID, A3 REFUNDED" in out
    assert "admin refunds the rest: FAILED_PRECONDITION (TICKET_ADMITTED A1)" in out
    assert "usher scans B1 today: NOT_YET_OPEN" in out
    assert "bob refunds B1 again: FAILED_PRECONDITION (ALREADY_REFUNDED B1)" in out
