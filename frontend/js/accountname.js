// The name the chat shows for a signed-in account: the authorizer's rule
// (backend/authorizer/names.py, docs/internals.md "The authorizer"), computed
// here so the page shows the same name before the chat does. A browser test
// holds the two to the same answers.
//
// - The name comes from one claim (config.js's auth.nameClaim).
// - It is shown bare only when the issuer makes that claim unique
//   (auth.nameUnique) and it is plain: at most 32 of A-Z, a-z and 2-9.
// - Otherwise: " #" and six digits from the 32-bit FNV-1a hash of `sub`
//   (UTF-8), after the name cut to leave room; "user" when the claim is missing.

export const MAX_NAME_CHARS = 32;
const TAG_DIGITS = 6;
const TAG_SEPARATOR = " #";
const FALLBACK_NAME = "user";
const PLAIN = /^[A-Za-z2-9]+$/;

/** The six-digit tag of `sub`: FNV-1a (32 bits) of its UTF-8 bytes, modulo 10^6. */
export function nameTag(sub) {
  let value = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(sub)) {
    value = Math.imul(value ^ byte, 0x01000193) >>> 0;
  }
  return String(value % 10 ** TAG_DIGITS).padStart(TAG_DIGITS, "0");
}

/** NFKC, every space separator one space, runs collapsed, ends trimmed (as the chat does). */
function normalized(raw) {
  return raw.normalize("NFKC").replace(/\p{Zs}/gu, " ").replace(/ +/g, " ").trim();
}

/**
 * The chat's name for the account of `claims` (an ID token's, with `sub`).
 * @param {Record<string, unknown>} claims
 * @param {{claim: string, unique: boolean}} rule
 */
export function accountName(claims, { claim, unique }) {
  const value = claims?.[claim];
  const base = typeof value === "string" ? normalized(value) : "";
  // Lengths in code points, as Python counts them (not UTF-16 units).
  const chars = Array.from(base);
  if (unique && chars.length <= MAX_NAME_CHARS && PLAIN.test(base)) return base;
  const suffix = TAG_SEPARATOR + nameTag(String(claims?.sub ?? ""));
  const cut = chars.slice(0, MAX_NAME_CHARS - suffix.length).join("").trimEnd();
  return (cut || FALLBACK_NAME) + suffix;
}
