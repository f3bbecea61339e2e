// frontend/js/sessionmoderation.js, the chat session's moderation part, driven through the
// session: the reader's role, the moderator secret, a moderator's actions, a muted reader, room
// notices, and a kicked or banned reader whose page stops reconnecting; with the fakes of fakes.mjs.
import assert from "node:assert/strict";
import { test } from "node:test";

import { describeError } from "../../frontend/js/errortext.js";
import { localTime } from "../../frontend/js/moderation.js";
import { NOW_MODERATOR, SECRET_REFUSED } from "../../frontend/js/sessionmoderation.js";
import { QUIET_TIMINGS, joinedSession } from "./fakes.mjs";

const ROOM = "lobby";
const members = { type: "members", room: ROOM, count: 1, complete: true, members: [] };
const history = { type: "history", room: ROOM, messages: [], more: false, readAt: 0 };

/** A session joined as alice with an empty room. */
async function joined() {
  const session = await joinedSession(ROOM, members);
  session.socket().receive(history);
  return session;
}

const sentActions = (socket) => socket.sent.map((frame) => frame.action);
const texts = (seen) => seen.notices.map((notice) => notice.text);

test("the server's role frame makes the page a moderator's, once; the members answer may say it too", async () => {
  const { chat, socket, seen } = await joined();
  assert.equal(chat.isModerator, false);
  socket().receive({ type: "role", moderator: true });
  socket().receive({ type: "role", moderator: true });
  assert.equal(seen.moderator, true);
  assert.equal(texts(seen).filter((text) => text === NOW_MODERATOR).length, 1);
  socket().receive({ ...members, moderator: false });
  assert.equal(chat.isModerator, false);
});

test("a moderator's actions go as their frames", async () => {
  const { chat, socket } = await joined();
  socket().receive({ type: "role", moderator: true });
  chat.mute("bob", 600);
  chat.kick("carol");
  chat.ban("dave", 0);
  assert.deepEqual(socket().sent.slice(-3), [
    { action: "mute", name: "bob", seconds: 600 },
    { action: "kick", name: "carol" },
    { action: "ban", name: "dave", seconds: 0 },
  ]);
});

test("refused actions are told in words, without disturbing the history reads", async () => {
  const { chat, socket, seen } = await joined();
  const earlier = seen.earlier;
  chat.kick("bob");
  socket().receive({ type: "error", code: "not_allowed" });
  assert.equal(texts(seen).at(-1), describeError("not_allowed", 2000));
  chat.kick("zed");
  socket().receive({ type: "error", code: "not_found" });
  assert.equal(texts(seen).at(-1), "That person is not in this room.");
  assert.equal(seen.earlier, earlier);
});

test("the moderator secret goes after the join on this open and every later one, never in the URL", async () => {
  const { chat, clock, socket, seen } = await joined();
  chat.presentModeratorSecret("hunter2");
  assert.deepEqual(socket().sent.at(-1), { action: "moderate", secret: "hunter2" });
  socket().receive({ type: "role", moderator: true });
  assert.equal(seen.moderator, true);
  socket().drop();
  clock.advance(QUIET_TIMINGS.capMs);
  socket().open();
  assert.deepEqual(sentActions(socket()), ["join", "moderate"]);
  assert.ok(!socket().url.toString().includes("hunter2"));
});

test("a wrong secret is said so and forgotten: the next open does not present it", async () => {
  const { chat, clock, socket, seen } = await joined();
  chat.presentModeratorSecret("wrong");
  socket().receive({ type: "role", moderator: false }); // the join's, before the answer
  socket().receive({ type: "error", code: "not_allowed" });
  assert.equal(texts(seen).at(-1), SECRET_REFUSED);
  assert.equal(seen.moderator, false);
  socket().drop();
  clock.advance(QUIET_TIMINGS.capMs);
  socket().open();
  assert.deepEqual(sentActions(socket()), ["join"]);
});

test("a muted send shows the line under the composer until the mute ends; no typing meanwhile", async () => {
  const { chat, clock, socket, seen } = await joined();
  chat.send("hello");
  const { clientId } = socket().sent.at(-1);
  const until = new Date(clock.now() + 600_000);
  socket().receive({ type: "error", code: "muted", clientId, until: until.toISOString() });
  assert.ok(seen.muted.includes(localTime(until, new Date(clock.now()))), seen.muted);
  assert.equal(chat.mutedUntil.getTime(), until.getTime());
  const refused = [...seen.pending.values()].at(-1);
  assert.equal(refused.state, "failed");
  assert.equal(refused.status.detail, describeError("muted", 2000));
  const before = socket().sent.length;
  chat.composing("typing while muted");
  assert.equal(socket().sent.length, before);
  clock.advance(600_000);
  assert.equal(seen.muted, null);
  chat.composing("free again");
  assert.equal(socket().sent.at(-1).action, "typing");
});

test("a muted edit or reaction says why in a line, and mutes the composer", async () => {
  const { chat, socket, seen } = await joined();
  const id = "01JDQ7ZK3V8Y6W4T2R1P000000";
  chat.react(id, "👍");
  socket().receive({ type: "error", code: "muted", id, until: "2026-12-06T13:00:00Z" });
  assert.deepEqual(seen.notices.at(-1), { text: describeError("muted", 2000), kind: "error", action: undefined });
  assert.notEqual(seen.muted, null);
});

test("a muted error naming nothing shows the mute and no error line", async () => {
  const { socket, seen } = await joined();
  const count = seen.notices.length;
  socket().receive({ type: "error", code: "muted", until: "2026-12-06T13:00:00Z" });
  assert.equal(seen.notices.length, count);
  assert.notEqual(seen.muted, null);
});

test("room notices are system lines; one muting the reader mutes the composer, unmuting frees it", async () => {
  const { socket, seen } = await joined();
  socket().receive({ type: "moderation", room: ROOM, event: "kicked", name: "bob" });
  assert.deepEqual(seen.notices.at(-1), { text: "bob was removed from the room by a moderator.", kind: "moderation", action: undefined });
  socket().receive({ type: "moderation", room: "elsewhere", event: "kicked", name: "carol" });
  assert.equal(seen.notices.at(-1).text, "bob was removed from the room by a moderator.");
  socket().receive({ type: "moderation", room: ROOM, event: "muted", name: "alice", until: "2026-12-06T13:00:00Z" });
  assert.notEqual(seen.muted, null);
  socket().receive({ type: "moderation", room: ROOM, event: "unmuted", name: "alice" });
  assert.equal(seen.muted, null);
});

test("banned, the page says so when its socket closes and does not reconnect into the ban", async () => {
  const { clock, sockets, socket, seen } = await joined();
  socket().receive({ type: "moderation", room: ROOM, event: "banned", name: "alice", until: "2026-12-06T13:00:00Z" });
  const count = sockets.length;
  socket().drop();
  clock.advance(60_000);
  assert.equal(sockets.length, count, "no reconnect");
  assert.deepEqual(seen.statuses.at(-1), { state: "closed", words: "Banned" });
  assert.match(texts(seen).at(-1), /banned you from this room .*will not reconnect/);
});

test("kicked, the page stops and offers to join again", async () => {
  const { clock, sockets, socket, seen } = await joined();
  socket().receive({ type: "moderation", room: ROOM, event: "kicked", name: "alice" });
  const count = sockets.length;
  socket().drop();
  clock.advance(60_000);
  assert.equal(sockets.length, count);
  const notice = seen.notices.at(-1);
  assert.equal(notice.action.words, "Join again");
  await notice.action.onClick();
  assert.equal(sockets.length, count + 1);
  // Banned after coming back: the old "Join again" no longer joins (into the ban).
  socket().open();
  socket().receive({ type: "moderation", room: ROOM, event: "banned", name: "alice" });
  socket().drop();
  await notice.action.onClick();
  assert.equal(sockets.length, count + 1);
});

test("someone else's ban does not stop the reader's reconnects", async () => {
  const { clock, sockets, socket } = await joined();
  socket().receive({ type: "moderation", room: ROOM, event: "banned", name: "bob" });
  const count = sockets.length;
  socket().drop();
  clock.advance(QUIET_TIMINGS.capMs);
  assert.equal(sockets.length, count + 1);
});
