// frontend/js/reactions.js: the picker's set, and the reader's own reactions.

import assert from "node:assert/strict";
import { test } from "node:test";

import { PICKER, mineAfter } from "../../frontend/js/reactions.js";

test("the picker offers a small fixed set of distinct emoji", () => {
  assert.equal(PICKER.length, 8);
  assert.equal(new Set(PICKER).size, 8);
});

test("a page's mine flags win over what the page thought", () => {
  const mine = mineAfter(new Set(["👍"]), { reactions: [{ emoji: "👍", count: 1, mine: false }, { emoji: "👀", count: 1, mine: true }] }, "me");
  assert.deepEqual([...mine], ["👀"]);
});

test("a live toggle by another name leaves the reader's reactions, one by the reader's name changes them", () => {
  const before = new Set(["👍"]);
  const reactions = [{ emoji: "👍", count: 2 }, { emoji: "🙏", count: 1 }];
  assert.deepEqual([...mineAfter(before, { reactions, reacted: { name: "bob", emoji: "🙏", on: true } }, "me")], ["👍"]);
  assert.deepEqual([...mineAfter(before, { reactions, reacted: { name: "me", emoji: "🙏", on: true } }, "me")], ["👍", "🙏"]);
  assert.deepEqual([...mineAfter(before, { reactions: [], reacted: { name: "me", emoji: "👍", on: false } }, "me")], []);
  assert.equal(before.size, 1); // not changed in place
});
