// the page's side of moderation, with no DOM: the durations a
// moderator picks from, the words of the room's `moderation` notices, what a
// muted reader is told, and whether the reader was put out of the room (so the
// page stops reconnecting into a ban).
//
// The server decides everything (docs/protocol.md, "Moderation"): who is a
// moderator (the `role` frame), whether an action is allowed, until when a
// mute lasts. The page only shows it.

/** The durations of the picker (Mute…, Ban…), seconds; 0 lifts a mute or a ban. */
export const DURATIONS = Object.freeze([
  Object.freeze({ seconds: 600, words: "10 minutes" }),
  Object.freeze({ seconds: 3600, words: "1 hour" }),
  Object.freeze({ seconds: 86400, words: "1 day" }),
  Object.freeze({ seconds: 604800, words: "7 days" }),
]);
export const LIFT = 0;

/** The actions offered on a member (not the reader, not another moderator). */
export const MEMBER_ACTIONS = Object.freeze(["mute", "kick", "ban"]);

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** "14:05", or with the date when not today: a time in the reader's own zone. */
export function localTime(when, now = new Date()) {
  return (when.toDateString() === now.toDateString() ? timeFormat : dayTimeFormat).format(when);
}

/** What a confirm asks before an action: the question and its button's words. */
export function confirmWords(action, name) {
  switch (action) {
    case "mute":
      return { question: `Mute ${name}? They can still read the room.`, button: "Mute" };
    case "ban":
      return { question: `Ban ${name} from this room? Their connections close.`, button: "Ban" };
    case "kick":
      return { question: `Kick ${name} out of the room? They may come back.`, button: "Kick" };
    default:
      throw new Error(`unknown moderation action ${action}`);
  }
}

/** The words of a picker's choice: a duration, or lifting what is in force. */
export function durationChoices(action) {
  const lift = action === "mute" ? "Lift the mute" : "Lift the ban";
  return [...DURATIONS.map(({ seconds, words }) => ({ seconds, words: `for ${words}` })), { seconds: LIFT, words: lift }];
}

/**
 * The system line for a room's `moderation` notice; about the reader, it
 * speaks to them.
 * @param {{event: string, name: string, until?: Date}} notice
 * @param {string} ownName
 */
export function noticeWords({ event, name, until }, ownName, now = new Date()) {
  const you = name === ownName;
  const who = you ? "You were" : `${name} was`;
  const till = until === undefined ? "" : ` until ${localTime(until, now)}`;
  switch (event) {
    case "muted":
      return you
        ? `A moderator muted you${till}. You can still read the room.`
        : `${name} was muted by a moderator${till}.`;
    case "unmuted":
      return you ? "A moderator lifted your mute: you can send again." : `${name}'s mute was lifted.`;
    case "kicked":
      return `${who} removed from the room by a moderator.`;
    case "banned":
      return `${who} banned from the room by a moderator${till}.`;
    case "unbanned":
      return `${name}'s ban was lifted.`;
    default:
      return `${name}: ${event}`;
  }
}

/** The line under the composer while the reader is muted. */
export function mutedLine(until, now = new Date()) {
  return `A moderator muted you: your messages are refused until ${localTime(until, now)}. You can still read.`;
}

/**
 * Whether the reader is muted, and until when (from a `muted` error or notice).
 * The server's time is trusted: a mute ends when `until` has passed.
 */
export class MuteState {
  /** @type {Date | null} */
  #until = null;

  /** Muted until `until` (a later notice or error replaces an earlier one). */
  muted(until) {
    this.#until = until;
  }

  lifted() {
    this.#until = null;
  }

  /** The end of the mute in force at `now` (epoch ms), or null. */
  until(now) {
    if (this.#until !== null && this.#until.getTime() <= now) this.#until = null;
    return this.#until;
  }
}

/**
 * The reader was put out of the room by a moderator: `kicked`, or `banned`
 * (until when). Recorded from a notice naming the reader; once their socket
 * closes, the page stops (a ban would refuse every reconnect).
 */
export class Removal {
  /** @type {{event: "kicked" | "banned", until?: Date} | null} */
  #removed = null;

  /** A `moderation` notice; true when it removes the reader. */
  notice({ event, name, until }, ownName) {
    if (name !== ownName) return false;
    if (event === "kicked" || event === "banned") {
      this.#removed = until === undefined ? { event } : { event, until };
      return true;
    }
    if (event === "unbanned" && this.#removed?.event === "banned") this.#removed = null;
    return false;
  }

  get removed() {
    return this.#removed;
  }

  clear() {
    this.#removed = null;
  }
}

/** What the page says once a removed reader's socket closed (and it does not reconnect). */
export function removedWords({ event, until }, now = new Date()) {
  if (event === "banned") {
    const till = until === undefined ? "" : ` until ${localTime(until, now)}`;
    return `A moderator banned you from this room${till}. The page will not reconnect.`;
  }
  return "A moderator removed you from this room. Join again when you are ready.";
}
