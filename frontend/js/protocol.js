// The wire protocol as the page speaks it (docs/protocol.md is the source of truth).
//
// Pure functions only: building frames, reading server frames into plain
// objects, and the client-side checks that mirror the backend's rules so the
// user hears about a bad nickname or an over-long message before sending it.

export const NAME_MAX_CHARS = 32;
export const ROOM_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const DEFAULT_ROOM = "lobby";

// Code points the backend refuses in names: control, format, surrogate,
// unassigned, line and paragraph separators.
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Cn}\p{Zl}\p{Zp}]/u;
const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** Length in Unicode code points, as the backend counts (not UTF-16 units). */
export function charCount(text) {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/** Problem with a nickname, in words, or null when the backend will accept it. */
export function nameProblem(rawName) {
  const name = rawName.trim();
  if (name === "") return "Choose a nickname.";
  if (charCount(name) > NAME_MAX_CHARS) return `Nicknames can be at most ${NAME_MAX_CHARS} characters.`;
  if (NOT_PRINTABLE.test(name)) return "Nicknames can only hold printable characters.";
  return null;
}

/** Problem with a room name, in words, or null when the backend will accept it. */
export function roomProblem(rawRoom) {
  if (ROOM_PATTERN.test(rawRoom.trim())) return null;
  return "Rooms are 1 to 64 letters, digits, '-' or '_'.";
}

/** The WebSocket URL for a nickname and room (both sent as query parameters). */
export function connectUrl(baseUrl, name, room) {
  const url = new URL(baseUrl);
  url.searchParams.set("name", name.trim());
  url.searchParams.set("room", room.trim());
  return url.toString();
}

export const pingFrame = () => JSON.stringify({ action: "ping" });

// Only the text travels: the sender's name and room come from the stored connection.
export const sendMessageFrame = (text) => JSON.stringify({ action: "sendmessage", text });

const ERROR_WORDS = {
  invalid_json: "The server could not read what this page sent. Reloading the page may help.",
  invalid_frame: "The server could not read what this page sent. Reloading the page may help.",
  unknown_action: "The server did not understand this page's request. Reloading the page may help.",
  invalid_field: "The server did not understand this page's request. Reloading the page may help.",
  empty_message: "Type something before sending.",
  payload_too_large: "That message was too large to deliver.",
  not_connected: "The server lost track of this connection. Reconnecting…",
  internal_error: "Something went wrong on the server. Please try again.",
};

/** Plain words for an error code (message_too_long names the configured limit). */
export function describeError(code, maxMessageChars) {
  if (code === "message_too_long") {
    return `That message was not sent: messages can be at most ${maxMessageChars} characters.`;
  }
  return ERROR_WORDS[code] ?? "Something went wrong. Please try again.";
}

/**
 * Read one server frame.
 * @returns {{type: "message", id: string, room: string, from: string, text: string, sentAt: Date}
 *   | {type: "pong"} | {type: "error", code: string} | {type: "ignored", reason: string}}
 */
export function parseServerFrame(data) {
  let frame;
  try {
    frame = JSON.parse(data);
  } catch {
    return { type: "ignored", reason: "not JSON" };
  }
  if (frame === null || typeof frame !== "object" || Array.isArray(frame)) {
    return { type: "ignored", reason: "not an object" };
  }
  switch (frame.type) {
    case "message":
      return readMessage(frame);
    case "pong":
      return { type: "pong" };
    case "error":
      return { type: "error", code: typeof frame.code === "string" ? frame.code : "internal_error" };
    default:
      // API Gateway's own frames ("Forbidden", "Internal server error") carry
      // only `message`; the protocol says to treat both as internal_error.
      if (typeof frame.message === "string" && frame.type === undefined) {
        return { type: "error", code: "internal_error" };
      }
      return { type: "ignored", reason: "unknown type" };
  }
}

function readMessage(frame) {
  const { id, room, from, text, sentAt } = frame;
  const strings = [id, room, from, text, sentAt].every((value) => typeof value === "string");
  if (!strings || !ULID_PATTERN.test(id)) return { type: "ignored", reason: "malformed message" };
  const when = new Date(sentAt);
  return { type: "message", id, room, from, text, sentAt: Number.isNaN(when.getTime()) ? new Date() : when };
}
