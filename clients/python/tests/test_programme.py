"""The programme against a live server, with exact outcomes: movies, shows
that never share a room, filtered session lists and cancellations.

Needs the environment example.py reads (tests/it/clients.rs sets it for a
fresh server, whose turnaround is the default 15 minutes). Every test works
on movies, rooms and shows it creates itself, named with a tag of its own;
lists that other tests' sessions may join are read for this test's rooms or
movies only.
"""

import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc
import pytest

import example
import example_programme as programme
from cinema_client import Client, booking_pb2, connect, error_details, movie_pb2, session_pb2
from example_rooms import SALA_2, create_room
from example_tickets import buy, outcome

HERE = Path(__file__).resolve().parent.parent
TURNAROUND = timedelta(minutes=15)
SCHEDULED = session_pb2.SESSION_STATE_SCHEDULED
CANCELLED = session_pb2.SESSION_STATE_CANCELLED
REFUNDED = booking_pb2.TICKET_STATUS_REFUNDED


@pytest.fixture(scope="module")
def config():
    names = ("CINEMA_ADMIN_TOKEN", "CINEMA_ALICE_TOKEN", "CINEMA_BOB_TOKEN")
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        pytest.fail(f"these tests need a live server: set {', '.join(missing)} (see README.md)")
    return example.Config.from_env()


@pytest.fixture(scope="module")
def flow(config):
    """The whole story once, in its own movies, rooms and shows."""
    return programme.run_programme_flow(config)


@pytest.fixture
def users(config):
    channel = connect(config.addr)
    yield (
        Client(channel, config.admin_token),
        Client(channel, config.alice_token),
        Client(channel, config.bob_token),
    )
    channel.close()


def at(timestamp) -> datetime:
    return timestamp.ToDatetime(tzinfo=timezone.utc)


def violations(result):
    assert result.value is None, f"expected a refusal, got {result.value}"
    assert result.error.code == grpc.StatusCode.FAILED_PRECONDITION, result.error
    return [(v.type, v.subject) for v in result.error.precondition_violations]


def movie_and_room(admin, minutes=100):
    """A movie `minutes` long and a room, both new."""
    tag = uuid.uuid4().hex[:6]
    movie = programme.create_movie(admin, f"Filme T {tag}", minutes, movie_pb2.AGE_RATING_16)
    return movie, create_room(admin, f"Sala T {tag}", SALA_2)


def in_days(days: int) -> datetime:
    """`days` from now, to the second."""
    return (datetime.now(timezone.utc) + timedelta(days=days)).replace(microsecond=0)


# --- movies ---------------------------------------------------------------------


def test_movies_keep_their_running_time_rating_and_synopsis(flow):
    x, y = flow.movies
    assert (x.title, x.duration.seconds, x.duration.nanos, x.rating) == (
        f"Filme X {flow.tag}",
        110 * 60,
        0,
        movie_pb2.AGE_RATING_12,
    )
    assert (y.title, y.duration.seconds, y.rating) == (f"Filme Y {flow.tag}", 95 * 60, movie_pb2.AGE_RATING_L)
    assert y.synopsis == "A family drives the coast road to Paraty."
    assert flow.fetched == x


def test_a_bad_movie_names_every_field(users):
    admin, alice, _ = users
    request = movie_pb2.CreateMovieRequest(title=" ", synopsis="s" * 2001)
    request.duration.FromTimedelta(timedelta(seconds=59))
    with pytest.raises(grpc.RpcError) as refused:
        admin.movies.CreateMovie(request, metadata=admin.auth, timeout=10)
    details = error_details(refused.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in details.field_violations] == ["title", "duration", "rating", "synopsis"]
    only_admins = outcome(lambda: programme.create_movie(alice, "Filme A", 90, movie_pb2.AGE_RATING_L))
    assert only_admins.error.code == grpc.StatusCode.PERMISSION_DENIED
    unknown = outcome(lambda: programme.get_movie(alice, str(uuid.uuid4())))
    assert unknown.error.code == grpc.StatusCode.NOT_FOUND


# --- shows and their rooms ------------------------------------------------------


def test_a_show_takes_its_movies_title_and_rating_and_its_room_until_the_turnaround(flow):
    x, y = flow.movies
    sala_1, sala_2 = flow.rooms
    seven_pm = at(flow.shows[0].starts_at)
    expected = [
        (x, sala_1, seven_pm),
        (y, sala_2, seven_pm + timedelta(minutes=30)),
        (x, sala_1, seven_pm + timedelta(hours=2, minutes=30)),
    ]
    assert seven_pm.astimezone(example.SAO_PAULO).strftime("%H:%M") == "19:00"
    for show, (movie, room, starts) in zip(flow.shows, expected):
        assert (show.movie_id, show.movie_title, show.rating) == (movie.movie_id, movie.title, movie.rating)
        assert (show.room_id, show.room) == (room.room_id, room.name)
        assert at(show.starts_at) == starts
        assert at(show.ends_at) == starts + timedelta(seconds=movie.duration.seconds) + TURNAROUND
        assert (show.state, show.cancel_reason) == (SCHEDULED, "")


def test_a_show_overlapping_another_in_its_room_is_room_busy(flow):
    assert violations(flow.clash) == [("ROOM_BUSY", flow.shows[0].session_id)]


def test_a_show_may_start_exactly_when_the_room_is_free_and_in_a_cancelled_ones_time(users):
    admin, _, _ = users
    movie, room = movie_and_room(admin)
    first = programme.create_show(admin, movie, room, in_days(3))
    free = at(first.ends_at)
    assert free - at(first.starts_at) == timedelta(minutes=100) + TURNAROUND
    early = outcome(lambda: programme.create_show(admin, movie, room, free - timedelta(seconds=1)))
    assert violations(early) == [("ROOM_BUSY", first.session_id)]
    before = outcome(lambda: programme.create_show(admin, movie, room, at(first.starts_at) - timedelta(minutes=100)))
    assert violations(before) == [("ROOM_BUSY", first.session_id)]
    second = programme.create_show(admin, movie, room, free)
    assert at(second.starts_at) == free
    # A cancelled show takes no time: its slot can be given again.
    programme.cancel_session(admin, first.session_id, "moved")
    again = programme.create_show(admin, movie, room, at(first.starts_at))
    assert (again.state, at(again.ends_at)) == (SCHEDULED, free)


# --- finding sessions -----------------------------------------------------------


def test_whats_on_tonight_lists_the_evenings_shows_by_start_with_their_rating(flow):
    shows = [
        (programme.local(s.starts_at).strftime("%H:%M"), s.movie_title, programme.rating_name(s.rating), s.room)
        for s in programme.ours(flow.tonight, flow.rooms)
    ]
    tag = flow.tag
    assert shows == [
        ("19:00", f"Filme X {tag}", "12", f"Sala 1 {tag}"),
        ("19:30", f"Filme Y {tag}", "L", f"Sala 2 {tag}"),
        ("21:30", f"Filme X {tag}", "12", f"Sala 1 {tag}"),
    ]
    day = programme.local(flow.shows[0].starts_at).replace(hour=0, minute=0)
    assert all(
        day + timedelta(hours=18) <= programme.local(s.starts_at) < day + timedelta(days=1) and s.available_seats > 0
        for s in flow.tonight
    )
    starts = [at(s.starts_at) for s in flow.tonight]
    assert starts == sorted(starts)


def test_when_a_movie_plays_lists_exactly_its_shows(flow):
    assert [s.session_id for s in flow.playing] == [flow.shows[0].session_id, flow.shows[2].session_id]


def test_a_room_and_a_time_window_narrow_the_list(users):
    admin, alice, _ = users
    movie, room = movie_and_room(admin)
    starts = [in_days(4) + timedelta(hours=3 * i) for i in range(3)]
    shows = [programme.create_show(admin, movie, room, s) for s in starts]
    ids = [s.session_id for s in shows]
    in_room = programme.list_sessions(alice, room_id=room.room_id)
    assert [s.session_id for s in in_room] == ids
    window = programme.list_sessions(alice, room_id=room.room_id, starts_after=starts[1], starts_before=starts[2])
    assert [s.session_id for s in window] == [ids[1]]  # starts_after inclusive, starts_before exclusive
    empty = outcome(
        lambda: programme.list_sessions(alice, starts_after=starts[1], starts_before=starts[1])
    )
    assert empty.error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in empty.error.field_violations] == ["starts_before"]


def test_a_page_token_is_good_only_with_the_filters_that_made_it(users):
    admin, alice, _ = users
    movie, room = movie_and_room(admin)
    shows = [programme.create_show(admin, movie, room, in_days(5) + timedelta(hours=3 * i)) for i in range(3)]
    request = session_pb2.ListSessionsRequest(page_size=2, movie_id=movie.movie_id)
    first = alice.sessions.ListSessions(request, metadata=alice.auth, timeout=10)
    assert len(first.sessions) == 2 and first.next_page_token
    request.page_token = first.next_page_token
    rest = alice.sessions.ListSessions(request, metadata=alice.auth, timeout=10)
    assert [s.session_id for s in [*first.sessions, *rest.sessions]] == [s.session_id for s in shows]
    assert not rest.next_page_token
    request.room_id = room.room_id
    refused = outcome(lambda: alice.sessions.ListSessions(request, metadata=alice.auth, timeout=10))
    assert refused.error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in refused.error.field_violations] == ["page_token"]


# --- cancellations --------------------------------------------------------------


def test_a_cancelled_show_refunds_every_sale_in_full(flow):
    late = flow.shows[2]
    assert (flow.cancelled.session_id, flow.cancelled.state, flow.cancelled.cancel_reason) == (
        late.session_id,
        CANCELLED,
        "projector broken",
    )
    assert flow.cancelled.available_seats == 0
    assert (flow.sale.amount_cents, flow.refunded.refunded_cents) == (5000, 5000)
    assert [(t.seat_label, t.status) for t in flow.refunded.tickets] == [("B3", REFUNDED), ("B4", REFUNDED)]


def test_a_cancelled_show_sells_nothing_and_leaves_whats_on(flow):
    late = flow.shows[2].session_id
    assert violations(flow.refused) == [("SESSION_CANCELLED", late)]
    assert [s.session_id for s in programme.ours(flow.tonight_after, flow.rooms)] == [
        flow.shows[0].session_id,
        flow.shows[1].session_id,
    ]
    assert [(s.session_id, s.state, s.cancel_reason) for s in flow.playing_after] == [
        (flow.shows[0].session_id, SCHEDULED, ""),
        (late, CANCELLED, "projector broken"),
    ]


def test_cancelling_again_returns_the_session_as_it_is(flow):
    assert flow.again == flow.cancelled


def test_every_seat_of_a_cancelled_show_is_blocked_with_the_reason(users):
    admin, alice, bob = users
    movie, room = movie_and_room(admin)
    show = programme.create_show(admin, movie, room, in_days(6))
    sale = buy(bob, show.session_id, ["A3"])
    programme.cancel_session(admin, show.session_id, "flooded")
    seats = alice.sessions.GetSeatMap(
        session_pb2.GetSeatMapRequest(session_id=show.session_id), metadata=alice.auth, timeout=10
    )
    assert {(s.status, s.block_reason) for s in seats.seats} == {
        (session_pb2.SEAT_STATUS_BLOCKED, "session cancelled: flooded")
    }
    assert programme.find_sale(bob, sale.sale_id).refunded_cents == 2500


def test_only_admins_cancel(users):
    admin, alice, _ = users
    movie, room = movie_and_room(admin)
    show = programme.create_show(admin, movie, room, in_days(7))
    refused = outcome(lambda: programme.cancel_session(alice, show.session_id, "no"))
    assert refused.error.code == grpc.StatusCode.PERMISSION_DENIED
    blank = outcome(lambda: programme.cancel_session(admin, show.session_id, " "))
    assert blank.error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in blank.error.field_violations] == ["reason"]


def test_a_started_show_is_neither_cancelled_nor_sold(users):
    admin, alice, _ = users
    movie, room = movie_and_room(admin)
    show = programme.create_show(admin, movie, room, datetime.now(timezone.utc) + timedelta(seconds=2))
    time.sleep(2.5)
    started = [("SESSION_STARTED", show.session_id)]
    assert violations(outcome(lambda: programme.cancel_session(admin, show.session_id, "late"))) == started
    assert violations(outcome(lambda: buy(alice, show.session_id, ["A3"]))) == started


def test_the_programme_example_runs_as_a_script(config):
    done = subprocess.run(
        [sys.executable, str(HERE / "example_programme.py")],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    out = done.stdout
    assert " at 20:00 in Sala 1 " in out and ": FAILED_PRECONDITION (ROOM_BUSY " in out
    assert "admin cancels the 21:30 show: CANCELLED (projector broken)" in out
    assert "bob's sale: R$ 50,00 of R$ 50,00 refunded; B3 REFUNDED, B4 REFUNDED" in out
    assert "alice asks for B5 at 21:30: FAILED_PRECONDITION (SESSION_CANCELLED " in out
