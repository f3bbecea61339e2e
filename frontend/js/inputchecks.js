// What the reader types (a nickname, a room, a message's text), checked as
// the backend will check it, with the problem in words.

export const NAME_MAX_CHARS = 32;
export const ROOM_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const DEFAULT_ROOM = "lobby";

// Names: docs/protocol.md, "Connecting", mirrored from backend/chat/names.py as
// far as a browser can. The backend stays the authority; these checks only let
// the page explain a refusal before connecting (a refused handshake shows the
// page no reason). Where the browser cannot tell exactly, the page is lenient.

// Refused in names: control, format, private-use, unassigned, surrogate, line
// and paragraph separators.
const REFUSED_IN_NAME = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Zl}\p{Zp}]/u;
// Letters and symbols that render as nothing or as blank space (Hangul fillers,
// the braille blank, Khmer inherent vowels, ...): names.py's _BLANK_LOOKING.
const BLANK_LOOKING = /[\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5\u180e\u2060-\u2064\u034f]/u;
const MARK = /[\p{Mn}\p{Me}]/u;
const VISIBLE = /[\p{L}\p{N}\p{S}]/u;
const LETTER = /\p{L}/u;
const SPACE_RUNS = /\p{Zs}+/gu;
export const MAX_MARKS_PER_LETTER = 2;

// The scripts names.py tells apart (it reads the first word of a letter's
// Unicode name; Han ideographs are "CJK"). Letters of other scripts, and of the
// Common script, are not checked here: the backend decides.
const SCRIPTS = [
  "Latin", "Greek", "Cyrillic", "Armenian", "Hebrew", "Arabic", "Syriac", "Thaana",
  "Devanagari", "Bengali", "Gurmukhi", "Gujarati", "Oriya", "Tamil", "Telugu", "Kannada",
  "Malayalam", "Sinhala", "Thai", "Lao", "Tibetan", "Myanmar", "Georgian", "Hangul",
  "Ethiopic", "Cherokee", "Khmer", "Mongolian", "Hiragana", "Katakana", "Bopomofo", "Han",
  "Yi",
].map((script) => [script === "Han" ? "CJK" : script, new RegExp(`\\p{Script=${script}}`, "u")]);
// Scripts written together in one name (names.py's _COMPATIBLE).
const COMPATIBLE = [new Set(["CJK", "Hiragana", "Katakana"]), new Set(["CJK", "Hangul"])];

/** Length in Unicode code points, as the backend counts (not UTF-16 units). */
export function charCount(text) {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/**
 * A name as the backend keeps it: NFKC (fullwidth letters become ASCII), every
 * run of spaces one space, trimmed.
 */
export function normalizeName(rawName) {
  return rawName.normalize("NFKC").replace(SPACE_RUNS, " ").trim();
}

function scriptOf(letter) {
  return SCRIPTS.find(([, pattern]) => pattern.test(letter))?.[0] ?? null;
}

const scriptsCompatible = (scripts) =>
  scripts.size <= 1 || COMPATIBLE.some((group) => [...scripts].every((script) => group.has(script)));

/** Problem with a nickname, in words, or null when the backend will accept it. */
export function nameProblem(rawName) {
  const name = normalizeName(rawName);
  if (name === "") return "Choose a nickname.";
  if (charCount(name) > NAME_MAX_CHARS) return `Nicknames can be at most ${NAME_MAX_CHARS} characters.`;
  let marks = 0;
  let visible = false;
  const scripts = new Set();
  // Decomposed, so that a precomposed letter's accent counts among the marks on it.
  for (const char of name.normalize("NFD")) {
    if (REFUSED_IN_NAME.test(char) || BLANK_LOOKING.test(char)) {
      return "Nicknames can only hold printable characters: no invisible or blank-looking ones.";
    }
    if (MARK.test(char)) {
      marks += 1;
      if (marks > MAX_MARKS_PER_LETTER) {
        return `Nicknames can have at most ${MAX_MARKS_PER_LETTER} accents or marks on one letter.`;
      }
      continue;
    }
    marks = 0;
    if (VISIBLE.test(char)) visible = true;
    const script = LETTER.test(char) ? scriptOf(char) : null;
    if (script !== null) scripts.add(script);
  }
  if (!visible) return "Nicknames need at least one letter, digit or symbol.";
  if (!scriptsCompatible(scripts)) {
    return "Nicknames cannot mix letters of different scripts (such as a Cyrillic letter among Latin ones).";
  }
  return null;
}

// docs/protocol.md, `sendmessage`: newlines and tabs are fine; other C0 and C1
// controls and bidirectional overrides and isolates are refused (invalid_field).
const REFUSED_IN_TEXT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu;

const codePoint = (char) => `U+${char.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}`;

/** Problem with a message's text (besides its length), in words, or null. */
export function textProblem(text) {
  const refused = [...new Set(text.match(REFUSED_IN_TEXT) ?? [])];
  if (refused.length === 0) return null;
  const one = refused.length === 1;
  return (
    `Not sent: this message holds ${one ? "an invisible character" : "invisible characters"} ` +
    `that can disguise or break text (${refused.map(codePoint).join(", ")}). ` +
    `Remove ${one ? "it" : "them"} to send.`
  );
}

/** Problem with a room name, in words, or null when the backend will accept it. */
export function roomProblem(rawRoom) {
  if (ROOM_PATTERN.test(rawRoom.trim())) return null;
  return "Rooms are 1 to 64 letters, digits, '-' or '_'.";
}
