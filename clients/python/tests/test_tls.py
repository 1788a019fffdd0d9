"""connect() over TLS, against the TLS server tests/it/clients.rs starts
beside the plaintext one: CINEMA_TLS_ADDR, and CINEMA_TLS_CA_FILE, the CA
that signed its certificate."""

import os

import grpc
import pytest

from cinema_client import Client, connect, session_pb2


@pytest.fixture
def tls_server():
    addr, ca_file = os.environ.get("CINEMA_TLS_ADDR"), os.environ.get("CINEMA_TLS_CA_FILE")
    if not addr or not ca_file:
        pytest.fail("these tests need a TLS server: set CINEMA_TLS_ADDR and CINEMA_TLS_CA_FILE")
    return addr, ca_file


def test_a_client_trusting_the_ca_calls_the_tls_server(tls_server):
    addr, ca_file = tls_server
    channel = connect(addr, ca_file=ca_file)
    try:
        admin = Client(channel, os.environ["CINEMA_ADMIN_TOKEN"])
        answer = admin.sessions.ListSessions(
            session_pb2.ListSessionsRequest(page_size=1), metadata=admin.auth, timeout=10
        )
        assert len(answer.sessions) <= 1
    finally:
        channel.close()


def test_a_plaintext_channel_gets_no_answer_from_the_tls_server(tls_server):
    addr, _ = tls_server
    with pytest.raises(ConnectionError, match=f"no cinema server answers at {addr}"):
        connect(addr, timeout=2)

