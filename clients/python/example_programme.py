"""The programme, from Python: movies, shows that never share a room, what's
on tonight, and a cancelled show that refunds its buyers.

An admin adds two movies ("Filme X", 1h50, rated 12; "Filme Y", 1h35, rated
L) and two rooms, and publishes tonight's programme in São Paulo: Filme X at
19:00 and 21:30 in Sala 1, Filme Y at 19:30 in Sala 2. A show takes its
movie's title and rating, and its room from its start until the movie ends
plus the turnaround (CINEMA_TURNAROUND, 15 minutes by default): Filme X at
19:00 holds Sala 1 until 21:05, so Filme Y at 20:00 there is refused
(ROOM_BUSY, naming the 19:00 show). alice asks what's on tonight with seats
left, and when Filme X plays. bob buys two seats for Filme X at 21:30; the
projector breaks and the admin cancels that show: bob's sale is refunded in
full, alice is refused a seat there (SESSION_CANCELLED), the show leaves
what's on, and cancelling it again changes nothing.

Every name carries a tag of the run ("Filme X 3fa2c1", "Sala 1 3fa2c1"), so
runs against one server stay apart. "Tonight" is the evening ahead in São
Paulo (tomorrow's once 19:00 is less than 5 minutes away).

    clients/python/.venv/bin/python clients/python/example_programme.py

Same environment as example.py (CINEMA_ADDR, CINEMA_ADMIN_TOKEN,
CINEMA_ALICE_TOKEN, CINEMA_BOB_TOKEN; NATS is not used).

Each step is a function returning what it got, so tests/test_programme.py
can check it; main() prints the story.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from cinema_client import Client, booking_pb2, connect, movie_pb2, session_pb2, venue_pb2
from example import SAO_PAULO, Config, brl, next_showtime
from example_rooms import PRICES, SALA_2, create_room
from example_tickets import Outcome, buy, describe_outcome, outcome, ticket_status

# --- movies ---------------------------------------------------------------------


def create_movie(admin: Client, title: str, minutes: int, rating: int, synopsis: str = "") -> movie_pb2.Movie:
    """MovieService.CreateMovie (admin only): the running time in whole
    seconds (1 minute to 6 hours) and a required age rating. Every bad field
    is named at once (INVALID_ARGUMENT)."""
    request = movie_pb2.CreateMovieRequest(title=title, rating=rating, synopsis=synopsis)
    request.duration.FromTimedelta(timedelta(minutes=minutes))
    return admin.movies.CreateMovie(request, metadata=admin.auth, timeout=10)


def get_movie(client: Client, movie_id: str) -> movie_pb2.Movie:
    request = movie_pb2.GetMovieRequest(movie_id=movie_id)
    return client.movies.GetMovie(request, metadata=client.auth, timeout=10)


def rating_name(rating: int) -> str:
    """AGE_RATING_12 -> "12"; a session without a movie has none: "-"."""
    if rating == movie_pb2.AGE_RATING_UNSPECIFIED:
        return "-"
    return movie_pb2.AgeRating.Name(rating).removeprefix("AGE_RATING_")


def running_time(movie: movie_pb2.Movie) -> str:
    """`1h50`."""
    minutes = movie.duration.seconds // 60
    return f"{minutes // 60}h{minutes % 60:02d}"


# --- shows ----------------------------------------------------------------------


def create_show(admin: Client, movie: movie_pb2.Movie, room: venue_pb2.Room, starts_at: datetime) -> session_pb2.Session:
    """CreateSession with `movie_id` and `room_id`: the session shows the
    movie's title and rating, and takes the room until `ends_at` (the movie's
    end plus the turnaround). Overlapping another scheduled show of the room
    is FAILED_PRECONDITION, ROOM_BUSY, subject that show."""
    request = session_pb2.CreateSessionRequest(
        movie_id=movie.movie_id,
        room_id=room.room_id,
        currency="BRL",
        prices=[session_pb2.KindPrice(kind=kind, price_cents=cents) for kind, cents in PRICES.items()],
    )
    request.starts_at.FromDatetime(starts_at)
    return admin.sessions.CreateSession(request, metadata=admin.auth, timeout=10)


def list_sessions(
    client: Client,
    movie_id: str = "",
    room_id: str = "",
    starts_after: datetime | None = None,
    starts_before: datetime | None = None,
    only_with_seats: bool = False,
) -> list[session_pb2.Session]:
    """SessionService.ListSessions with its filters, every page (a page
    token is good only with the filters that made it), by start time."""
    request = session_pb2.ListSessionsRequest(
        page_size=100, movie_id=movie_id, room_id=room_id, only_with_seats=only_with_seats
    )
    if starts_after is not None:
        request.starts_after.FromDatetime(starts_after)
    if starts_before is not None:
        request.starts_before.FromDatetime(starts_before)
    sessions: list[session_pb2.Session] = []
    while True:
        page = client.sessions.ListSessions(request, metadata=client.auth, timeout=10)
        sessions += page.sessions
        if not page.next_page_token:
            return sessions
        request.page_token = page.next_page_token


def whats_on(client: Client, evening: datetime) -> list[session_pb2.Session]:
    """The sessions of the evening of `evening` (18:00 to midnight in São
    Paulo) that still have a seat on sale."""
    day = evening.astimezone(SAO_PAULO).replace(hour=0, minute=0, second=0, microsecond=0)
    return list_sessions(
        client,
        starts_after=day + timedelta(hours=18),
        starts_before=day + timedelta(days=1),
        only_with_seats=True,
    )


def cancel_session(admin: Client, session_id: str, reason: str, request_id: str | None = None) -> session_pb2.Session:
    """SessionService.CancelSession (admin only): pending holds cancelled,
    every sale refunded in full, every seat BLOCKED; the session comes back
    CANCELLED. Cancelling it again returns it as it is; one that has started
    is FAILED_PRECONDITION, SESSION_STARTED."""
    request = session_pb2.CancelSessionRequest(
        session_id=session_id, reason=reason, request_id=request_id or str(uuid.uuid4())
    )
    return admin.sessions.CancelSession(request, metadata=admin.auth, timeout=10)


def find_sale(client: Client, sale_id: str) -> booking_pb2.Sale:
    """One of the caller's sales, from ListPurchases (newest first, paged)."""
    request = booking_pb2.ListPurchasesRequest(page_size=50)
    while True:
        page = client.booking.ListPurchases(request, metadata=client.auth, timeout=10)
        for sale in page.sales:
            if sale.sale_id == sale_id:
                return sale
        if not page.next_page_token:
            raise LookupError(f"sale {sale_id} is not among the caller's purchases")
        request.page_token = page.next_page_token


# --- printing -------------------------------------------------------------------


def local(timestamp) -> datetime:
    """A protobuf Timestamp in São Paulo time."""
    return timestamp.ToDatetime(tzinfo=timezone.utc).astimezone(SAO_PAULO)


def describe_show(session: session_pb2.Session) -> str:
    """`19:00  Filme X 3fa2c1  12  Sala 1 3fa2c1`."""
    return f"{local(session.starts_at):%H:%M}  {session.movie_title}  {rating_name(session.rating)}  {session.room}"


def state_name(state: int) -> str:
    """SESSION_STATE_CANCELLED -> "CANCELLED"."""
    return session_pb2.SessionState.Name(state).removeprefix("SESSION_STATE_")


# --- the whole flow -------------------------------------------------------------


@dataclass
class ProgrammeFlow:
    tag: str  # in every name of this run
    movies: list[movie_pb2.Movie]  # Filme X, Filme Y
    fetched: movie_pb2.Movie  # GetMovie of Filme X
    rooms: list[venue_pb2.Room]  # Sala 1, Sala 2
    shows: list[session_pb2.Session]  # X 19:00 Sala 1, Y 19:30 Sala 2, X 21:30 Sala 1
    clash: Outcome  # Filme Y at 20:00 in Sala 1
    tonight: list[session_pb2.Session]  # what's on tonight, with seats left
    playing: list[session_pb2.Session]  # when Filme X plays
    sale: booking_pb2.Sale  # bob's B3 and B4 at 21:30
    cancelled: session_pb2.Session  # the 21:30 show, cancelled
    refunded: booking_pb2.Sale  # bob's sale after it
    refused: Outcome  # alice asking for B5 at 21:30 after it
    tonight_after: list[session_pb2.Session]  # what's on tonight after it
    playing_after: list[session_pb2.Session]  # when Filme X plays after it
    again: session_pb2.Session  # cancelling the 21:30 show again


def run_programme_flow(config: Config, log=lambda line: None) -> ProgrammeFlow:
    """Plays the story against the server of `config`; `log` receives one
    readable line per step."""
    tag = uuid.uuid4().hex[:6]
    channel = connect(config.addr)
    try:
        admin = Client(channel, config.admin_token)
        alice = Client(channel, config.alice_token)
        bob = Client(channel, config.bob_token)

        # 1. The catalogue and the rooms.
        movies = [
            create_movie(admin, f"Filme X {tag}", 110, movie_pb2.AGE_RATING_12, "One last heist on the Avenida Paulista."),
            create_movie(admin, f"Filme Y {tag}", 95, movie_pb2.AGE_RATING_L, "A family drives the coast road to Paraty."),
        ]
        for movie in movies:
            log(f"created movie {movie.movie_id}: {movie.title}, {running_time(movie)}, rated {rating_name(movie.rating)}")
        fetched = get_movie(alice, movies[0].movie_id)
        rooms = [create_room(admin, f"Sala {n} {tag}", SALA_2) for n in (1, 2)]
        log(f"created rooms {rooms[0].name} and {rooms[1].name}, {rooms[0].seat_count} seats each")

        # 2. Tonight's programme: no two shows of a room overlap.
        seven_pm = next_showtime()
        x, y = movies
        sala_1, sala_2 = rooms
        shows = [
            create_show(admin, x, sala_1, seven_pm),
            create_show(admin, y, sala_2, seven_pm + timedelta(minutes=30)),
            create_show(admin, x, sala_1, seven_pm + timedelta(hours=2, minutes=30)),
        ]
        for show in shows:
            log(f"published {describe_show(show)}, the room free again at {local(show.ends_at):%H:%M}")
        clash = outcome(lambda: create_show(admin, y, sala_1, seven_pm + timedelta(hours=1)))
        log(f"{y.title} at 20:00 in {sala_1.name}: {describe_outcome(clash, describe_show)}")

        # 3. What alice finds: tonight's sessions with seats left, and Filme X's.
        tonight = whats_on(alice, seven_pm)
        log(f"what's on tonight, {seven_pm:%Y-%m-%d}, with seats left ({len(tonight)} sessions):")
        for session in tonight:
            log(f"  {describe_show(session)}")
        playing = list_sessions(alice, movie_id=x.movie_id)
        log(f"when {x.title} plays: " + ", ".join(f"{local(s.starts_at):%H:%M} in {s.room}" for s in playing))

        # 4. bob buys for 21:30; the projector breaks and the show is cancelled.
        late = shows[2]
        sale = buy(bob, late.session_id, ["B3", "B4"])
        log(f"bob bought {', '.join(sale.seat_labels)} for 21:30: sale {sale.sale_id}, {brl(sale.amount_cents)}")
        cancelled = cancel_session(admin, late.session_id, "projector broken")
        log(f"admin cancels the 21:30 show: {state_name(cancelled.state)} ({cancelled.cancel_reason})")
        refunded = find_sale(bob, sale.sale_id)
        tickets = ", ".join(f"{t.seat_label} {ticket_status(t.status)}" for t in refunded.tickets)
        log(f"bob's sale: {brl(refunded.refunded_cents)} of {brl(refunded.amount_cents)} refunded; {tickets}")
        refused = outcome(lambda: buy(alice, late.session_id, ["B5"]))
        log(f"alice asks for B5 at 21:30: {describe_outcome(refused, lambda s: s.sale_id)}")
        tonight_after = whats_on(alice, seven_pm)
        log(f"what's on tonight now: {len(tonight_after)} sessions, the 21:30 {x.title} no more")
        playing_after = list_sessions(alice, movie_id=x.movie_id)
        log(
            f"when {x.title} plays now: "
            + ", ".join(f"{local(s.starts_at):%H:%M} {state_name(s.state)}" for s in playing_after)
        )
        again = cancel_session(admin, late.session_id, "projector broken")
        log(f"admin cancels it again: {state_name(again.state)} ({again.cancel_reason}), nothing refunded twice")
    finally:
        channel.close()
    return ProgrammeFlow(
        tag=tag,
        movies=movies,
        fetched=fetched,
        rooms=rooms,
        shows=shows,
        clash=clash,
        tonight=tonight,
        playing=playing,
        sale=sale,
        cancelled=cancelled,
        refunded=refunded,
        refused=refused,
        tonight_after=tonight_after,
        playing_after=playing_after,
        again=again,
    )


def ours(sessions: Sequence[session_pb2.Session], rooms: Sequence[venue_pb2.Room]) -> list[session_pb2.Session]:
    """The sessions of `rooms` among `sessions`, in their order."""
    ids = {room.room_id for room in rooms}
    return [s for s in sessions if s.room_id in ids]


def main() -> int:
    config = Config.from_env()
    print(f"cinema at {config.addr}")
    flow = run_programme_flow(config, log=print)
    if flow.clash.error is None or flow.refused.error is None:
        print("unexpected: an overlapping show, or a seat of a cancelled one, was accepted")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
