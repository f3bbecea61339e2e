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
// - Make-before-break: the successor's `join` answer may be read while
//   presence frames are still on their way, and a frame reaching the old
//   socket after the swap is never read. So that answer (`renew`) changes the
//   list at once but the lines wait for the frames: a change it made that no
//   line has shown is announced by the presence frame that follows within
//   IN_FLIGHT_MS (bob listed, then "bob joined": one line), and a frame that
//   only repeats what the reader was shown makes none (bob shown joining, an
//   answer read before he came, then "bob joined" again). A change no frame
//   follows stays unannounced, as every `members` frame's changes do: in a
//   room too large for notices none come.
// - A page that reconnects within a few seconds (a dropped socket) makes the
//   room see "left" then "joined". A "left" line waits QUIET_REJOIN_MS before
//   it is shown and a "joined" of the same name within that time takes it
//   back: neither line is shown. The list and the count change at once.
//   Waiting beats showing and then removing: the log is an aria-live region,
//   so a line shown has already been read out, and a line vanishing from the
//   log is more confusing than one appearing five seconds late.

export const QUIET_REJOIN_MS = 5000;
// A presence frame on its way when a renewal's `members` frame was read arrives within this.
export const IN_FLIGHT_MS = 5000;

/** @typedef {{name: string, since: Date | null, connections: number}} Member */

export class Roster {
  /** @type {Map<string, Member>} by name, in the order of `since` */
  #members = new Map();
  #count = null;
  #complete = true;
  /**
   * Changes a renewal's `members` frame made to the list that no line has
   * shown yet, by name: the line they wait for, and until when (ms).
   * @type {Map<string, {event: "joined" | "left", until: number}>}
   */
  #unannounced = new Map();

  /**
   * A `members` frame: the list as the server has it now.
   * @param {{count: number, complete: boolean, members: Member[]}} frame
   */
  replace({ count, complete, members }) {
    this.#members = new Map(members.map((member) => [member.name, { ...member }]));
    this.#count = count;
    this.#complete = complete;
    this.#unannounced.clear();
  }

  /**
   * The successor's `join` answer at `now` (make-before-break): the list, as
   * `replace`, whose changes wait IN_FLIGHT_MS for the presence frames
   * that announce them (see the top of this file).
   * @param {{count: number, complete: boolean, members: Member[]}} frame @param {Date} now
   */
  renew(frame, now) {
    // What the lines have shown present: the list, less and plus what is still unannounced.
    const shown = new Set(this.#members.keys());
    for (const [name, { event }] of this.#unannounced) {
      if (event === "joined") shown.delete(name);
      else shown.add(name);
    }
    this.replace(frame);
    const until = now.getTime() + IN_FLIGHT_MS;
    for (const name of this.#members.keys()) {
      if (!shown.has(name)) this.#unannounced.set(name, { event: "joined", until });
    }
    for (const name of shown) {
      if (!this.#members.has(name)) this.#unannounced.set(name, { event: "left", until });
    }
  }

  /**
   * A `presence` frame at `now`. Returns whether there is a line to show: the
   * list changed; but within IN_FLIGHT_MS of a renewal that changed this name,
   * whether the frame announces that change (rather than repeat a line shown).
   * @param {{event: "joined" | "left", name: string, count: number}} frame @param {Date} now
   */
  apply({ event, name, count }, now) {
    this.#count = count;
    const waiting = this.#unannounced.get(name);
    this.#unannounced.delete(name);
    const announces = waiting !== undefined && now.getTime() < waiting.until ? waiting.event === event : null;
    let changed;
    if (event === "left") {
      changed = this.#members.delete(name);
    } else {
      changed = !this.#members.has(name);
      if (changed) this.#members.set(name, { name, since: now, connections: 1 });
    }
    return announces ?? changed;
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
    this.#unannounced.clear();
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
