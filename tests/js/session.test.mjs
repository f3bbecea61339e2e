// frontend/js/session.js: the chat session driven as the page drives it, with
// fake sockets, a fake clock and a recording view (fakes.mjs), under Node.
import assert from "node:assert/strict";
import { test } from "node:test";

import { REFUSED_HINT, REFUSED_SIGNED_IN_HINT } from "../../frontend/js/session.js";
import { fakeSession } from "./fakes.mjs";

// ULIDs in order: A < B < C < D.
const [A, B, C, D] = [0, 1, 2, 3].map((n) => `01JDQ7ZK3V8Y6W4T2R1P0${String(n).padStart(5, "0")}`);
const ZERO = "0".repeat(26);
const ROOM = "lobby";
const SENT_AT = "2026-12-06T12:00:00.000Z";

const TIMINGS = {
  baseMs: 1000,
  capMs: 8000,
  pingIntervalMs: 30_000,
  pongTimeoutMs: 10_000,
  stableAfterMs: 5000,
  catchUpAgainMs: 3000,
  renewAfterMs: 7_000_000,
};

/** A session joined to ROOM as alice (the name given with spaces around it). */
async function joined({ timings = {}, auth = null, name = "alice" } = {}) {
  const session = fakeSession({ timings: { ...TIMINGS, ...timings }, auth });
  await session.chat.join(` ${name} `, ROOM);
  return session;
}

const message = (id, extra = {}) => ({ type: "message", room: ROOM, id, from: "bob", text: `text ${id}`, sentAt: SENT_AT, ...extra });
// The server's clock when it read a page (docs/protocol.md: the catch-up cursor).
const READ_AT = Date.parse(SENT_AT);
const history = (ids, more, cursor = {}) => ({
  type: "history",
  room: ROOM,
  messages: ids.map((id) => ({ id, from: "bob", text: `text ${id}`, sentAt: SENT_AT })),
  more,
  readAt: READ_AT,
  ...cursor,
});
/** A `changes` page: the messages as they are now, each at its first rev. */
const changes = (ids, { more = false, cursor, readAt = READ_AT } = {}) => ({
  type: "changes",
  room: ROOM,
  messages: ids.map((id) => ({ id, from: "bob", text: `text ${id}`, sentAt: SENT_AT, rev: 1 })),
  more,
  readAt,
  ...(cursor === undefined ? {} : { cursor }),
});
const membersFrame = (...names) => ({
  type: "members",
  room: ROOM,
  count: names.length,
  complete: true,
  members: names.map((name) => ({ name, since: SENT_AT, connections: 1 })),
});

/** Open the socket and answer its join as the server does: members, then the history page. */
function answerJoin(socket, ids = [], cursor = {}) {
  socket.receive(membersFrame("alice", "bob"));
  socket.receive(history(ids, false, cursor));
}

test("join connects with the name, room and room key in the URL, and joins on open asking the newest page", async () => {
  const { chat, sockets, socket, seen } = await joined();
  assert.equal(sockets.length, 1);
  const url = socket().url;
  assert.equal(url.searchParams.get("name"), "alice");
  assert.equal(url.searchParams.get("room"), ROOM);
  assert.match(url.searchParams.get("key"), /^[A-Za-z0-9_-]{43}$/);
  assert.equal(socket().protocols, undefined, "no sign-in: no subprotocol");
  assert.deepEqual(seen.joined, [{ name: "alice", room: ROOM }]);
  assert.deepEqual(seen.statuses.at(-1), { state: "connecting", words: "Connecting…" });
  assert.equal(chat.isOpen, false);

  socket().open();
  assert.equal(chat.isOpen, true);
  assert.deepEqual(socket().sent, [{ action: "join", limit: 50 }]);
  assert.deepEqual(seen.statuses.at(-1), { state: "open", words: "Connected" });
  assert.deepEqual(seen.notices.at(-1), { text: `Connected to room ${ROOM} as alice.`, kind: "info", action: undefined });

  answerJoin(socket(), [A, B]);
  assert.deepEqual(seen.ids, [A, B]);
  assert.deepEqual(seen.members, { names: ["alice", "bob"], count: 2, ownName: "alice" });
  socket().receive(message(C));
  socket().receive({ ...message(D), room: "elsewhere" });
  assert.deepEqual(seen.ids, [A, B, C]);
});

test("the same room gets the same key on every connect, another room another", async () => {
  const { chat, sockets } = await joined();
  await chat.reconnect();
  await chat.join("alice", "other");
  const keys = sockets.map((socket) => socket.url.searchParams.get("key"));
  assert.equal(keys[0], keys[1]);
  assert.notEqual(keys[0], keys[2]);
});

test("a reconnect catches up by `changes` since the cursor, page by page, and once more when the index settled", async () => {
  const { clock, sockets, socket, seen } = await joined();
  socket().open();
  answerJoin(socket(), [A, B]);
  socket().drop();
  assert.deepEqual(seen.notices.at(-1).text, "Connection lost. Reconnecting…");
  clock.advance(TIMINGS.baseMs);
  assert.equal(sockets.length, 2);

  socket().open();
  assert.deepEqual(seen.notices.at(-1).text, "Reconnected.");
  assert.deepEqual(socket().sent, [{ action: "join", since: READ_AT }]);
  socket().receive(membersFrame("alice"));
  socket().receive(changes([C], { more: true, cursor: "page-2", readAt: READ_AT + 5000 }));
  assert.deepEqual(socket().sent.at(-1), { action: "changes", cursor: "page-2" });
  socket().receive(message(D));
  socket().receive(changes([D], { readAt: READ_AT + 6000 }));
  assert.deepEqual(seen.ids, [A, B, C, D]);
  assert.equal(socket().sent.length, 2, "the catch-up ended with the page saying no more");

  clock.advance(TIMINGS.catchUpAgainMs);
  assert.deepEqual(socket().sent.at(-1), { action: "changes", since: READ_AT + 6000 });
});

test("an answer to a request of a closed socket is dropped: it could open a gap", async () => {
  const { clock, socket, seen } = await joined();
  const first = socket();
  first.open();
  answerJoin(first, [A]);
  first.drop();
  clock.advance(TIMINGS.baseMs);
  socket().open();
  first.receive(message(B)); // a late frame of the old socket: the connection no longer listens
  socket().receive(history([C], false, { after: B })); // not the request it made (after A)
  assert.deepEqual(seen.ids, [A]);
});

test("messages typed while offline, or sent but not delivered when the socket dropped, go again after the reconnect with the same clientId", async () => {
  const { chat, clock, socket, seen } = await joined();
  socket().open();
  answerJoin(socket());
  chat.send("hi");
  const [sent] = socket().sent.slice(-1);
  assert.equal(sent.action, "sendmessage");
  assert.equal(sent.text, "hi");
  assert.match(sent.clientId, /^[0-9a-f]{32}$/);
  assert.deepEqual(seen.pending.get(sent.clientId), { text: "hi", from: "alice", state: "sending", status: { words: "Sending…" } });

  socket().drop();
  assert.deepEqual(seen.pending.get(sent.clientId).status, { words: "Waiting for connection…" });
  chat.send("typed offline");
  assert.equal(seen.pending.size, 2);
  clock.advance(TIMINGS.baseMs);
  const again = socket();
  assert.deepEqual(again.sent, [], "nothing before the socket opens");
  again.open();
  assert.deepEqual(
    again.sent.map(({ action, text, clientId }) => [action, text, clientId === sent.clientId]),
    [
      ["join", undefined, false],
      ["sendmessage", "hi", true],
      ["sendmessage", "typed offline", false],
    ],
  );
  again.receive(membersFrame("alice"));
  again.receive(history([], false, { after: ZERO }));
  again.receive(message(A, { from: "alice", text: "hi", clientId: sent.clientId }));
  assert.deepEqual([...seen.pending.keys()], [again.sent[2].clientId], "the delivered one is no longer pending");
  assert.equal(seen.byId.get(A).own, true);
});

test("reconnects back off exponentially up to the cap; three refusals of a join that never opened say why", async () => {
  const { clock, sockets, socket, seen } = await joined();
  const delays = [];
  for (let attempt = 0; attempt < 5; attempt += 1) {
    socket().drop(); // refused before it opened
    const { words } = seen.statuses.at(-1);
    delays.push(words);
    const before = sockets.length;
    const seconds = Number(words.match(/\d+/)[0]);
    clock.advance(seconds * 1000 - 1);
    assert.equal(sockets.length, before, `attempt ${attempt} waits its delay`);
    clock.advance(1);
    assert.equal(sockets.length, before + 1);
  }
  assert.deepEqual(delays, [1, 2, 4, 8, 8].map((seconds) => `Reconnecting in ${seconds} s…`));
  const warnings = seen.notices.filter((notice) => notice.kind === "warning");
  assert.equal(warnings.length, 1, "said once, at the third failure");
  assert.equal(warnings[0].text, REFUSED_HINT);
  assert.equal(warnings[0].action.words, "Choose another name");
  let chosen = false;
  seen.chooseAnotherName = () => {
    chosen = true;
  };
  warnings[0].action.onClick();
  assert.ok(chosen);
});

test("the backoff starts over only once a socket stayed open a while; a quick drop keeps climbing", async () => {
  const { clock, socket, seen } = await joined();
  socket().drop();
  clock.advance(1000);
  socket().drop();
  clock.advance(2000);
  socket().open(); // accepted, then dropped at once: attempt stays
  socket().drop();
  assert.equal(seen.statuses.at(-1).words, "Reconnecting in 4 s…");
  clock.advance(4000);
  socket().open();
  clock.advance(TIMINGS.stableAfterMs);
  socket().drop();
  assert.equal(seen.statuses.at(-1).words, "Reconnecting in 1 s…");
});

test("the network coming back retries at once instead of waiting out the delay", async () => {
  const { chat, sockets, socket } = await joined();
  socket().drop();
  assert.equal(sockets.length, 1);
  chat.online();
  assert.equal(sockets.length, 2);
});

test("a socket that answers no ping within the pong timeout is replaced", async () => {
  const { clock, sockets, socket, seen } = await joined();
  const first = socket();
  first.open();
  answerJoin(first);
  clock.advance(TIMINGS.pingIntervalMs);
  assert.deepEqual(first.sent.at(-1), { action: "ping" });
  first.receive({ type: "pong" });
  clock.advance(TIMINGS.pingIntervalMs + TIMINGS.pongTimeoutMs - 1);
  assert.equal(sockets.length, 1, "answered: still alive");
  clock.advance(1);
  assert.deepEqual(first.closedByPage, { code: 1000, reason: "bye" });
  assert.equal(seen.notices.at(-1).text, "Connection lost. Reconnecting…");
  clock.advance(TIMINGS.baseMs);
  assert.equal(sockets.length, 2);
});

test("a rate_limited message is held and goes again with its clientId when the delay is over", async () => {
  const { chat, clock, socket, seen } = await joined();
  socket().open();
  answerJoin(socket());
  chat.send("fast");
  const { clientId } = socket().sent.at(-1);
  socket().receive({ type: "error", code: "rate_limited", clientId, retryAfterMs: 2500 });
  assert.deepEqual(seen.pending.get(clientId).status, { words: "Sending too fast — will retry in 3 s" });
  const count = socket().sent.length;
  clock.advance(2499);
  assert.equal(socket().sent.length, count);
  clock.advance(1);
  assert.deepEqual(socket().sent.at(-1), { action: "sendmessage", text: "fast", clientId });
});

test("a refused join is asked again after the delay; an answered one is not", async () => {
  const { clock, socket } = await joined();
  socket().open();
  socket().receive({ type: "error", code: "rate_limited", retryAfterMs: 700 });
  clock.advance(700);
  assert.deepEqual(socket().sent, [
    { action: "join", limit: 50 },
    { action: "join", limit: 50 },
  ]);
  answerJoin(socket(), [A], {});
  socket().receive({ type: "error", code: "rate_limited", retryAfterMs: 700 });
  clock.advance(700);
  assert.equal(socket().sent.length, 2, "nothing left unanswered");
});

test("a refused message shows why, with Retry when the same text can succeed and Edit when it cannot", async () => {
  const { chat, socket, seen } = await joined();
  socket().open();
  answerJoin(socket());
  chat.send("lost");
  const lost = socket().sent.at(-1).clientId;
  socket().receive({ type: "error", code: "not_stored", clientId: lost });
  assert.equal(seen.pending.get(lost).status.action.name, "retry");
  chat.retry(lost);
  assert.deepEqual(socket().sent.at(-1), { action: "sendmessage", text: "lost", clientId: lost });

  chat.send("long");
  const long = socket().sent.at(-1).clientId;
  socket().receive({ type: "error", code: "message_too_long", clientId: long });
  const { status } = seen.pending.get(long);
  assert.equal(status.action.name, "edit");
  assert.equal(status.detail, "That message was not sent: messages can be at most 2000 characters.");
  assert.equal(chat.takeBack(long), "long");
  assert.equal(seen.pending.has(long), false);
  assert.equal(chat.takeBack(long), undefined);
});

test("not_connected makes the session reconnect; an error about no message is shown as a notice", async () => {
  const { clock, sockets, socket, seen } = await joined();
  socket().open();
  answerJoin(socket());
  socket().receive({ type: "error", code: "not_connected" });
  assert.deepEqual(
    seen.notices.slice(-2).map(({ text, kind }) => [kind, text]),
    [
      ["error", "The server lost track of this connection. Reconnecting…"],
      ["warning", "Connection lost. Reconnecting…"],
    ],
  );
  assert.equal(seen.statuses.at(-1).state, "waiting");
  clock.advance(TIMINGS.baseMs);
  assert.equal(sockets.length, 2);
});

test("make-before-break: the successor joins since the cursor and, once answered, replaces the old socket", async () => {
  const { chat, clock, sockets, socket, seen } = await joined({
    timings: { renewAfterMs: 20_000, pingIntervalMs: 1_000_000 },
  });
  const old = socket();
  old.open();
  answerJoin(old, [A]);
  clock.advance(20_000);
  assert.equal(sockets.length, 2);
  const successor = socket();
  successor.open();
  assert.deepEqual(successor.sent, [{ action: "join", since: READ_AT }]);
  old.receive(message(B));
  successor.receive(membersFrame("alice", "bob"));
  assert.deepEqual(old.closedByPage, { code: 1000, reason: "renewed" });
  successor.receive(changes([B]));
  assert.deepEqual(seen.ids, [A, B]);
  assert.equal(seen.notices.filter((notice) => notice.text === "Connection lost. Reconnecting…").length, 0);
  chat.send("on the new socket");
  assert.equal(successor.sent.at(-1).text, "on the new socket");
});

test("signed in, the ID token is offered as the second subprotocol and a refused connect renews it", async () => {
  let renewals = 0;
  const auth = {
    idToken: "token-1",
    renewIfStale: () => {
      renewals += 1;
    },
  };
  const { clock, socket, seen } = await joined({ auth });
  assert.deepEqual(socket().protocols, ["awsome-chat", "token-1"]);
  auth.idToken = "token-2";
  for (let failure = 1; failure <= 3; failure += 1) {
    socket().drop();
    clock.advance(TIMINGS.capMs);
  }
  assert.deepEqual(socket().protocols, ["awsome-chat", "token-2"]);
  assert.equal(renewals, 3);
  assert.deepEqual(
    seen.notices.filter((notice) => notice.kind === "warning").map((notice) => notice.text),
    [REFUSED_SIGNED_IN_HINT],
  );
});

test("leaving closes on purpose: no reconnect follows, and nothing waits to be sent", async () => {
  const { chat, clock, sockets, socket, seen } = await joined();
  socket().open();
  answerJoin(socket(), [A]);
  chat.send("bye");
  chat.leave();
  assert.deepEqual(seen.statuses.at(-1), { state: "closed", words: "Offline" });
  assert.deepEqual(chat.current, { name: "", room: "" });
  assert.equal(seen.pending.size, 0);
  assert.deepEqual(seen.ids, []);
  clock.advance(60_000);
  assert.equal(sockets.length, 1);
});

test("'load earlier' asks before the oldest shown, and is offered offline as waiting for the connection", async () => {
  const { chat, socket, seen } = await joined();
  socket().open();
  socket().receive(membersFrame("alice"));
  socket().receive(history([C, D], true));
  assert.equal(seen.earlier, "ready");
  chat.loadEarlier();
  assert.deepEqual(socket().sent.at(-1), { action: "history", before: C, limit: 50 });
  assert.equal(seen.earlier, "loading");
  socket().receive(history([A, B], false, { before: C }));
  assert.deepEqual(seen.ids, [A, B, C, D]);
  assert.equal(seen.earlier, "hidden");

  chat.trimmed();
  assert.equal(seen.earlier, "ready");
  socket().drop();
  assert.equal(seen.earlier, "offline");
  const count = socket().sent.length;
  chat.loadEarlier();
  assert.equal(socket().sent.length, count, "nothing asked without a socket");
});

test("presence: 'joined' shows at once, 'left' after the quiet time unless the name comes back", async () => {
  const { clock, socket, seen } = await joined();
  socket().open();
  answerJoin(socket());
  const presence = (event, name, count) => socket().receive({ type: "presence", event, room: ROOM, name, count });
  const lines = () => seen.notices.filter((notice) => notice.kind === "presence").map((notice) => notice.text);
  presence("joined", "carol", 3);
  assert.deepEqual(lines(), ["carol joined"]);
  assert.deepEqual(seen.members, { names: ["alice", "bob", "carol"], count: 3, ownName: "alice" });
  presence("left", "bob", 2);
  presence("left", "carol", 1);
  clock.advance(1000);
  presence("joined", "carol", 2); // back within the quiet time: neither line
  assert.deepEqual(seen.members.names, ["alice", "carol"], "the list follows at once");
  clock.advance(3999);
  assert.deepEqual(lines(), ["carol joined"]);
  clock.advance(1);
  assert.deepEqual(lines(), ["carol joined", "bob left"]);
});

test("opening the member list asks again; a refused ask is repeated after the delay", async () => {
  const { chat, clock, socket } = await joined();
  socket().open();
  answerJoin(socket());
  chat.askMembers();
  assert.deepEqual(socket().sent.at(-1), { action: "members" });
  socket().receive({ type: "error", code: "rate_limited", retryAfterMs: 500 });
  clock.advance(500);
  assert.deepEqual(socket().sent.at(-1), { action: "members" });
  assert.equal(socket().sent.filter((frame) => frame.action === "members").length, 2);
});
