// frontend/js/errortext.js: the server's error codes in words, under Node.
import assert from "node:assert/strict";
import { test } from "node:test";

import { describeError } from "../../frontend/js/errortext.js";

test("not_stored says sending again is safe; invalid_cursor is not the generic fallback", () => {
  const words = ["not_stored", "invalid_cursor", "no_such_code"].map((code) => describeError(code, 2000));
  assert.match(words[0], /Sending it again is safe/);
  assert.match(words[1], /history/);
  assert.equal(new Set(words).size, 3);
});

test("rate_limited has its own calm words; message_too_long names the configured limit", () => {
  assert.match(describeError("rate_limited", 2000), /too fast/);
  assert.match(describeError("message_too_long", 1234), /at most 1234 characters/);
});

test("the refusals of an edit, delete or reaction each have their own words", () => {
  const codes = ["not_found", "not_yours", "message_deleted", "invalid_emoji", "too_many_reactions"];
  const words = codes.map((code) => describeError(code, 2000));
  assert.equal(new Set([...words, describeError("no_such_code", 2000)]).size, codes.length + 1);
});
