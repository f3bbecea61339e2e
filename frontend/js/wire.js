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

/** A frame carrying the fields of a history request, for `history` or `join` (`since`: join only). */
function cursorFrame(action, { after, before, since, limit }) {
  const frame = { action };
  if (after !== undefined) frame.after = after;
  if (before !== undefined) frame.before = before;
  if (since !== undefined) frame.since = since;
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
 * With `since` (a catch-up, changes.js) the page after `members` is a `changes` frame.
 * @param {{after?: string, before?: string, since?: number, limit?: number}} request
 */
export const joinFrame = (request) => cursorFrame("join", request);

/** Ask for the room's member list again. */
export const membersFrame = () => JSON.stringify({ action: "members" });

// ------------------------------------------------ message changes, typing, catch-up
// docs/protocol.md: editing, deleting and reacting to a message, typing, and
// the `changes` feed a page catches up with.

/** Replace the text of an own message (the same text rules as sendmessage). */
export const editMessageFrame = (id, text) => JSON.stringify({ action: "editmessage", id, text });

/** Delete an own message: the room sees a tombstone. */
export const deleteMessageFrame = (id) => JSON.stringify({ action: "deletemessage", id });

/** Toggle the reader's reaction `emoji` on a message. */
export const reactFrame = (id, emoji) => JSON.stringify({ action: "react", id, emoji });

/** "I am writing": the others see a typing line for a few seconds. */
export const typingFrame = () => JSON.stringify({ action: "typing" });

/**
 * A page of the room's changes: `{since}` (epoch ms) starts a catch-up,
 * `{cursor}` (the previous page's) continues it.
 * @param {{since?: number, cursor?: string, limit?: number}} request
 */
export function changesFrame({ since, cursor, limit }) {
  const frame = { action: "changes" };
  if (cursor !== undefined) frame.cursor = cursor;
  else if (since !== undefined) frame.since = since;
  if (limit !== undefined) frame.limit = limit;
  return JSON.stringify(frame);
}

// ------------------------------------------------------------------------ moderation
// docs/protocol.md, "Moderation": a moderator's actions. The server decides who
// is one (the `role` frame); anyone else's action is refused (not_allowed).

/**
 * Open chat: present the deployment's moderator secret on this connection
 * (a frame body, never the URL). Answered by a `role` frame, or not_allowed.
 */
export const moderateFrame = (secret) => JSON.stringify({ action: "moderate", secret });

/** Mute `name` in the room for `seconds` (0 lifts the mute). */
export const muteFrame = (name, seconds) => JSON.stringify({ action: "mute", name, seconds });

/** Close every connection of `name` in the room (they may come back). */
export const kickFrame = (name) => JSON.stringify({ action: "kick", name });

/** Close `name`'s connections and refuse their connects for `seconds` (0 lifts the ban). */
export const banFrame = (name, seconds) => JSON.stringify({ action: "ban", name, seconds });

/** The events of a `moderation` notice. */
export const MODERATION_EVENTS = Object.freeze(["muted", "unmuted", "kicked", "banned", "unbanned"]);

/** How long to wait after a rate_limited error that does not say (it always should). */
export const RATE_LIMIT_FALLBACK_MS = 1000;

/**
 * Read one server frame.
 * A message (`Message` below) is its current state: `{id, from, text, sentAt, rev,
 * deleted, reactions: Array<{emoji, count, mine?}>, changedAt?, editedAt?: Date}`.
 * @returns {{type: "message", room: string, clientId?: string,
 *     reacted?: {name: string, emoji: string, on: boolean}} & Message
 *   | {type: "history", room: string, messages: Message[], more: boolean, after?: string,
 *     before?: string, readAt?: number}
 *   | {type: "changes", room: string, messages: Message[], more: boolean, cursor?: string,
 *     since?: number, readAt: number}
 *   | {type: "typing", room: string, name: string}
 *   | {type: "members", room: string, count: number, complete: boolean,
 *     members: Array<{name: string, since: Date | null, connections: number, moderator?: true}>,
 *     moderator?: boolean}
 *   | {type: "presence", event: "joined" | "left", room: string, name: string, count: number}
 *   | {type: "role", moderator: boolean}
 *   | {type: "moderation", room: string, event: "muted" | "unmuted" | "kicked" | "banned" | "unbanned",
 *     name: string, until?: Date}
 *   | {type: "pong"} | {type: "error", code: string, clientId?: string, id?: string,
 *     retryAfterMs?: number, until?: Date}
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
    case "changes":
      return readChanges(frame);
    case "typing":
      return readTyping(frame);
    case "pong":
      return { type: "pong" };
    case "role":
      return typeof frame.moderator === "boolean"
        ? { type: "role", moderator: frame.moderator }
        : { type: "ignored", reason: "malformed role" };
    case "moderation":
      return readModeration(frame);
    case "error": {
      const error = withClientId(frame, {
        type: "error",
        code: typeof frame.code === "string" ? frame.code : "internal_error",
      });
      // Errors of editmessage, deletemessage and react name the message.
      if (typeof frame.id === "string" && ULID_PATTERN.test(frame.id)) error.id = frame.id;
      // rate_limited says when to try again; a missing or odd value waits a second.
      if (error.code === "rate_limited") {
        error.retryAfterMs = isCount(frame.retryAfterMs) ? frame.retryAfterMs : RATE_LIMIT_FALLBACK_MS;
      }
      // muted says until when.
      const until = readDate(frame.until);
      if (until !== null) error.until = until;
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

/**
 * The message fields shared by a `message` frame and `history` and `changes`
 * pages, or null when malformed: the message as it is now (docs/protocol.md,
 * "Message state"). `rev` orders its states (changes.js); a tombstone
 * (`deleted`, and `deletedBy` "author" or "moderator") has no text and no
 * reactions; `mine` is only known in pages.
 */
function readMessageFields(
  { id, from, text, sentAt, rev, changedAt, editedAt, deleted, deletedBy, reactions },
  inPage = false,
) {
  const strings = [id, from, sentAt].every((value) => typeof value === "string");
  const gone = deleted === true;
  if (!strings || !ULID_PATTERN.test(id) || (!gone && typeof text !== "string")) return null;
  const when = new Date(sentAt);
  const fields = {
    id,
    from,
    text: gone ? "" : text,
    sentAt: Number.isNaN(when.getTime()) ? new Date() : when,
    // A server without revisions sends every message once: each is its first state.
    rev: Number.isSafeInteger(rev) && rev > 0 ? rev : 1,
    deleted: gone,
    reactions: gone ? [] : readReactions(reactions, inPage),
  };
  if (isCount(changedAt)) fields.changedAt = changedAt;
  // a tombstone says who removed it ("author" or "moderator").
  if (gone && (deletedBy === "moderator" || deletedBy === "author")) fields.deletedBy = deletedBy;
  const edited = typeof editedAt === "string" ? new Date(editedAt) : null;
  if (!gone && edited !== null && !Number.isNaN(edited.getTime())) fields.editedAt = edited;
  return fields;
}

/**
 * `[{emoji, count, mine?}]`; a malformed entry is skipped. A page (read for
 * this reader) marks only the reader's own (`mine: true`): there every
 * reaction gets `mine`; a live frame says nothing of it.
 */
function readReactions(reactions, inPage) {
  if (!Array.isArray(reactions)) return [];
  const read = [];
  for (const entry of reactions) {
    if (entry === null || typeof entry !== "object") continue;
    const { emoji, count, mine } = entry;
    if (typeof emoji !== "string" || emoji === "" || !Number.isSafeInteger(count) || count < 1) continue;
    read.push(inPage ? { emoji, count, mine: mine === true } : { emoji, count });
  }
  return read;
}

/** The entries of a page; a malformed entry is skipped rather than losing the whole page. */
function readEntries(messages) {
  return messages
    .filter((entry) => entry !== null && typeof entry === "object")
    .map((entry) => readMessageFields(entry, true))
    .filter((entry) => entry !== null);
}

function readChanges(frame) {
  const { room, messages, more, cursor, since, readAt } = frame;
  if (typeof room !== "string" || !Array.isArray(messages) || typeof more !== "boolean" || !isCount(readAt)) {
    return { type: "ignored", reason: "malformed changes" };
  }
  const page = { type: "changes", room, messages: readEntries(messages), more, readAt };
  if (typeof cursor === "string" && cursor !== "") page.cursor = cursor;
  if (isCount(since)) page.since = since;
  // `more` without a cursor cannot be followed: the page is the last one.
  if (page.cursor === undefined) page.more = false;
  return page;
}

function readTyping({ room, name }) {
  if (typeof room !== "string" || typeof name !== "string" || name === "") {
    return { type: "ignored", reason: "malformed typing" };
  }
  return { type: "typing", room, name };
}

function withClientId(frame, result) {
  return typeof frame.clientId === "string" && CLIENT_ID_PATTERN.test(frame.clientId)
    ? { ...result, clientId: frame.clientId }
    : result;
}

function readMessage(frame) {
  const fields = readMessageFields(frame);
  if (fields === null || typeof frame.room !== "string") return { type: "ignored", reason: "malformed message" };
  const message = withClientId(frame, { type: "message", room: frame.room, ...fields });
  // A reaction toggle says who toggled which way: the page keeps its own "mine" from it.
  const reacted = frame.reacted;
  if (reacted !== null && typeof reacted === "object" && typeof reacted.name === "string"
      && typeof reacted.emoji === "string" && typeof reacted.on === "boolean") {
    message.reacted = { name: reacted.name, emoji: reacted.emoji, on: reacted.on };
  }
  return message;
}

function readHistory(frame) {
  const { room, messages, more, after, before } = frame;
  if (typeof room !== "string" || !Array.isArray(messages) || typeof more !== "boolean") {
    return { type: "ignored", reason: "malformed history" };
  }
  const page = {
    type: "history",
    room,
    messages: readEntries(messages),
    more,
  };
  if (isCount(frame.readAt)) page.readAt = frame.readAt;
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
    const member = {
      name: entry.name,
      since: Number.isNaN(since.getTime()) ? null : since,
      connections: Number.isSafeInteger(entry.connections) && entry.connections > 0 ? entry.connections : 1,
    };
    if (entry.moderator === true) member.moderator = true;
    entries.push(member);
  }
  // A malformed entry is skipped: the list is then not the whole room.
  const read = { type: "members", room, count, complete: complete && entries.length === members.length, members: entries };
  // the join's answer may say whether the reader is a moderator.
  if (typeof frame.moderator === "boolean") read.moderator = frame.moderator;
  return read;
}

/** An ISO time, or null when absent or unreadable. */
function readDate(value) {
  if (typeof value !== "string") return null;
  const when = new Date(value);
  return Number.isNaN(when.getTime()) ? null : when;
}

function readModeration(frame) {
  const { room, event, name } = frame;
  if (typeof room !== "string" || !MODERATION_EVENTS.includes(event) || typeof name !== "string" || name === "") {
    return { type: "ignored", reason: "malformed moderation" };
  }
  const notice = { type: "moderation", room, event, name };
  const until = readDate(frame.until);
  if (until !== null) notice.until = until;
  return notice;
}

function readPresence(frame) {
  const { event, room, name, count } = frame;
  const known = event === "joined" || event === "left";
  if (!known || typeof room !== "string" || typeof name !== "string" || !isCount(count)) {
    return { type: "ignored", reason: "malformed presence" };
  }
  return { type: "presence", event, room, name, count };
}
