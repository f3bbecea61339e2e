// frontend/js/history.js: which history requests the page makes (RoomSync), under Node.
import assert from "node:assert/strict";
import { test } from "node:test";

import { PAGE_LIMIT, RoomSync, ZERO_ULID, insertionIndex } from "../../frontend/js/history.js";

// ULIDs in order: A < B < C < D < E.
const [A, B, C, D, E] = [0, 1, 2, 3, 4].map((n) => `01JDQ7ZK3V8Y6W4T2R1P0${String(n).padStart(5, "0")}`);
const page = (ids, more, cursor = {}) => ({ messages: ids.map((id) => ({ id })), more, ...cursor });
const refused = { accepted: false, requests: [] };
const nothingMore = { accepted: true, requests: [] };

test("insertionIndex finds where an id goes in an ascending list, and finds it when present", () => {
  const lists = [[], [B], [B], [B], [A, C, E], [A, C, E], [A, C, E]];
  const ids = [A, A, B, C, B, D, E];
  assert.deepEqual(
    lists.map((list, i) => insertionIndex(list, ids[i])),
    [0, 0, 0, 1, 1, 2, 2],
  );
});

test("the newest page comes first; 'earlier' asks before the oldest shown until 'more' is false", () => {
  assert.equal(PAGE_LIMIT, 50);
  const sync = new RoomSync();
  assert.equal(sync.earlierState, "hidden");
  assert.deepEqual(sync.opened(), [{ limit: PAGE_LIMIT }]);
  assert.deepEqual(sync.received(page([C, D], true)), nothingMore);
  assert.equal(sync.earlierState, "ready");
  assert.deepEqual(sync.earlier(C), [{ before: C, limit: PAGE_LIMIT }]);
  assert.equal(sync.earlierState, "loading");
  assert.deepEqual(sync.earlier(C), [], "one 'earlier' in flight at a time");
  assert.deepEqual(sync.received(page([A, B], false, { before: C })), nothingMore);
  assert.equal(sync.earlierState, "hidden");
  assert.deepEqual(sync.earlier(A), []);
});

test("after a reconnect the page asks after the last id it knows, then after each page's newest", () => {
  const sync = new RoomSync();
  sync.opened();
  sync.received(page([A, B], false));
  sync.closed();
  assert.deepEqual(sync.opened(), [{ after: B, limit: 50 }]);
  assert.deepEqual(sync.received(page([B], false, { after: A })), refused, "an answer to no request");
  assert.deepEqual(sync.received(page([C], true, { after: B })), { accepted: true, requests: [{ after: C, limit: 50 }] });
  assert.deepEqual(sync.received(page([D, E], false, { after: C })), nothingMore);
  assert.deepEqual(sync.opened(), [{ after: E, limit: 50 }]);
});

test("a live message seen while the room index settles cannot make a reconnect skip others", () => {
  const sync = new RoomSync();
  sync.opened();
  sync.received(page([A], false));
  sync.live(C); // B may have been missed: the index had not settled
  sync.closed();
  assert.deepEqual(sync.opened(), [{ after: A, limit: 50 }]);
  sync.received(page([B, C], false, { after: A }));
  assert.deepEqual(sync.catchUpAgain(), [{ after: C, limit: 50 }]);
  sync.received(page([], false, { after: C }));
  sync.live(E);
  sync.closed();
  assert.deepEqual(sync.opened(), [{ after: E, limit: 50 }]);
});

test("catchUpAgain while a catch-up is in flight waits for it, then asks after its end", () => {
  const sync = new RoomSync();
  sync.opened();
  sync.received(page([A], false));
  sync.closed();
  sync.opened();
  assert.deepEqual(sync.catchUpAgain(), []);
  assert.deepEqual(sync.received(page([B], false, { after: A })), {
    accepted: true,
    requests: [{ after: B, limit: 50 }],
  });
});

test("with nothing shown, a reconnect asks after the zero ULID, so nothing sent since is lost", () => {
  assert.equal(ZERO_ULID, "0".repeat(26));
  const sync = new RoomSync();
  sync.opened();
  assert.deepEqual(sync.received(page([], false)), nothingMore);
  sync.closed();
  assert.equal(sync.earlierState, "hidden");
  assert.deepEqual(sync.opened(), [{ after: "0".repeat(26), limit: 50 }]);
});

test("an 'after' page with more but no message ends the catch-up instead of asking again", () => {
  const sync = new RoomSync();
  sync.opened();
  sync.received(page([A], false));
  sync.opened();
  assert.deepEqual(sync.received(page([], true, { after: A })), nothingMore);
});

test("an answer nobody waits for any more is not accepted; 'earlier' can be asked again", () => {
  const sync = new RoomSync();
  sync.opened();
  sync.received(page([B], true));
  sync.earlier(B);
  sync.abandoned();
  assert.equal(sync.earlierState, "ready");
  assert.deepEqual(sync.received(page([A], false, { before: B })), refused);
  sync.earlier(B);
  sync.closed();
  assert.equal(sync.earlierState, "ready");
  assert.deepEqual(sync.received(page([A], false, { before: B })), refused);
});

test("inFlight lists the requests still unanswered, to ask again after a rate_limited", () => {
  const sync = new RoomSync();
  assert.deepEqual(sync.inFlight(), []);
  sync.opened();
  assert.deepEqual(sync.inFlight(), [{ limit: 50 }]);
  sync.received(page([B, C], true));
  assert.deepEqual(sync.inFlight(), []);
  sync.earlier(B);
  sync.closed();
  sync.opened();
  sync.earlier(B);
  assert.deepEqual(sync.inFlight(), [{ after: C, limit: 50 }, { before: B, limit: 50 }]);
});

test("a live message older than the oldest shown waits while older ones are missing", () => {
  const sync = new RoomSync();
  sync.opened();
  sync.received(page([C, D], false));
  assert.equal(sync.belongsToEarlier(A, C), false);
  assert.equal(sync.earlierState, "hidden");
  sync.trimmed();
  assert.equal(sync.earlierState, "ready");
  assert.equal(sync.belongsToEarlier(A, C), true);
  assert.equal(sync.belongsToEarlier(E, C), false);
  assert.equal(sync.belongsToEarlier(A, null), false);
});

test("the newest page saying 'no more' does not hide what the size cap already dropped", () => {
  const sync = new RoomSync();
  sync.opened();
  sync.trimmed();
  sync.received(page([], false));
  assert.equal(sync.earlierState, "ready");
});
