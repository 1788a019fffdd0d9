// The client over TLS, against the TLS server tests/it/clients.rs starts
// beside the plaintext one: CINEMA_TLS_ADDR, and CINEMA_TLS_CA_FILE, the CA
// that signed its certificate.

import assert from "node:assert/strict";
import { test } from "node:test";

import { CinemaClient } from "../src/client";

function tlsServer(): { address: string; caFile: string } {
  const address = process.env["CINEMA_TLS_ADDR"];
  const caFile = process.env["CINEMA_TLS_CA_FILE"];
  assert.ok(address && caFile, "these tests need a TLS server: set CINEMA_TLS_ADDR and CINEMA_TLS_CA_FILE");
  return { address, caFile };
}

test("a client trusting the CA calls the TLS server", async () => {
  const { address, caFile } = tlsServer();
  const admin = new CinemaClient(address, { token: process.env["CINEMA_ADMIN_TOKEN"], caFile });
  try {
    const answer = await admin.listSessions({ pageSize: 1 });
    assert.ok(answer.sessions.length <= 1);
  } finally {
    admin.close();
  }
});

test("a plaintext client gets no answer from the TLS server", async () => {
  const { address } = tlsServer();
  const plaintext = new CinemaClient(address, { caFile: "" });
  try {
    await assert.rejects(plaintext.ready(2_000));
  } finally {
    plaintext.close();
  }
});
