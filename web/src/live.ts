// A live seat map: WatchSeatMap, resubscribed with backoff whenever the
// stream drops, until the page stops watching or the session is cancelled.
// Each new stream starts with a snapshot, so nothing missed while away is lost.

import { Code, ConnectError } from "@connectrpc/connect";
import type { Api } from "./api";
import { describeError, isSessionCancelled } from "./errors";
import type { SeatMap, SeatMapUpdate } from "./gen/cinema/v1/session_pb";

export type LiveState =
  | { kind: "connecting" }
  | { kind: "live" }
  | { kind: "reconnecting"; inMs: number }
  | { kind: "cancelled" }
  | { kind: "failed"; message: string };

export interface LiveHandlers {
  snapshot(map: SeatMap): void;
  update(update: SeatMapUpdate): void;
  state(state: LiveState): void;
}

/** The wait before resubscribing after `failures` failed tries in a row:
 * 0.5 s doubling to 8 s at most, less up to a fifth at random so that many
 * pages do not come back all at once. */
export function backoffDelay(failures: number, random: number = Math.random()): number {
  const base = Math.min(8000, 500 * 2 ** Math.min(failures, 10));
  return Math.round(base * (1 - 0.2 * random));
}

/** Codes after which trying again cannot help. */
const FINAL = new Set([Code.Unauthenticated, Code.PermissionDenied, Code.NotFound, Code.InvalidArgument]);

/** Watches `sessionId` until the returned function is called. */
export function watch(api: Api, sessionId: string, on: LiveHandlers): () => void {
  const stop = new AbortController();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      stop.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });

  void (async () => {
    let failures = 0;
    on.state({ kind: "connecting" });
    while (!stop.signal.aborted) {
      try {
        for await (const event of api.sessions.watchSeatMap({ sessionId }, { signal: stop.signal })) {
          if (event.event.case === "snapshot") {
            failures = 0;
            on.snapshot(event.event.value);
            on.state({ kind: "live" });
          } else if (event.event.case === "update") {
            on.update(event.event.value);
          }
        }
      } catch (err) {
        if (stop.signal.aborted) return;
        if (isSessionCancelled(err)) {
          on.state({ kind: "cancelled" });
          return;
        }
        if (FINAL.has(ConnectError.from(err).code)) {
          on.state({ kind: "failed", message: describeError(err) });
          return;
        }
      }
      if (stop.signal.aborted) return;
      const inMs = backoffDelay(failures++);
      on.state({ kind: "reconnecting", inMs });
      await sleep(inMs);
    }
  })();

  return () => stop.abort();
}
