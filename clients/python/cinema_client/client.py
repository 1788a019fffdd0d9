"""Channel, stubs, the bearer token, and the google.rpc details of errors."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from cinema.v1 import (
    booking_pb2_grpc,
    movie_pb2_grpc,
    session_pb2_grpc,
    ticket_pb2_grpc,
    venue_pb2_grpc,
)


def connect(
    addr: str,
    timeout: float | None = 10.0,
    ca_file: str | None = None,
    client_cert: str | None = None,
    client_key: str | None = None,
) -> grpc.Channel:
    """A channel to `addr` ("host:port"), connected before it is returned
    (unless `timeout` is None), so a wrong address fails here.

    With a CA bundle (`ca_file`, PEM; default: the CINEMA_CA_FILE
    environment variable) the channel speaks TLS and trusts only that CA;
    `client_cert` and `client_key` (PEM files; default CINEMA_CLIENT_CERT and
    CINEMA_CLIENT_KEY) add a client certificate for a server that asks for
    one. Without a CA bundle the channel is plaintext."""
    ca_file = ca_file or os.environ.get("CINEMA_CA_FILE")
    client_cert = client_cert or os.environ.get("CINEMA_CLIENT_CERT")
    client_key = client_key or os.environ.get("CINEMA_CLIENT_KEY")
    if ca_file:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=_read(ca_file),
            private_key=_read(client_key) if client_key else None,
            certificate_chain=_read(client_cert) if client_cert else None,
        )
        channel = grpc.secure_channel(addr, credentials)
    else:
        channel = grpc.insecure_channel(addr)
    if timeout is not None:
        try:
            grpc.channel_ready_future(channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            channel.close()
            raise ConnectionError(f"no cinema server answers at {addr}") from None
    return channel


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def session_stub(channel: grpc.Channel) -> session_pb2_grpc.SessionServiceStub:
    return session_pb2_grpc.SessionServiceStub(channel)


def booking_stub(channel: grpc.Channel) -> booking_pb2_grpc.BookingServiceStub:
    return booking_pb2_grpc.BookingServiceStub(channel)


def venue_stub(channel: grpc.Channel) -> venue_pb2_grpc.VenueServiceStub:
    return venue_pb2_grpc.VenueServiceStub(channel)


def ticket_stub(channel: grpc.Channel) -> ticket_pb2_grpc.TicketServiceStub:
    return ticket_pb2_grpc.TicketServiceStub(channel)


def movie_stub(channel: grpc.Channel) -> movie_pb2_grpc.MovieServiceStub:
    return movie_pb2_grpc.MovieServiceStub(channel)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    """The call metadata that identifies the caller: pass as `metadata=`."""
    return (("authorization", f"Bearer {token}"),)


class Client:
    """The five stubs over one channel, with one user's token on every call.

        alice = Client(channel, token)
        alice.booking.ReserveSeats(request, metadata=alice.auth)
    """

    def __init__(self, channel: grpc.Channel, token: str):
        self.channel = channel
        self.auth = bearer(token)
        self.sessions = session_stub(channel)
        self.booking = booking_stub(channel)
        self.venues = venue_stub(channel)
        self.tickets = ticket_stub(channel)
        self.movies = movie_stub(channel)


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of an INVALID_ARGUMENT (google.rpc.BadRequest)."""

    field: str
    description: str


@dataclass(frozen=True)
class PreconditionViolation:
    """One failed precondition (google.rpc.PreconditionFailure), e.g.
    type SEAT_UNAVAILABLE, subject "A1"."""

    type: str
    subject: str
    description: str


@dataclass
class ErrorDetails:
    """What a failed call said: its code and message, and the google.rpc
    details the server attached in `grpc-status-details-bin`."""

    code: grpc.StatusCode
    message: str
    field_violations: list[FieldViolation] = field(default_factory=list)
    precondition_violations: list[PreconditionViolation] = field(default_factory=list)
    # google.rpc.ResourceInfo of a NOT_FOUND, and any other detail, as sent.
    other: list = field(default_factory=list)


def error_details(error: grpc.RpcError) -> ErrorDetails:
    """Decodes the google.rpc.Status a failed call carries in its trailing
    metadata (`grpc-status-details-bin`); a call without one gives just its
    code and message."""
    details = ErrorDetails(code=error.code(), message=error.details() or "")
    status = rpc_status.from_call(error)  # None when the server sent no details
    if status is None:
        return details
    for any_detail in status.details:
        if any_detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            any_detail.Unpack(bad_request)
            details.field_violations += [
                FieldViolation(v.field, v.description) for v in bad_request.field_violations
            ]
        elif any_detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            any_detail.Unpack(failure)
            details.precondition_violations += [
                PreconditionViolation(v.type, v.subject, v.description) for v in failure.violations
            ]
        elif any_detail.Is(error_details_pb2.ResourceInfo.DESCRIPTOR):
            info = error_details_pb2.ResourceInfo()
            any_detail.Unpack(info)
            details.other.append(info)
        else:
            details.other.append(any_detail)
    return details
