// Every change to a room's messages, applied exactly once; and the catch-up
// that fetches the changes a page missed.
//
// Sans-I/O like history.js: told what arrived, answers with what to show and
// what to send. docs/protocol.md, "Message state" and "Catching up", is the
// contract:
//
// - Each state of a message carries `rev` (1 when sent, +1 per edit, delete or
//   reaction toggle). A state replaces the shown one only with a higher `rev`:
//   repeats (the catch-up re-reads an overlap) and stale states (a live frame
//   overtaken by a page) are dropped, whatever the order they come in.
// - The catch-up cursor is a time (epoch ms): the `readAt` of the pages read
//   and the `changedAt` of live frames. After a reconnect the page joins with
//   `since` = cursor and pages through `changes` by `cursor` while `more`; the
//   server re-reads an overlap before `since`, so a write that landed late is
//   still found.
// - The cursor only moves to a time up to which everything is known: within a
//   catch-up, to the last change of each page, and to the `readAt` of the
//   last page; live frames and "earlier" pages move it only between
//   catch-ups, once the open's first catch-up is done (while one runs, a live
//   frame is newer than changes the catch-up has not brought yet).
// - A catch-up after a reconnect marks where it began: the "new messages"
//   divider goes above the oldest message it inserted.

import { mineAfter } from "./reactions.js";

/** @typedef {{since: number} | {cursor: string}} ChangesRequest */

/** The shown messages' revisions and the reader's reactions on them. */
export class MessageStates {
  /** @type {Map<string, {rev: number, mine: Set<string>}>} */
  #shown = new Map();

  /**
   * A state of a message arrived (a live frame or a page entry).
   * "new": not shown yet; "changed": newer than the shown state; "stale":
   * not newer, drop it. The state to show has each reaction's `mine`.
   * @param {{id: string, rev: number, reactions: Array<{emoji: string, count: number, mine?: boolean}>,
   *   reacted?: {name: string, emoji: string, on: boolean}}} message
   * @param {string} me the reader's name
   */
  apply(message, me) {
    const known = this.#shown.get(message.id);
    if (known !== undefined && message.rev <= known.rev) return { kind: "stale", message: null };
    const mine = mineAfter(known?.mine, message, me);
    this.#shown.set(message.id, { rev: message.rev, mine });
    const reactions = message.reactions.map(({ emoji, count }) => ({ emoji, count, mine: mine.has(emoji) }));
    return { kind: known === undefined ? "new" : "changed", message: { ...message, reactions } };
  }

  has(id) {
    return this.#shown.has(id);
  }

  /** Whether `emoji` is among the reader's reactions on message `id`. */
  isMine(id, emoji) {
    return this.#shown.get(id)?.mine.has(emoji) ?? false;
  }

  /** The message is no longer shown (the log dropped it): loading it again shows it. */
  forget(id) {
    this.#shown.delete(id);
  }

  clear() {
    this.#shown.clear();
  }
}

const NEWEST = "newest";

export class CatchUp {
  /** Epoch ms up to which every change of the room is known; null before the first page. */
  #cursor = null;
  /** The read in flight: null, NEWEST (a plain join's newest page), or a changes request. */
  #chain = null;
  /** A late catch-up was asked for while a read was in flight: run it next. */
  #again = false;
  /** Whether the open's first catch-up is done (live frames may then move the cursor). */
  #caughtUp = false;
  /** Whether the chain in flight marks the divider (the catch-up of a reconnect). */
  #marking = false;
  /** The oldest message the marking chain inserted so far. */
  #firstInserted = null;
  #divider = null;

  get cursor() {
    return this.#cursor;
  }

  /** The id of the message the "new messages" divider goes above, or null. */
  get dividerId() {
    return this.#divider;
  }

  /**
   * A socket opened: what its `join` asks for. `{since}` catches up; null is
   * a plain join (nothing read yet: the newest page, history.js).
   * @returns {{since: number} | null}
   */
  opened() {
    this.closed();
    if (this.#cursor === null) {
      this.#chain = NEWEST;
      return null;
    }
    this.#start({ since: this.#cursor }, true);
    return { since: this.#cursor };
  }

  /** The socket closed: answers to its reads will never come. */
  closed() {
    this.#chain = null;
    this.#again = false;
    this.#caughtUp = false;
    this.#marking = false;
  }

  /** The read in flight got an error instead of an answer: stop waiting for it. */
  abandoned() {
    this.#chain = null;
    this.#again = false;
    this.#marking = false;
  }

  /**
   * The `changes` request still waiting for an answer, to ask again after a
   * rate_limited (a plain join's newest page is history.js's).
   * @returns {ChangesRequest[]}
   */
  inFlight() {
    return this.#chain === null || this.#chain === NEWEST ? [] : [this.#chain];
  }

  /** The catch-up a few seconds after every open (the room's member index settles). */
  catchUpAgain() {
    if (this.#chain !== null) {
      this.#again = true;
      return [];
    }
    if (this.#cursor === null) return [];
    this.#start({ since: this.#cursor }, false);
    return [this.#chain];
  }

  /**
   * A plain join's newest `history` page (no `after`, no `before`) or a
   * `changes` page arrived. `accepted`: it answers the read in flight (its
   * entries are applied either way: by `rev`, an unasked page does no harm).
   * @param {{type: "history" | "changes", messages: Array<{changedAt?: number}>, more: boolean,
   *   cursor?: string, since?: number, readAt?: number}} page
   * @returns {{accepted: boolean, requests: ChangesRequest[]}}
   */
  received(page) {
    const refused = { accepted: false, requests: [] };
    if (page.type === "history") {
      if (this.#chain !== NEWEST) return refused;
      this.#advance(page.readAt);
      return { accepted: true, requests: this.#finished() };
    }
    const chain = this.#chain;
    if (chain === null || chain === NEWEST) return refused;
    if (page.more && page.cursor !== undefined) {
      // Every change up to the page's last one is known: a drop now resumes from there.
      this.#advance(page.messages.at(-1)?.changedAt);
      this.#chain = { cursor: page.cursor };
      return { accepted: true, requests: [this.#chain] };
    }
    this.#advance(page.readAt);
    return { accepted: true, requests: this.#finished() };
  }

  /** A live message frame was applied (between catch-ups it moves the cursor). */
  live(changedAt) {
    if (this.#chain === null && this.#caughtUp) this.#advance(changedAt);
  }

  /** An "earlier" history page was applied, read at `readAt`. */
  read(readAt) {
    if (this.#chain === null && this.#caughtUp) this.#advance(readAt);
  }

  /**
   * A catch-up page inserted message `id` (one not shown before). Whether the
   * divider moved: a reconnect's catch-up puts it above the oldest it inserted.
   */
  inserted(id) {
    if (!this.#marking || (this.#firstInserted !== null && this.#firstInserted <= id)) return false;
    this.#firstInserted = id;
    this.#divider = id;
    return true;
  }

  /** The divider's message is no longer shown. */
  forgetDivider() {
    this.#divider = null;
  }

  #start(request, marking) {
    this.#chain = request;
    this.#marking = marking;
    this.#firstInserted = null;
  }

  #advance(time) {
    if (time !== undefined && (this.#cursor === null || time > this.#cursor)) this.#cursor = time;
  }

  #finished() {
    this.#chain = null;
    this.#marking = false;
    this.#caughtUp = true;
    if (this.#again) {
      this.#again = false;
      return this.catchUpAgain();
    }
    return [];
  }
}
