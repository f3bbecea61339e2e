// Who is in the room, and which "joined" / "left" lines the log shows.
//
// Sans-I/O, like history.js: no socket, no DOM, no timers. The clock is passed
// in. docs/protocol.md, `members` and `presence`, is the contract:
//
// - A `members` frame (the answer to every `join`, and to `members`) replaces
//   the list; `presence` frames keep it current in between. Every frame's
//   `count` is the room's number of names, whatever the list holds.
// - Lines come from changes of the list, not from frames: a page with two
//   sockets (make-before-break) receives every `presence` twice, and a name
//   already listed that "joins" again is another connection of a present name,
//   which never makes a line.
// - A page that reconnects within a few seconds (a dropped socket) makes the
//   room see "left" then "joined". A "left" line waits QUIET_REJOIN_MS before
//   it is shown and a "joined" of the same name within that time takes it
//   back: neither line is shown. The list and the count change at once.
//   Waiting beats showing and then removing: the log is an aria-live region,
//   so a line shown has already been read out, and a line vanishing from the
//   log is more confusing than one appearing five seconds late.

export const QUIET_REJOIN_MS = 5000;

/** @typedef {{name: string, since: Date | null, connections: number}} Member */

export class Roster {
  /** @type {Map<string, Member>} by name, in the order of `since` */
  #members = new Map();
  #count = null;
  #complete = true;

  /**
   * A `members` frame: the list as the server has it now.
   * @param {{count: number, complete: boolean, members: Member[]}} frame
   */
  replace({ count, complete, members }) {
    this.#members = new Map(members.map((member) => [member.name, { ...member }]));
    this.#count = count;
    this.#complete = complete;
  }

  /**
   * A `presence` frame at `now`. Returns whether the list changed: only then
   * is there a line to show.
   * @param {{event: "joined" | "left", name: string, count: number}} frame @param {Date} now
   */
  apply({ event, name, count }, now) {
    this.#count = count;
    if (event === "left") return this.#members.delete(name);
    if (this.#members.has(name)) return false;
    this.#members.set(name, { name, since: now, connections: 1 });
    return true;
  }

  /** The number of names present, or null before the first `members` frame. */
  get count() {
    return this.#count;
  }

  /** False when the server cut the list (a very large room): `count` says how many there are. */
  get complete() {
    return this.#complete;
  }

  /** @returns {Member[]} longest present first */
  get members() {
    return [...this.#members.values()];
  }

  has(name) {
    return this.#members.has(name);
  }

  clear() {
    this.#members.clear();
    this.#count = null;
    this.#complete = true;
  }
}

/** @typedef {{event: "joined" | "left", name: string}} PresenceLine */

export class PresenceLines {
  #quietMs;
  /** @type {Map<string, number>} "left" lines waiting, by name: when they are due (ms) */
  #waiting = new Map();

  constructor(quietMs = QUIET_REJOIN_MS) {
    this.#quietMs = quietMs;
  }

  /**
   * `name` joined at `now` (ms): the lines to show now.
   * @returns {PresenceLine[]}
   */
  joined(name, now) {
    const due = this.#waiting.get(name);
    if (due !== undefined && now < due) {
      // Back within the quiet time: neither line.
      this.#waiting.delete(name);
      return [];
    }
    return [...this.due(now), { event: "joined", name }];
  }

  /** `name` left at `now` (ms): its line waits. */
  left(name, now) {
    // A second "left" (no "joined" between) keeps the first one's time.
    if (!this.#waiting.has(name)) this.#waiting.set(name, now + this.#quietMs);
  }

  /** These names are present (a `members` frame): whoever is back shows no "left" line. */
  present(names) {
    for (const name of names) this.#waiting.delete(name);
  }

  /**
   * The "left" lines whose quiet time is over at `now` (ms), in the order they left.
   * @returns {PresenceLine[]}
   */
  due(now) {
    const lines = [];
    for (const [name, due] of this.#waiting) {
      if (due > now) continue;
      this.#waiting.delete(name);
      lines.push({ event: "left", name });
    }
    return lines;
  }

  /** When the next waiting line is due (ms), or null. */
  get nextDue() {
    let next = null;
    for (const due of this.#waiting.values()) if (next === null || due < next) next = due;
    return next;
  }

  /** Another room, or another name: nothing waiting is about it. */
  clear() {
    this.#waiting.clear();
  }
}
