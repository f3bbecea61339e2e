// frontend/js/wire.js, its message-change part: message states, changes pages, typing, the new frames.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  changesFrame,
  deleteMessageFrame,
  editMessageFrame,
  joinFrame,
  parseServerFrame,
  reactFrame,
  typingFrame,
} from "../../frontend/js/wire.js";

const ID = "01JDQ7ZK3V8Y6W4T2R1P000000";
const SENT = "2026-12-06T04:00:00.000Z";
const parse = (frame) => parseServerFrame(JSON.stringify(frame));

test("the new client frames carry exactly their fields", () => {
  assert.deepEqual(JSON.parse(editMessageFrame(ID, "fixed")), { action: "editmessage", id: ID, text: "fixed" });
  assert.deepEqual(JSON.parse(deleteMessageFrame(ID)), { action: "deletemessage", id: ID });
  assert.deepEqual(JSON.parse(reactFrame(ID, "👍")), { action: "react", id: ID, emoji: "👍" });
  assert.deepEqual(JSON.parse(typingFrame()), { action: "typing" });
  assert.deepEqual(JSON.parse(changesFrame({ since: 5 })), { action: "changes", since: 5 });
  assert.deepEqual(JSON.parse(changesFrame({ cursor: "abc" })), { action: "changes", cursor: "abc" });
  assert.deepEqual(JSON.parse(joinFrame({ since: 7 })), { action: "join", since: 7 });
});

test("a message frame reads its state: rev, edit time, reactions and who toggled", () => {
  const frame = parse({
    type: "message", room: "r", id: ID, from: "alice", text: "fixed", sentAt: SENT, rev: 4,
    changedAt: 1764990000000, editedAt: SENT,
    reactions: [{ emoji: "👍", count: 2 }, { emoji: "x", count: 0 }, "junk"],
    reacted: { name: "bob", emoji: "👍", on: true },
  });
  assert.equal(frame.rev, 4);
  assert.equal(frame.changedAt, 1764990000000);
  assert.equal(frame.editedAt.toISOString(), SENT);
  assert.equal(frame.deleted, false);
  assert.deepEqual(frame.reactions, [{ emoji: "👍", count: 2 }]);
  assert.deepEqual(frame.reacted, { name: "bob", emoji: "👍", on: true });
});

test("a tombstone has no text and no reactions; an old server's message is rev 1", () => {
  const gone = parse({ type: "message", room: "r", id: ID, from: "a", sentAt: SENT, rev: 3, deleted: true, reactions: [{ emoji: "👍", count: 1 }] });
  assert.equal(gone.type, "message");
  assert.equal(gone.text, "");
  assert.deepEqual(gone.reactions, []);
  const old = parse({ type: "message", room: "r", id: ID, from: "a", text: "hi", sentAt: SENT });
  assert.equal(old.rev, 1);
  assert.equal(parse({ type: "message", room: "r", id: ID, from: "a", sentAt: SENT }).type, "ignored");
});

test("a changes page reads its entries, mine flags and paging; more without a cursor is the last page", () => {
  const page = parse({
    type: "changes", room: "r", since: 10, more: true, cursor: "c", readAt: 99,
    messages: [
      { id: ID, from: "a", text: "t", sentAt: SENT, rev: 2, reactions: [{ emoji: "🎉", count: 1, mine: true }, { emoji: "👍", count: 2 }] },
      { id: "bad" },
    ],
  });
  assert.deepEqual(
    { ...page, messages: page.messages.length },
    { type: "changes", room: "r", since: 10, more: true, cursor: "c", readAt: 99, messages: 1 },
  );
  // Only the reader's own are marked in a page: the others are not theirs.
  assert.deepEqual(page.messages[0].reactions, [
    { emoji: "🎉", count: 1, mine: true },
    { emoji: "👍", count: 2, mine: false },
  ]);
  assert.equal(parse({ type: "changes", room: "r", messages: [], more: true, readAt: 1 }).more, false);
  assert.equal(parse({ type: "changes", room: "r", messages: [], more: false }).type, "ignored");
});

test("typing frames name who types; errors of message actions name the message", () => {
  assert.deepEqual(parse({ type: "typing", room: "r", name: "alice" }), { type: "typing", room: "r", name: "alice" });
  assert.equal(parse({ type: "typing", room: "r" }).type, "ignored");
  assert.deepEqual(parse({ type: "error", code: "not_yours", id: ID }), { type: "error", code: "not_yours", id: ID });
  assert.equal(parse({ type: "history", room: "r", messages: [], more: false, readAt: 5 }).readAt, 5);
});
