// The wire protocol as the page speaks it (docs/protocol.md is the source of truth).
//
// Pure functions only: the connect URL, the frames the page sends, and the
// server's frames read into plain objects. What the page says about them is
// elsewhere: errortext.js (error codes in words), inputchecks.js (the checks
// of what the reader types).

const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

// The WebSocket subprotocol the page offers (chat.events.SUBPROTOCOL; with sign-in the ID
// token travels beside it: docs/protocol.md, "Signing in").
export const SUBPROTOCOL = "awsome-chat";

/**
 * The WebSocket URL for a nickname and room, and the key that holds the name in
 * the room (namekey.js): all three are query parameters.
 */
export function connectUrl(baseUrl, name, room, key) {
  const url = new URL(baseUrl);
  url.searchParams.set("name", name.trim());
  url.searchParams.set("room", room.trim());
  if (key !== undefined) url.searchParams.set("key", key);
  return url.toString();
}

export const pingFrame = () => JSON.stringify({ action: "ping" });

export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A sendmessage frame. Only the text and the clientId travel: the sender's name
 * and room come from the stored connection. The clientId makes a resend (after
 * a reconnect, not knowing whether the first attempt got through) idempotent.
 */
export const sendMessageFrame = (text, clientId) =>
  JSON.stringify({ action: "sendmessage", text, clientId });

/** A frame carrying the fields of a history request, for `history` or `join`. */
function cursorFrame(action, { after, before, limit }) {
  const frame = { action };
  if (after !== undefined) frame.after = after;
  if (before !== undefined) frame.before = before;
  if (limit !== undefined) frame.limit = limit;
  return JSON.stringify(frame);
}

/**
 * A history request: `{limit}` for the newest page, `{after, limit}` to catch
 * up, `{before, limit}` to scroll back. Never both cursors (invalid_field).
 * @param {{after?: string, before?: string, limit?: number}} request
 */
export const historyFrame = (request) => cursorFrame("history", request);

/**
 * The first frame on every open socket: the same fields as a history request,
 * answered by a `members` frame and then that `history` page; the others in
 * the room hear the name `joined` unless it is present through another socket.
 * @param {{after?: string, before?: string, limit?: number}} request
 */
export const joinFrame = (request) => cursorFrame("join", request);

/** Ask for the room's member list again. */
export const membersFrame = () => JSON.stringify({ action: "members" });

/** How long to wait after a rate_limited error that does not say (it always should). */
export const RATE_LIMIT_FALLBACK_MS = 1000;

/**
 * Read one server frame.
 * @returns {{type: "message", id: string, room: string, from: string, text: string, sentAt: Date,
 *     clientId?: string}
 *   | {type: "history", room: string, messages: Array<{id: string, from: string, text: string,
 *     sentAt: Date}>, more: boolean, after?: string, before?: string}
 *   | {type: "members", room: string, count: number, complete: boolean,
 *     members: Array<{name: string, since: Date | null, connections: number}>}
 *   | {type: "presence", event: "joined" | "left", room: string, name: string, count: number}
 *   | {type: "pong"} | {type: "error", code: string, clientId?: string, retryAfterMs?: number}
 *   | {type: "ignored", reason: string}}
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
    case "history":
      return readHistory(frame);
    case "members":
      return readMembers(frame);
    case "presence":
      return readPresence(frame);
    case "pong":
      return { type: "pong" };
    case "error": {
      const error = withClientId(frame, {
        type: "error",
        code: typeof frame.code === "string" ? frame.code : "internal_error",
      });
      // rate_limited says when to try again; a missing or odd value waits a second.
      if (error.code === "rate_limited") {
        error.retryAfterMs = isCount(frame.retryAfterMs) ? frame.retryAfterMs : RATE_LIMIT_FALLBACK_MS;
      }
      return error;
    }
    default:
      // API Gateway's own frames ("Forbidden", "Internal server error") carry
      // only `message`; the protocol says to treat both as internal_error.
      if (typeof frame.message === "string" && frame.type === undefined) {
        return { type: "error", code: "internal_error" };
      }
      return { type: "ignored", reason: "unknown type" };
  }
}

/** The message fields shared by a `message` frame and a `history` page, or null when malformed. */
function readMessageFields({ id, from, text, sentAt }) {
  const strings = [id, from, text, sentAt].every((value) => typeof value === "string");
  if (!strings || !ULID_PATTERN.test(id)) return null;
  const when = new Date(sentAt);
  return { id, from, text, sentAt: Number.isNaN(when.getTime()) ? new Date() : when };
}

function withClientId(frame, result) {
  return typeof frame.clientId === "string" && CLIENT_ID_PATTERN.test(frame.clientId)
    ? { ...result, clientId: frame.clientId }
    : result;
}

function readMessage(frame) {
  const fields = readMessageFields(frame);
  if (fields === null || typeof frame.room !== "string") return { type: "ignored", reason: "malformed message" };
  return withClientId(frame, { type: "message", room: frame.room, ...fields });
}

function readHistory(frame) {
  const { room, messages, more, after, before } = frame;
  if (typeof room !== "string" || !Array.isArray(messages) || typeof more !== "boolean") {
    return { type: "ignored", reason: "malformed history" };
  }
  const page = {
    type: "history",
    room,
    // A malformed entry is skipped rather than losing the whole page.
    messages: messages
      .filter((entry) => entry !== null && typeof entry === "object")
      .map(readMessageFields)
      .filter((entry) => entry !== null),
    more,
  };
  if (typeof after === "string") page.after = after;
  if (typeof before === "string") page.before = before;
  return page;
}

const isCount = (value) => Number.isSafeInteger(value) && value >= 0;

function readMembers(frame) {
  const { room, count, complete, members } = frame;
  if (typeof room !== "string" || !isCount(count) || typeof complete !== "boolean" || !Array.isArray(members)) {
    return { type: "ignored", reason: "malformed members" };
  }
  const entries = [];
  for (const entry of members) {
    if (entry === null || typeof entry !== "object" || typeof entry.name !== "string") continue;
    const since = new Date(entry.since);
    entries.push({
      name: entry.name,
      since: Number.isNaN(since.getTime()) ? null : since,
      connections: Number.isSafeInteger(entry.connections) && entry.connections > 0 ? entry.connections : 1,
    });
  }
  // A malformed entry is skipped: the list is then not the whole room.
  return { type: "members", room, count, complete: complete && entries.length === members.length, members: entries };
}

function readPresence(frame) {
  const { event, room, name, count } = frame;
  const known = event === "joined" || event === "left";
  if (!known || typeof room !== "string" || typeof name !== "string" || !isCount(count)) {
    return { type: "ignored", reason: "malformed presence" };
  }
  return { type: "presence", event, room, name, count };
}
