// Remembered choices (nickname and room) in localStorage.
//
// localStorage throws in some privacy modes and when full; the chat must still
// work there, it just forgets the choices on reload.

const PREFIX = "awsome-chat:";

/** @param {string} key @returns {string | null} */
export function load(key) {
  try {
    return window.localStorage.getItem(PREFIX + key);
  } catch {
    return null;
  }
}

/** @param {string} key @param {string} value */
export function save(key, value) {
  try {
    window.localStorage.setItem(PREFIX + key, value);
  } catch {
    // Not fatal: see the module comment.
  }
}
