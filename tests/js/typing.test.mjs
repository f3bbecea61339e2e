// frontend/js/typing.js: who is typing, for how long, and when the page says it is.

import assert from "node:assert/strict";
import { test } from "node:test";

import { TYPING_EVERY_MS, TYPING_SHOWN_MS, TypingNames, TypingSignal, typingLine } from "../../frontend/js/typing.js";

test("a name types for TYPING_SHOWN_MS after its last typing frame", () => {
  const typing = new TypingNames();
  typing.typed("alice", 0);
  typing.typed("bob", 1000);
  typing.typed("alice", 4000);
  assert.deepEqual(typing.names(TYPING_SHOWN_MS), ["alice", "bob"]);
  assert.equal(typing.nextExpiry, 1000 + TYPING_SHOWN_MS);
  assert.deepEqual(typing.names(1000 + TYPING_SHOWN_MS), ["alice"]);
  assert.deepEqual(typing.names(4000 + TYPING_SHOWN_MS), []);
  assert.equal(typing.nextExpiry, null);
});

test("a name's message ends its line at once", () => {
  const typing = new TypingNames();
  typing.typed("alice", 0);
  assert.equal(typing.stopped("alice"), true);
  assert.equal(typing.stopped("alice"), false);
  assert.deepEqual(typing.names(1), []);
});

test("the line names one or two, and says several beyond", () => {
  assert.equal(typingLine([]), "");
  assert.equal(typingLine(["alice"]), "alice is typing…");
  assert.equal(typingLine(["alice", "bob"]), "alice and bob are typing…");
  assert.equal(typingLine(["alice", "bob", "carol"]), "several people are typing…");
});

test("typing goes at most every TYPING_EVERY_MS, never for an empty composer, and again after a send", () => {
  const signal = new TypingSignal();
  assert.equal(signal.changed("  ", 0), false);
  assert.equal(signal.changed("h", 0), true);
  assert.equal(signal.changed("he", TYPING_EVERY_MS - 1), false);
  assert.equal(signal.changed("hel", TYPING_EVERY_MS), true);
  signal.sent();
  assert.equal(signal.changed("n", TYPING_EVERY_MS + 1), true);
});
