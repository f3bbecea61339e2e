// The key that holds the reader's name in a room (docs/protocol.md, "Connecting").
//
// The page keeps one random secret (32 bytes, base64url) in its storage,
// created once; every tab and reload of the same browser reads the same one.
// What travels as `key` is derived from it per room (SHA-256), never the
// secret itself: a key seen in one room (say, in a log of query strings)
// holds nothing in another. The backend stores only a digest of the key, and
// refuses the name to anyone presenting another key while it is held.
//
// A page served over plain http (hosting_mode = "s3-website") is not a secure
// context: browsers give it no crypto.subtle, so nothing can be derived. There
// each room gets its own random key, stored beside the secret: the same two
// properties (stable in this browser, unrelated between rooms), one stored
// value per room instead of one in all.

import { load, save } from "./storage.js";

const SECRET_BYTES = 32;
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** 32 random bytes as base64url: the secret, or a room's key without crypto.subtle. */
function randomKey() {
  return base64url(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

/** The stored value under `name` if it is a valid key, else a new one stored for next time. */
function storedKey(name) {
  const stored = load(name);
  if (stored !== null && SECRET_PATTERN.test(stored)) return stored;
  save(name, randomKey());
  // Read back: another tab created its key at the same moment, the last write
  // wins and both tabs use it.
  return load(name);
}

/** Bytes as base64url without padding (the key's alphabet: A-Z a-z 0-9 _ -). */
export function base64url(bytes) {
  const binary = String.fromCharCode(...new Uint8Array(bytes));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** This browser's secret: the stored one, or a new one stored for next time. */
export function nameSecret() {
  return storedKey("secret");
}

/** The `key` this browser presents in `room`: 43 characters of base64url. */
export async function nameKey(secret, room) {
  if (!crypto.subtle) return storedKey(`key:${room}`);
  const text = new TextEncoder().encode(`awsome-chat name key\0${room}\0${secret}`);
  return base64url(await crypto.subtle.digest("SHA-256", text));
}
