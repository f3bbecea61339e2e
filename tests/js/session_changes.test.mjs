// frontend/js/session.js, its message-change part: message states applied once by rev, the `changes`
// catch-up with its divider, edit/delete/react, and typing; with the fakes of fakes.mjs.
import assert from "node:assert/strict";
import { test } from "node:test";

import { CHANGE_TOO_FAST } from "../../frontend/js/session.js";
import { QUIET_TIMINGS, joinedSession } from "./fakes.mjs";

// ULIDs in order: A < B < C < D.
const [A, B, C, D] = [0, 1, 2, 3].map((n) => `01JDQ7ZK3V8Y6W4T2R1P0${String(n).padStart(5, "0")}`);
const ROOM = "lobby";
const SENT_AT = "2026-12-06T12:00:00.000Z";
const READ_AT = Date.parse(SENT_AT);
const entry = (id, rev = 1, extra = {}) => ({ id, from: "bob", text: `text ${id}`, sentAt: SENT_AT, rev, ...extra });
const live = (id, rev = 1, extra = {}) => ({ type: "message", room: ROOM, ...entry(id, rev, extra) });
const changes = (messages, { more = false, cursor, readAt = READ_AT } = {}) => ({
  type: "changes",
  room: ROOM,
  messages,
  more,
  readAt,
  ...(cursor === undefined ? {} : { cursor }),
});
const members = { type: "members", room: ROOM, count: 1, complete: true, members: [] };

/** A session joined as alice, its first page answered with `ids` (more older ones: `more`). */
async function joined(ids = [], { more = false } = {}) {
  const session = await joinedSession(ROOM, members);
  const { socket, view } = session;
  const updates = [];
  const update = view.messages.update;
  view.messages.update = (message) => {
    updates.push(message);
    update(message);
  };
  socket().receive({ type: "history", room: ROOM, messages: ids.map((id) => entry(id)), more, readAt: READ_AT });
  return { ...session, updates };
}

/** Drop the socket and let the reconnect open (the backoff's longest wait); return the new socket. */
function reconnect({ clock, socket }) {
  const dropped = socket();
  dropped.drop();
  clock.advance(QUIET_TIMINGS.capMs);
  assert.notEqual(socket(), dropped);
  socket().open();
  socket().receive(members);
  return socket();
}

test("a newer state updates the shown message once; equal or older ones are dropped", async () => {
  const { socket, seen, updates } = await joined([A]);
  socket().receive(live(A, 3, { text: "edited", editedAt: SENT_AT }));
  socket().receive(live(A, 2, { text: "older" }));
  socket().receive(live(A, 3, { text: "edited" }));
  assert.deepEqual(updates.map((m) => [m.id, m.rev, m.text]), [[A, 3, "edited"]]);
  assert.equal(seen.byId.get(A).editedAt.toISOString(), SENT_AT);
  socket().receive(live(A, 4, { deleted: true }));
  assert.deepEqual(updates.map((m) => m.deleted), [false, true]);
});

test("the reader's own messages are editable, others' are not", async () => {
  const { socket, seen } = await joined([A]);
  socket().receive(live(B, 1, { from: "alice" }));
  assert.equal(seen.byId.get(A).editable, false);
  assert.equal(seen.byId.get(B).editable, true);
});

test("edit, delete and react go as their frames; a refusal naming the message is a notice", async () => {
  const { chat, clock, socket, seen } = await joined([A]);
  chat.editMessage(A, "fixed");
  chat.deleteMessage(A);
  chat.react(A, "👍");
  assert.deepEqual(socket().sent.slice(-3), [
    { action: "editmessage", id: A, text: "fixed" },
    { action: "deletemessage", id: A },
    { action: "react", id: A, emoji: "👍" },
  ]);
  socket().receive({ type: "error", code: "not_yours", id: A });
  assert.equal(seen.notices.at(-1).text, "Only the person who sent a message can change it.");
  // Refused for going too fast: said so, and no read is asked again for it.
  const sent = socket().sent.length;
  socket().receive({ type: "error", code: "rate_limited", id: A, retryAfterMs: 500 });
  assert.deepEqual(seen.notices.at(-1), { text: CHANGE_TOO_FAST, kind: "warning", action: undefined });
  clock.advance(1000);
  assert.equal(socket().sent.length, sent);
  socket().drop();
  chat.react(A, "👍");
  assert.equal(seen.notices.at(-1).kind, "warning");
});

test("reactions keep the reader's own from pages and from live toggles by the reader's name", async () => {
  const { socket, seen } = await joined([A]);
  socket().receive(live(A, 2, { reactions: [{ emoji: "👍", count: 1 }], reacted: { name: "alice", emoji: "👍", on: true } }));
  assert.deepEqual(seen.byId.get(A).reactions, [{ emoji: "👍", count: 1, mine: true }]);
  socket().receive(live(A, 3, { reactions: [{ emoji: "👍", count: 2 }], reacted: { name: "bob", emoji: "👍", on: true } }));
  assert.deepEqual(seen.byId.get(A).reactions, [{ emoji: "👍", count: 2, mine: true }]);
});

test("a page that does not mark a reaction as the reader's says it is not (taken back elsewhere)", async () => {
  const session = await joined([A]);
  session.socket().receive(live(A, 2, { reactions: [{ emoji: "👍", count: 1 }], reacted: { name: "alice", emoji: "👍", on: true } }));
  const again = reconnect(session);
  again.receive(changes([entry(A, 4, { reactions: [{ emoji: "👍", count: 1 }] })]));
  assert.deepEqual(session.seen.byId.get(A).reactions, [{ emoji: "👍", count: 1, mine: false }]);
});

test("a reconnect applies the changes it missed once each, and the divider goes above the first new one", async () => {
  const session = await joined([A, B]);
  const { seen, updates } = session;
  const again = reconnect(session);
  assert.deepEqual(again.sent[0], { action: "join", since: READ_AT });
  // The server re-reads an overlap: B unchanged comes again, and is dropped.
  again.receive(changes([entry(B), entry(A, 2, { text: "edited" }), entry(C)], { more: true, cursor: "p2" }));
  assert.deepEqual(again.sent.at(-1), { action: "changes", cursor: "p2" });
  again.receive(changes([entry(C), entry(B, 2, { deleted: true }), entry(D)], { readAt: READ_AT + 9000 }));
  assert.deepEqual(seen.ids, [A, B, C, D]);
  assert.deepEqual(updates.map((m) => [m.id, m.rev]), [[A, 2], [B, 2]]);
  assert.equal(seen.byId.get(B).deleted, true);
  assert.equal(seen.divider, C);
  // The late catch-up asks since the last page's readAt, and finds nothing new.
  session.clock.advance(QUIET_TIMINGS.catchUpAgainMs);
  assert.deepEqual(again.sent.at(-1), { action: "changes", since: READ_AT + 9000 });
  again.receive(changes([entry(D)], { readAt: READ_AT + 12_000 }));
  assert.equal(seen.divider, C);
  assert.equal(updates.length, 2);
  // A live change after the catch-up moves the cursor the next reconnect starts from.
  again.receive(live(D, 2, { changedAt: READ_AT + 20_000, text: "later" }));
  assert.deepEqual(reconnect(session).sent[0], { action: "join", since: READ_AT + 20_000 });
});

test("a dropped catch-up resumes from the last change it had, not from the page's read time", async () => {
  const session = await joined([A]);
  const first = reconnect(session);
  first.receive(changes([entry(B, 1, { changedAt: READ_AT + 100 })], { more: true, cursor: "p2", readAt: READ_AT + 9000 }));
  assert.deepEqual(reconnect(session).sent[0], { action: "join", since: READ_AT + 100 });
});

test("a change to a message older than the oldest shown, while older ones are missing, waits for 'load earlier'", async () => {
  const session = await joined([C], { more: true });
  const again = reconnect(session);
  again.receive(changes([entry(A, 2, { text: "edited long ago" }), entry(D)]));
  assert.deepEqual(session.seen.ids, [C, D]);
});

test("a typing line lasts a few seconds after the last typing frame, and goes when their message arrives", async () => {
  const { clock, socket, seen } = await joined();
  socket().receive({ type: "typing", room: ROOM, name: "bob" });
  socket().receive({ type: "typing", room: ROOM, name: "alice" }); // never the reader's own name
  socket().receive({ type: "typing", room: ROOM, name: "carol" });
  assert.equal(seen.typing, "bob and carol are typing…");
  socket().receive(live(A, 1, { from: "bob" }));
  assert.equal(seen.typing, "carol is typing…");
  clock.advance(5999);
  assert.equal(seen.typing, "carol is typing…");
  clock.advance(1);
  assert.equal(seen.typing, "");
});

test("composing sends typing at most every 3 s, never for an empty composer, and again after a send", async () => {
  const { chat, clock, socket } = await joined();
  const typed = () => socket().sent.filter((frame) => frame.action === "typing").length;
  chat.composing("");
  chat.composing("h");
  clock.advance(1000);
  chat.composing("he");
  assert.equal(typed(), 1);
  clock.advance(2000);
  chat.composing("hel");
  assert.equal(typed(), 2);
  chat.send("hello");
  chat.composing("n");
  assert.equal(typed(), 3);
});
