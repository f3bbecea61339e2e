// The page's time and timers, behind one object so that the chat session
// (session.js) and the connection (connection.js) run under a fake clock in
// tests (tests/js) exactly as they run on the page.

/**
 * @typedef {{now: () => number,
 *   setTimeout: (callback: () => void, ms: number) => unknown, clearTimeout: (timer: unknown) => void,
 *   setInterval: (callback: () => void, ms: number) => unknown, clearInterval: (timer: unknown) => void}} Clock
 */

/** @type {Clock} the real one (wrapped: a browser refuses its timers called on another `this`) */
export const systemClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer),
  setInterval: (callback, ms) => setInterval(callback, ms),
  clearInterval: (timer) => clearInterval(timer),
};
