// frontend/js/backoff.js: reconnect delays, under Node.
import assert from "node:assert/strict";
import { test } from "node:test";

import { backoffDelay } from "../../frontend/js/backoff.js";

test("delays stay within the upper half of a doubling ceiling that stops at the cap", () => {
  const options = (random) => ({ baseMs: 100, capMs: 1000, random });
  const attempts = [0, 1, 2, 3, 4, 10, 50];
  assert.deepEqual(
    attempts.map((attempt) => backoffDelay(attempt, options(() => 0))),
    [50, 100, 200, 400, 500, 500, 500],
  );
  assert.deepEqual(
    attempts.map((attempt) => backoffDelay(attempt, options(() => 0.999999))),
    [100, 200, 400, 800, 1000, 1000, 1000],
  );
  const jittered = Array.from({ length: 50 }, () => backoffDelay(2, options(Math.random)));
  assert.ok(new Set(jittered).size > 10, "spread out, not in lockstep");
});

test("a nonsense attempt count is read as the first attempt, a huge one stays at the cap", () => {
  const options = { baseMs: 100, capMs: 1000, random: () => 0.999999 };
  assert.deepEqual(
    [-3, Number.NaN, Infinity, 2.7, 1e9].map((attempt) => backoffDelay(attempt, options)),
    [100, 100, 100, 400, 1000],
  );
});
