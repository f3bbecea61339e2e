// Remembered choices (nickname, room, the name secret, a sign-in session) in localStorage.
//
// localStorage throws in some privacy modes and when full; the chat must still
// work there. What could not be stored is kept in memory for the page's life,
// so the page stays consistent (the same name key on every reconnect) and only
// forgets on reload.

const PREFIX = "awsome-chat:";
/** @type {Map<string, string>} what this page saved, whether or not storage took it */
const memory = new Map();

/** @param {string} key @returns {string | null} */
export function load(key) {
  let stored = null;
  try {
    stored = window.localStorage.getItem(PREFIX + key);
  } catch {
    // Not fatal: see the module comment.
  }
  return stored ?? memory.get(key) ?? null;
}

/** @param {string} key @param {string} value */
export function save(key, value) {
  memory.set(key, value);
  try {
    window.localStorage.setItem(PREFIX + key, value);
  } catch {
    // Not fatal: see the module comment.
  }
}

/** @param {string} key */
export function forget(key) {
  memory.delete(key);
  try {
    window.localStorage.removeItem(PREFIX + key);
  } catch {
    // Not fatal: see the module comment.
  }
}
