"""A small hand-written client for the cinema gRPC service.

The message classes and stubs are generated from proto/ by
clients/python/generate into cinema_client/gen/, laid out like the proto
packages (gen/cinema/v1/session_pb2.py, gen/cinema/events/v1/events_pb2.py).
grpc_tools writes absolute imports between them (events_pb2 does
`from cinema.v1 import session_pb2`), so gen/ has to be a root on sys.path:
we add it here, once, before importing anything generated. That keeps the
generated files exactly as protoc wrote them (no import rewriting), and
`cinema.v1.session_pb2` is the one name every module in the process uses,
so each .proto is registered once in the protobuf descriptor pool. (Do not
import them as `cinema_client.gen.cinema...`: that would load them twice.)
"""

import os
import sys

_GEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen")
if not os.path.isdir(os.path.join(_GEN, "cinema")):
    raise ImportError(
        f"the generated code is missing from {_GEN}: run clients/python/setup "
        "(or clients/python/generate)"
    )
if _GEN not in sys.path:
    sys.path.insert(0, _GEN)

from cinema.events.v1 import events_pb2  # noqa: E402
from cinema.v1 import (  # noqa: E402
    booking_pb2,
    booking_pb2_grpc,
    movie_pb2,
    movie_pb2_grpc,
    session_pb2,
    session_pb2_grpc,
    ticket_pb2,
    ticket_pb2_grpc,
    venue_pb2,
    venue_pb2_grpc,
)

from .client import (  # noqa: E402
    Client,
    ErrorDetails,
    FieldViolation,
    PreconditionViolation,
    bearer,
    booking_stub,
    connect,
    error_details,
    movie_stub,
    session_stub,
    ticket_stub,
    venue_stub,
)

__all__ = [
    "Client",
    "ErrorDetails",
    "FieldViolation",
    "PreconditionViolation",
    "bearer",
    "booking_pb2",
    "booking_pb2_grpc",
    "booking_stub",
    "connect",
    "error_details",
    "events_pb2",
    "movie_pb2",
    "movie_pb2_grpc",
    "movie_stub",
    "session_pb2",
    "session_pb2_grpc",
    "session_stub",
    "ticket_pb2",
    "ticket_pb2_grpc",
    "ticket_stub",
    "venue_pb2",
    "venue_pb2_grpc",
    "venue_stub",
]
