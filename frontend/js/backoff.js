// Reconnect delays: capped exponential backoff with "equal jitter".
//
// The ceiling doubles per failed attempt up to `capMs`; the delay is drawn
// uniformly from the upper half of it, so many clients dropped at once by the
// same server event spread out instead of reconnecting in lockstep, yet no
// client ever retries immediately.

/**
 * Milliseconds to wait before reconnect attempt number `attempt` (0-based).
 * @param {number} attempt failed attempts so far
 * @param {{baseMs: number, capMs: number, random?: () => number}} options
 * @returns {number}
 */
export function backoffDelay(attempt, { baseMs, capMs, random = Math.random }) {
  const safeAttempt = Math.max(0, Math.floor(Number.isFinite(attempt) ? attempt : 0));
  // 2 ** 31 already exceeds any sensible cap; bounding the exponent avoids Infinity.
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(safeAttempt, 31));
  const half = ceiling / 2;
  return Math.round(half + random() * half);
}
