// Two customers in a real browser (Debian's chromium, driven by
// playwright-core), each on another server instance. A's page comes from
// instance 1 and calls it. B's page comes from instance 1 too but calls
// instance 2 (`?api=`, so across origins: instance 2 allows instance 1's
// origin by CORS) through a small TCP relay this script can cut, to see the
// page reconnect. Run by tests/it/web.rs, which creates the room and
// sessions and then admits the tickets this script reads from A's QR codes.
//
// Environment:
//   CINEMA_WEB_A, CINEMA_WEB_B      base URLs of the two instances (http://127.0.0.1:port);
//                                   B's must allow A's origin (CINEMA_WEB_ORIGINS)
//   CINEMA_TOKEN_A, CINEMA_TOKEN_B  the customers' tokens
//   CINEMA_ADMIN_TOKEN              an admin's, to cancel the second session
//   CINEMA_SESSION_ID               the session both customers book in
//   CINEMA_CANCEL_SESSION_ID        a session this script cancels
//   CINEMA_SCREENSHOTS              folder for screenshots
//   CINEMA_DOCS_SCREENSHOT          where the README's picture goes (optional)
//   CHROMIUM                        the browser (default /usr/bin/chromium)
//
// The room (rows from the screen): A WC_SSSSSS_CW, B SSS_SSSSSS_SSS,
// C SSS_SSSSSS_SSS, D PPP_PPPPPP_PPP, E _LR_LRLRLR_LR_; B12 blocked;
// single-seat gaps refused. Prints one line `RESULT <json>` at the end.

import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import { dirname, join } from "node:path";
import jsQR from "jsqr";
import { chromium } from "playwright-core";
import { PNG } from "pngjs";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const urlA = env("CINEMA_WEB_A");
const urlB = env("CINEMA_WEB_B");
const tokenA = env("CINEMA_TOKEN_A");
const tokenB = env("CINEMA_TOKEN_B");
const adminToken = env("CINEMA_ADMIN_TOKEN");
const sessionId = env("CINEMA_SESSION_ID");
const cancelId = env("CINEMA_CANCEL_SESSION_ID");
const shots = env("CINEMA_SCREENSHOTS");
const docsShot = process.env.CINEMA_DOCS_SCREENSHOT;
mkdirSync(shots, { recursive: true });

const started = Date.now();
const timings = {};
const log = (...words) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s]`, ...words);

function check(ok, what) {
  if (!ok) throw new Error(`expected ${what}`);
}

// --- a relay to instance 2 that can drop every connection ----------------

function relay(target) {
  const { hostname, port } = new URL(target);
  const sockets = new Set();
  let refuseUntil = 0;
  const server = net.createServer((client) => {
    if (Date.now() < refuseUntil) return client.destroy();
    const upstream = net.connect(Number(port), hostname);
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ]) {
      sockets.add(a);
      a.on("error", () => b.destroy());
      a.on("close", () => {
        sockets.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        /** Cuts every connection and refuses new ones for `ms`. */
        drop(ms) {
          refuseUntil = Date.now() + ms;
          for (const socket of sockets) socket.destroy();
        },
        close: () => server.close(),
      }),
    ),
  );
}

// --- page helpers --------------------------------------------------------

const seat = (page, label) => page.locator(`.session-page g[data-label="${label}"]`);
const message = (page) => page.locator(".session-page > .message");

/** Waits until every seat's accessible name ends with `state`. */
async function seatsAre(page, labels, state, timeout = 5000) {
  await page.waitForFunction(
    ([labels, state]) =>
      labels.every((label) =>
        document
          .querySelector(`.session-page g[data-label="${label}"]`)
          ?.getAttribute("aria-label")
          ?.endsWith(`, ${state}`),
      ),
    [labels, state],
    { timeout },
  );
}

async function messageIs(page, text) {
  await page.waitForFunction(
    (text) => document.querySelector(".session-page > .message")?.textContent === text,
    text,
    { timeout: 5000 },
  ).catch(async () => {
    throw new Error(`expected the message ${JSON.stringify(text)}, the page says ${JSON.stringify(await message(page).textContent())}`);
  });
}

async function openSession(page, id) {
  await page.click(`button.session[data-session="${id}"]`);
  await page.waitForSelector(`.session-page[data-session="${id}"] .live[data-state="live"]`);
}

async function countdownSeconds(page) {
  const [mm, ss] = (await page.locator(".countdown").textContent()).split(":").map(Number);
  return mm * 60 + ss;
}

/** The label of the focused seat, if a seat has the focus. */
const focusedSeat = (page) => page.evaluate(() => document.activeElement?.getAttribute("data-label") ?? null);

async function tabUntil(page, test, what, max = 60) {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate(test)) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`Tab never reached ${what}`);
}

/** Moves the focus to seat `label` with the arrow keys only. */
async function arrowTo(page, label) {
  const row = label.replace(/\d+$/, "");
  const number = Number(label.replace(/^[A-Z]+/, ""));
  for (let i = 0; i < 40; i++) {
    const at = await focusedSeat(page);
    if (at === label) return;
    const atRow = at.replace(/\d+$/, "");
    const atNumber = Number(at.replace(/^[A-Z]+/, ""));
    const key = atRow < row ? "ArrowDown" : atRow > row ? "ArrowUp" : atNumber < number ? "ArrowRight" : "ArrowLeft";
    await page.keyboard.press(key);
  }
  throw new Error(`the arrow keys never reached ${label}`);
}

/** Decodes the QR code drawn in `element` from its pixels. */
async function readQr(element) {
  const png = PNG.sync.read(await element.screenshot());
  const found = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  return found?.data ?? null;
}

/** CancelSession over gRPC-Web, its request encoded by hand (two string fields). */
async function cancelSession(base, id, reason) {
  const field = (number, text) => {
    const bytes = Buffer.from(text);
    return Buffer.concat([Buffer.from([(number << 3) | 2, bytes.length]), bytes]);
  };
  const message = Buffer.concat([field(1, id), field(2, reason)]);
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  const response = await fetch(`${base}/cinema.v1.SessionService/CancelSession`, {
    method: "POST",
    headers: {
      "content-type": "application/grpc-web+proto",
      "x-grpc-web": "1",
      authorization: `Bearer ${adminToken}`,
    },
    body: frame,
  });
  const body = Buffer.from(await response.arrayBuffer()).toString("latin1");
  const status = response.headers.get("grpc-status") ?? /grpc-status:\s*(\d+)/.exec(body)?.[1];
  check(response.ok && status === "0", `CancelSession to succeed, got HTTP ${response.status}, grpc-status ${status}`);
}

// --- the walk ------------------------------------------------------------

const proxyB = await relay(urlB);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const contextA = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 2 });
const contextB = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const pageA = await contextA.newPage();
const pageB = await contextB.newPage();
const pageErrors = [];
for (const [name, page] of [
  ["A", pageA],
  ["B", pageB],
]) {
  page.on("pageerror", (err) => pageErrors.push(`${name}: ${err.message}`));
}

async function step(name, work) {
  const t = Date.now();
  try {
    await work();
  } catch (err) {
    const base = join(shots, `failed-${name.replace(/\W+/g, "-")}`);
    await pageA.screenshot({ path: `${base}-A.png`, fullPage: true }).catch(() => {});
    await pageB.screenshot({ path: `${base}-B.png`, fullPage: true }).catch(() => {});
    err.message = `step "${name}": ${err.message} (screenshots ${base}-A.png, -B.png)`;
    throw err;
  }
  timings[name] = Date.now() - t;
  log("ok:", name, `(${timings[name]} ms)`);
}

const tickets = [];
try {
  await step("instance 2 serves the app too; without a token it says how to sign in", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${urlB}/`);
    await page.getByText("Open the link the demo printed").waitFor();
    await context.close();
  });

  await step("both customers sign in from the fragment and open the session", async () => {
    await pageA.goto(`${urlA}/#token=${tokenA}`);
    await pageB.goto(`${urlA}/?api=${encodeURIComponent(proxyB.url)}#token=${tokenB}`);
    for (const page of [pageA, pageB]) {
      await page.waitForSelector(`button.session[data-session="${sessionId}"]`);
      check(!page.url().includes("#"), `the token gone from the address bar, not ${page.url()}`);
      check((await page.evaluate(() => sessionStorage.getItem("cinema.token")))?.length > 20, "the token in sessionStorage");
      await openSession(page, sessionId);
    }
    await seatsAre(pageA, ["B12"], "blocked");
    check(
      (await seat(pageA, "D4").getAttribute("aria-label")) === "Row D, seat 4, premium, R$ 40,00, available",
      "D4's accessible name",
    );
    await pageA.screenshot({ path: join(shots, "01-opened.png") });
  });

  await step("B's page reconnects by itself after its connection drops", async () => {
    proxyB.drop(1500);
    await pageB.waitForSelector('.live[data-state="reconnecting"]', { timeout: 5000 });
    check((await pageB.locator(".live").textContent()) === "Reconnecting…", "the words Reconnecting…");
    await pageB.screenshot({ path: join(shots, "02-reconnecting.png") });
    await pageB.waitForSelector('.live[data-state="live"]', { timeout: 20000 });
  });

  await step("B picks C5", async () => {
    await seat(pageB, "C5").click();
    await seatsAre(pageB, ["C5"], "selected");
  });

  await step("A holds C5, C6 (half) and the couple seat E3+E4; B sees them held within 1 s", async () => {
    await seat(pageA, "C5").click();
    await seat(pageA, "C6").click();
    await seat(pageA, "E3").click();
    check((await seat(pageA, "E4").getAttribute("aria-pressed")) === "true", "E4 picked with its other half E3");
    await pageA.selectOption('select[aria-label="Ticket type for seat C6"]', "half");
    await pageA.getByRole("button", { name: "Hold seats" }).click();
    await pageA.waitForSelector(".hold:not([hidden])");
    const held = Date.now();
    await seatsAre(pageB, ["C5", "C6", "E3", "E4"], "held", 1000);
    timings["B saw A's hold after (ms)"] = Date.now() - held;
    await messageIs(pageB, "Seat C5 was just taken by someone else.");
    const lines = await pageA.locator(".hold li").allTextContents();
    check(lines.some((l) => l.includes("C6") && l.includes("Half") && l.includes("R$ 12,50")), `C6 half at R$ 12,50 in ${lines}`);
  });

  await step("B clicks a seat A holds and is told it was just taken", async () => {
    await seat(pageB, "C6").click();
    await messageIs(pageB, "Seat C6 was just taken by someone else.");
    await pageB.screenshot({ path: join(shots, "03-just-taken.png") });
  });

  await step("A extends the hold: one extension fewer, more time left", async () => {
    await pageA.getByRole("button", { name: "Extend (2 left)" }).waitFor();
    await pageA.waitForTimeout(2500);
    const before = await countdownSeconds(pageA);
    await pageA.getByRole("button", { name: "Extend (2 left)" }).click();
    await pageA.getByRole("button", { name: "Extend (1 left)" }).waitFor();
    const after = await countdownSeconds(pageA);
    check(after > before, `the countdown to move up (${before} s, then ${after} s)`);
    await pageA.screenshot({ path: join(shots, "04-hold.png") });
  });

  await step("A pays: both pages show the seats sold, A gets one QR code per ticket", async () => {
    await pageA.fill("#payment-reference", "PIX-E2E-0001");
    await pageA.getByRole("button", { name: "Pay" }).click();
    await pageA.waitForFunction(() => document.querySelectorAll(".sale .ticket .qr svg").length === 4);
    await seatsAre(pageA, ["C5", "C6", "E3", "E4"], "sold", 2000);
    await seatsAre(pageB, ["C5", "C6", "E3", "E4"], "sold", 2000);
  });

  await step("each QR code reads as its ticket's code", async () => {
    for (const figure of await pageA.locator(".sale figure.ticket").all()) {
      const code = await figure.getAttribute("data-code");
      const label = await figure.getAttribute("data-seat");
      const read = await readQr(figure.locator(".qr"));
      check(code && read === code, `the QR of ${label} to read ${code}, read ${read}`);
      const caption = await figure.locator("figcaption").textContent();
      tickets.push({ seat: label, code, caption });
    }
    check(tickets.find((t) => t.seat === "C6")?.caption.includes("Half"), "C6's ticket marked Half");
    await pageA.locator(".sale").screenshot({ path: join(shots, "05-tickets.png") });
    await pageA.waitForFunction(() => document.querySelector(".purchases li")?.textContent.includes("C5, C6, E3, E4"));
  });

  await step("B is told a hold would strand a single seat", async () => {
    await seat(pageB, "B4").click();
    await seat(pageB, "B6").click();
    await pageB.getByRole("button", { name: "Hold seats" }).click();
    await messageIs(pageB, "That would leave seat B5 alone between taken seats — pick seats next to each other.");
    await seat(pageB, "B4").click();
    await seat(pageB, "B6").click();
    await seatsAre(pageB, ["B4", "B6"], "available");
  });

  let best = [];
  await step("B holds the best 2 seats from the page, pays, then refunds", async () => {
    await pageB.fill("#best-quantity", "2");
    await pageB.getByRole("button", { name: "Best 2 seats" }).click();
    await pageB.waitForSelector(".hold:not([hidden])");
    best = (await pageB.locator(".hold li").allTextContents()).map((line) => /Seat (\w+)/.exec(line)[1]);
    check(best.length === 2, `two seats held, got ${best}`);
    await seatsAre(pageA, best, "held", 2000);
    await pageB.getByRole("button", { name: "Pay" }).click();
    await pageB.waitForSelector(".sale:not([hidden]) .ticket");
    await seatsAre(pageA, best, "sold", 2000);
    // Purchases come newest first.
    const sale = pageB.locator(".purchases li").first();
    await pageB.waitForFunction(
      (seats) => document.querySelector(".purchases li")?.textContent.includes(seats),
      best.join(", "),
    );
    await sale.getByRole("button", { name: "Refund" }).click();
    await pageB.waitForFunction(() => document.querySelector(".purchases li")?.textContent.includes("refunded R$"));
    await seatsAre(pageA, best, "available", 2000);
  });

  await step("B picks two seats and holds them with the keyboard only", async () => {
    await pageB.locator(".top").click(); // start from the top of the page, focus nowhere
    await tabUntil(pageB, () => document.activeElement?.hasAttribute("data-label"), "a seat");
    await arrowTo(pageB, "D4");
    await pageB.keyboard.press("Space");
    await pageB.keyboard.press("ArrowRight");
    check((await focusedSeat(pageB)) === "D5", "the focus on D5");
    await pageB.keyboard.press("Space");
    await seatsAre(pageB, ["D4", "D5"], "selected");
    await tabUntil(pageB, () => document.activeElement?.textContent === "Hold seats", "the Hold seats button");
    await pageB.keyboard.press("Enter");
    await pageB.waitForSelector(".hold:not([hidden])");
    await seatsAre(pageA, ["D4", "D5"], "held", 2000);
  });

  await step("the picture of the map", async () => {
    await seat(pageA, "B8").click();
    await seatsAre(pageA, ["B8"], "selected");
    await pageA.evaluate(() => window.scrollTo(0, 0));
    await seat(pageA, "D6").hover();
    await pageA.screenshot({ path: join(shots, "06-map.png") });
    if (docsShot) {
      mkdirSync(dirname(docsShot), { recursive: true });
      const png = await pageA.screenshot({ clip: { x: 0, y: 0, width: 1280, height: 720 }, scale: "css" });
      writeFileSync(docsShot, png);
    }
  });

  await step("B cancels the hold: the seats are free again on A's page", async () => {
    await pageB.getByRole("button", { name: "Cancel" }).click();
    await messageIs(pageB, "Your seats were released.");
    await seatsAre(pageA, ["D4", "D5"], "available", 2000);
  });

  await step("a cancelled session tells both customers", async () => {
    await pageA.getByRole("button", { name: "Refresh" }).click();
    await pageB.getByRole("button", { name: "Refresh" }).click();
    await openSession(pageA, cancelId);
    await openSession(pageB, cancelId);
    await cancelSession(urlA, cancelId, "Projector broken");
    for (const page of [pageA, pageB]) {
      await page.waitForSelector('.live[data-state="cancelled"]', { timeout: 5000 });
      check((await page.locator(".live").textContent()) === "This session was cancelled", "the words of a cancelled session");
    }
    await pageB.screenshot({ path: join(shots, "07-cancelled.png") });
  });

  check(pageErrors.length === 0, `no errors in the pages: ${pageErrors.join("; ")}`);
} finally {
  await browser.close();
  proxyB.close();
}

log("all steps passed");
console.log(`RESULT ${JSON.stringify({ tickets, timings, seconds: (Date.now() - started) / 1000 })}`);
