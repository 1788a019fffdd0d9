"""The box office end to end, from Python.

An admin publishes "Filme X" at 19:00 in São Paulo with 2 rows of 8 seats at
R$ 25,00; alice and bob click the same seat at the same moment and exactly one
of them gets it; the winner pays, reads their purchase history, and the
`payment.confirmed` event of that sale is read back from NATS JetStream and
decoded with the generated classes.

    clients/python/.venv/bin/python clients/python/example.py

Configuration (environment): CINEMA_ADDR (127.0.0.1:50051),
CINEMA_ADMIN_TOKEN, CINEMA_ALICE_TOKEN, CINEMA_BOB_TOKEN (required; mint them
with `cinema token --user alice`, `--admin` for the admin), NATS_URL
(nats://127.0.0.1:4222), CINEMA_EVENTS_STREAM (CINEMA),
CINEMA_EVENTS_SUBJECT_ROOT (cinema.events).

Each step is a function returning what it got, so tests/test_example.py can
check it; main() prints the story.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import grpc
import nats
from nats.js.api import ConsumerConfig, DeliverPolicy

from cinema_client import (
    Client,
    ErrorDetails,
    booking_pb2,
    connect,
    error_details,
    events_pb2,
    session_pb2,
)

# São Paulo has kept UTC-3 all year since 2019 (no daylight saving time), so a
# fixed offset needs no tz database on the machine.
SAO_PAULO = timezone(timedelta(hours=-3), "America/Sao_Paulo")


@dataclass(frozen=True)
class Config:
    addr: str
    admin_token: str
    alice_token: str
    bob_token: str
    nats_url: str
    events_stream: str
    events_subject_root: str

    @classmethod
    def from_env(cls) -> Config:
        missing = [
            name
            for name in ("CINEMA_ADMIN_TOKEN", "CINEMA_ALICE_TOKEN", "CINEMA_BOB_TOKEN")
            if not os.environ.get(name)
        ]
        if missing:
            raise SystemExit(
                f"set {', '.join(missing)} (tokens from `cinema token --user NAME [--admin]`)"
            )
        return cls(
            addr=os.environ.get("CINEMA_ADDR", "127.0.0.1:50051"),
            admin_token=os.environ["CINEMA_ADMIN_TOKEN"],
            alice_token=os.environ["CINEMA_ALICE_TOKEN"],
            bob_token=os.environ["CINEMA_BOB_TOKEN"],
            nats_url=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"),
            events_stream=os.environ.get("CINEMA_EVENTS_STREAM", "CINEMA"),
            events_subject_root=os.environ.get("CINEMA_EVENTS_SUBJECT_ROOT", "cinema.events"),
        )


def brl(cents: int) -> str:
    """2500 -> "R$ 25,00"."""
    return f"R$ {cents // 100},{cents % 100:02d}"


def next_showtime(now: datetime | None = None) -> datetime:
    """Today at 19:00 in São Paulo, or tomorrow if that is less than 5 minutes away."""
    now = now or datetime.now(timezone.utc)
    local = now.astimezone(SAO_PAULO)
    showtime = local.replace(hour=19, minute=0, second=0, microsecond=0)
    if showtime < local + timedelta(minutes=5):
        showtime += timedelta(days=1)
    return showtime


# --- 1. the admin publishes the session ----------------------------------------


def create_session(admin: Client, title: str = "Filme X") -> session_pb2.Session:
    request = session_pb2.CreateSessionRequest(
        movie_title=title,
        room="Sala 1",
        price_cents=2500,
        currency="BRL",
        rows=2,
        seats_per_row=8,
    )
    request.starts_at.FromDatetime(next_showtime())
    return admin.sessions.CreateSession(request, metadata=admin.auth, timeout=10)


# --- 2. two users, one seat, the same moment ------------------------------------


@dataclass
class Attempt:
    """One user's ReserveSeats: a reservation, or the error it got."""

    user: str
    reservation: booking_pb2.Reservation | None = None
    error: ErrorDetails | None = None


@dataclass
class Race:
    seat: str
    attempts: list[Attempt]

    @property
    def created(self) -> int:
        return sum(a.reservation is not None for a in self.attempts)

    @property
    def winner(self) -> Attempt | None:
        return next((a for a in self.attempts if a.reservation is not None), None)

    @property
    def losers(self) -> list[Attempt]:
        return [a for a in self.attempts if a.reservation is None]


def race_for_seat(addr: str, session_id: str, seat: str, tokens: dict[str, str]) -> Race:
    """Every user in `tokens` reserves `seat` at the same moment: one thread
    and one connection each (two customers on two devices), all released by
    one barrier once every connection is up, so the calls really overlap."""
    clients = {user: Client(connect(addr), token) for user, token in tokens.items()}
    attempts = {user: Attempt(user) for user in tokens}
    start = threading.Barrier(len(clients))

    def reserve(user: str) -> None:
        client = clients[user]
        request = booking_pb2.ReserveSeatsRequest(
            session_id=session_id, seat_labels=[seat], request_id=str(uuid.uuid4())
        )
        start.wait()
        try:
            attempts[user].reservation = client.booking.ReserveSeats(
                request, metadata=client.auth, timeout=10
            )
        except grpc.RpcError as error:
            attempts[user].error = error_details(error)

    threads = [threading.Thread(target=reserve, args=(user,)) for user in clients]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for client in clients.values():
            client.channel.close()
    return Race(seat=seat, attempts=[attempts[user] for user in tokens])


# --- 3. the winner pays and looks at their history -----------------------------


def pay(client: Client, reservation_id: str) -> booking_pb2.Sale:
    request = booking_pb2.ConfirmPaymentRequest(
        reservation_id=reservation_id,
        payment_reference=f"pix-{uuid.uuid4().hex[:12]}",
        request_id=str(uuid.uuid4()),
    )
    return client.booking.ConfirmPayment(request, metadata=client.auth, timeout=10)


def purchase_history(client: Client) -> list[booking_pb2.Sale]:
    """The first page of the caller's purchases, newest first."""
    response = client.booking.ListPurchases(
        booking_pb2.ListPurchasesRequest(page_size=10), metadata=client.auth, timeout=10
    )
    return list(response.sales)


# --- 4. the sale as an event on NATS JetStream ----------------------------------


@dataclass
class ReceivedEvent:
    subject: str
    headers: dict[str, str]
    event: events_pb2.PaymentConfirmed


async def find_payment_event(
    nats_url: str,
    stream: str,
    subject_root: str,
    reservation_id: str,
    timeout: float = 15.0,
    since: datetime | None = None,
) -> ReceivedEvent:
    """Reads `{subject_root}.payment.confirmed` from `stream` with an
    ephemeral ordered consumer (from `since`, else from the start of the
    stream) until the event of `reservation_id` shows up. The server's relay
    publishes events shortly after the commit, so this waits up to `timeout`
    seconds. Nothing is acknowledged or left behind: an ordered consumer
    needs no acks and goes away with the subscription."""
    subject = f"{subject_root}.payment.confirmed"
    if since is None:
        config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    else:
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=since)
    nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=2)
    try:
        js = nc.jetstream()
        sub = await js.subscribe(subject, stream=stream, ordered_consumer=True, config=config)
        deadline = time.monotonic() + timeout
        try:
            while (left := deadline - time.monotonic()) > 0:
                try:
                    msg = await sub.next_msg(timeout=left)
                except nats.errors.TimeoutError:
                    break
                event = events_pb2.PaymentConfirmed.FromString(msg.data)
                if event.reservation_id == reservation_id:
                    return ReceivedEvent(msg.subject, dict(msg.headers or {}), event)
        finally:
            await sub.unsubscribe()
    finally:
        await nc.close()
    raise TimeoutError(
        f"no {subject} event for reservation {reservation_id} in stream {stream} after {timeout:.0f} s"
    )


def payment_event(config: Config, reservation_id: str, **kwargs) -> ReceivedEvent:
    return asyncio.run(
        find_payment_event(
            config.nats_url, config.events_stream, config.events_subject_root, reservation_id, **kwargs
        )
    )


# --- the whole flow -------------------------------------------------------------


@dataclass
class Flow:
    session: session_pb2.Session
    race: Race
    sale: booking_pb2.Sale
    history: list[booking_pb2.Sale]
    event: ReceivedEvent


def describe(attempt: Attempt) -> str:
    if attempt.reservation is not None:
        r = attempt.reservation
        return f"reservation {r.reservation_id} for {', '.join(r.seat_labels)}, {brl(r.total_price_cents)}"
    error = attempt.error
    reasons = [f"{v.type} {v.subject}" for v in error.precondition_violations]
    return f"{error.code.name}" + (f" ({'; '.join(reasons)})" if reasons else "") + f": {error.message}"


def run_flow(config: Config, seat: str = "A1", log=lambda line: None) -> Flow:
    """Plays the whole story against the server of `config`; `log` receives
    one readable line per step."""
    started = datetime.now(timezone.utc)
    channel = connect(config.addr)
    try:
        admin = Client(channel, config.admin_token)
        session = create_session(admin)
        starts = session.starts_at.ToDatetime(tzinfo=timezone.utc).astimezone(SAO_PAULO)
        log(
            f"created session {session.session_id}: {session.movie_title!r} in {session.room}, "
            f"{starts:%Y-%m-%d %H:%M} São Paulo, {session.rows} rows x {session.seats_per_row} seats "
            f"({session.total_seats}), {brl(session.price_cents)} each"
        )

        tokens = {"alice": config.alice_token, "bob": config.bob_token}
        race = race_for_seat(config.addr, session.session_id, seat, tokens)
        log(f"alice and bob both reserve {seat} at the same moment")
        for attempt in race.attempts:
            log(f"  {attempt.user}: {describe(attempt)}")
        log(f"reservations created: {race.created}")
        winner = race.winner
        if winner is None:
            raise RuntimeError("nobody got the seat")

        client = Client(channel, tokens[winner.user])
        sale = pay(client, winner.reservation.reservation_id)
        log(
            f"{winner.user} paid: sale {sale.sale_id}, seats {', '.join(sale.seat_labels)}, "
            f"{brl(sale.amount_cents)} {sale.currency}, reference {sale.payment_reference}"
        )

        history = purchase_history(client)
        log(f"{winner.user}'s purchases, newest first ({len(history)} on the first page):")
        for past in history[:3]:
            log(
                f"  {past.paid_time.ToDatetime():%Y-%m-%d %H:%M:%S} UTC  {past.movie_title}  "
                f"{', '.join(past.seat_labels)}  {brl(past.amount_cents)}  sale {past.sale_id}"
            )
    finally:
        channel.close()

    # Start a minute early: the NATS server's clock is not ours.
    received = payment_event(
        config, sale.reservation_id, since=started - timedelta(minutes=1)
    )
    event = received.event
    log(
        f"event {received.subject} ({received.headers.get('Cinema-Event-Type', '?')}) decoded: "
        f"event_id {event.event_id}, sale {event.sale_id}, reservation {event.reservation_id}, "
        f"user {event.user_id}, seats {list(event.seat_labels)}, "
        f"{brl(event.amount_cents)} {event.currency}, reference {event.payment_reference}"
    )
    return Flow(session=session, race=race, sale=sale, history=history, event=received)


def main() -> int:
    config = Config.from_env()
    print(f"cinema at {config.addr}, events from {config.nats_url} stream {config.events_stream}")
    run_flow(config, log=print)
    return 0


if __name__ == "__main__":
    sys.exit(main())
