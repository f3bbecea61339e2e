// frontend/js/changes.js: message states applied by rev, and the catch-up's cursor and divider.

import assert from "node:assert/strict";
import { test } from "node:test";

import { CatchUp, MessageStates } from "../../frontend/js/changes.js";

// ULIDs in order: A < B < C < D.
const [A, B, C, D] = [0, 1, 2, 3].map((n) => `01JDQ7ZK3V8Y6W4T2R1P0${String(n).padStart(5, "0")}`);

const state = (id, rev, reactions = [], extra = {}) => ({ id, rev, reactions, ...extra });
const changes = (messages, more, fields = {}) => ({ type: "changes", messages, more, readAt: 0, ...fields });
const newest = (readAt) => ({ type: "history", messages: [], more: false, readAt });

test("a state replaces the shown one only with a higher rev, whatever the order", () => {
  const states = new MessageStates();
  const kinds = [1, 3, 2, 3, 4, 1].map((rev) => states.apply(state(A, rev), "me").kind);
  assert.deepEqual(kinds, ["new", "changed", "stale", "stale", "changed", "stale"]);
});

test("a forgotten message is new again", () => {
  const states = new MessageStates();
  states.apply(state(A, 2), "me");
  states.forget(A);
  assert.equal(states.has(A), false);
  assert.equal(states.apply(state(A, 2), "me").kind, "new");
});

test("a page's mine flags are the reader's reactions; live frames toggle them by reacted", () => {
  const states = new MessageStates();
  const page = states.apply(state(A, 2, [{ emoji: "👍", count: 2, mine: true }, { emoji: "🎉", count: 1, mine: false }]), "me");
  assert.deepEqual(page.message.reactions, [
    { emoji: "👍", count: 2, mine: true },
    { emoji: "🎉", count: 1, mine: false },
  ]);
  // Someone else toggles: mine is kept.
  const other = states.apply(
    state(A, 3, [{ emoji: "👍", count: 3 }, { emoji: "🎉", count: 1 }], { reacted: { name: "bob", emoji: "👍", on: true } }),
    "me",
  );
  assert.deepEqual(other.message.reactions.map((r) => r.mine), [true, false]);
  // The reader (from another tab) adds 🎉 and takes 👍 back.
  states.apply(state(A, 4, [{ emoji: "👍", count: 3 }, { emoji: "🎉", count: 2 }], { reacted: { name: "me", emoji: "🎉", on: true } }), "me");
  const off = states.apply(
    state(A, 5, [{ emoji: "👍", count: 2 }, { emoji: "🎉", count: 2 }], { reacted: { name: "me", emoji: "👍", on: false } }),
    "me",
  );
  assert.deepEqual(off.message.reactions, [
    { emoji: "👍", count: 2, mine: false },
    { emoji: "🎉", count: 2, mine: true },
  ]);
  assert.equal(states.isMine(A, "🎉"), true);
  // A tombstone has no reactions: none is the reader's.
  states.apply(state(A, 6, [], { deleted: true }), "me");
  assert.equal(states.isMine(A, "🎉"), false);
});

test("the first open is a plain join; a reconnect joins since the newest page's readAt", () => {
  const catchUp = new CatchUp();
  assert.equal(catchUp.opened(), null);
  assert.deepEqual(catchUp.received(newest(1000)), { accepted: true, requests: [] });
  assert.equal(catchUp.cursor, 1000);
  catchUp.closed();
  assert.deepEqual(catchUp.opened(), { since: 1000 });
});

test("a catch-up pages by cursor while more, and resumes from the last change it has", () => {
  const catchUp = new CatchUp();
  catchUp.opened();
  catchUp.received(newest(1000));
  catchUp.closed();
  catchUp.opened();
  const first = catchUp.received(changes([state(A, 2, [], { changedAt: 1500 }), state(B, 1, [], { changedAt: 1700 })], true, { cursor: "c1", readAt: 9000 }));
  assert.deepEqual(first, { accepted: true, requests: [{ cursor: "c1" }] });
  // Not past the page's last change: the pages after it are not read yet.
  assert.equal(catchUp.cursor, 1700);
  assert.deepEqual(catchUp.inFlight(), [{ cursor: "c1" }]);
  catchUp.closed();
  assert.deepEqual(catchUp.opened(), { since: 1700 });
  catchUp.received(changes([state(A, 2, [], { changedAt: 1500 })], true, { cursor: "c2" }));
  assert.deepEqual(catchUp.received(changes([state(C, 1, [], { changedAt: 8000 })], false, { readAt: 9500 })), {
    accepted: true,
    requests: [],
  });
  assert.equal(catchUp.cursor, 9500);
  assert.deepEqual(catchUp.inFlight(), []);
});

test("more without a cursor ends the catch-up rather than looping", () => {
  const catchUp = new CatchUp();
  catchUp.opened();
  catchUp.received(newest(10));
  catchUp.closed();
  catchUp.opened();
  assert.deepEqual(catchUp.received(changes([], true, { readAt: 20 })), { accepted: true, requests: [] });
  assert.equal(catchUp.cursor, 20);
});

test("live frames move the cursor only between catch-ups", () => {
  const catchUp = new CatchUp();
  catchUp.opened();
  catchUp.live(500); // before the newest page: ignored
  catchUp.received(newest(1000));
  catchUp.live(1200);
  assert.equal(catchUp.cursor, 1200);
  catchUp.closed();
  catchUp.opened();
  catchUp.live(5000); // the catch-up from 1200 has not brought what came before it
  catchUp.read(5000);
  assert.equal(catchUp.cursor, 1200);
  catchUp.received(changes([], false, { readAt: 4000 }));
  catchUp.live(4100);
  catchUp.read(4200);
  assert.equal(catchUp.cursor, 4200);
});

test("the late catch-up runs after the read in flight, from the cursor", () => {
  const catchUp = new CatchUp();
  catchUp.opened();
  assert.deepEqual(catchUp.catchUpAgain(), []);
  assert.deepEqual(catchUp.received(newest(1000)), { accepted: true, requests: [{ since: 1000 }] });
  assert.deepEqual(catchUp.received(changes([], false, { readAt: 3000 })), { accepted: true, requests: [] });
  assert.deepEqual(catchUp.catchUpAgain(), [{ since: 3000 }]);
});

test("an answer nobody waits for is not taken as the catch-up's", () => {
  const catchUp = new CatchUp();
  assert.equal(catchUp.received(changes([], false, { readAt: 50 })).accepted, false);
  catchUp.opened();
  assert.equal(catchUp.received(changes([], false, { readAt: 50 })).accepted, false);
  catchUp.received(newest(100));
  assert.equal(catchUp.received(newest(200)).accepted, false);
  assert.equal(catchUp.cursor, 100);
  catchUp.closed();
  catchUp.opened();
  catchUp.abandoned(); // the join was refused
  assert.deepEqual(catchUp.inFlight(), []);
  assert.equal(catchUp.received(changes([], false, { readAt: 900 })).accepted, false);
});

test("the divider goes above the oldest message a reconnect's catch-up inserted", () => {
  const catchUp = new CatchUp();
  catchUp.opened();
  assert.equal(catchUp.inserted(A), false); // the first load marks nothing
  catchUp.received(newest(100));
  catchUp.closed();
  catchUp.opened();
  assert.equal(catchUp.inserted(C), true);
  assert.equal(catchUp.inserted(B), true);
  assert.equal(catchUp.inserted(D), false);
  catchUp.received(changes([], true, { cursor: "x" }));
  assert.equal(catchUp.inserted(D), false); // later pages of the same catch-up too
  assert.equal(catchUp.dividerId, B);
  catchUp.received(changes([], false, { readAt: 200 }));
  // The late catch-up (the index settling), and live messages, do not move it.
  catchUp.catchUpAgain();
  assert.equal(catchUp.inserted(D), false);
  assert.equal(catchUp.dividerId, B);
  // The next reconnect's catch-up moves it to what it inserted, even if newer.
  catchUp.received(changes([], false, { readAt: 300 }));
  catchUp.closed();
  catchUp.opened();
  assert.equal(catchUp.inserted(D), true);
  assert.equal(catchUp.dividerId, D);
});
