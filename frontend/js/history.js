// Keeping a room's log gap-free: which `history` requests to make, and when.
//
// Sans-I/O: RoomSync never touches the socket or the DOM. It is told what
// happened (a socket opened or closed, a history page or a live message
// arrived, the reader asked for older messages) and answers with the history
// requests to send. docs/protocol.md, "Catching up", is the contract:
//
// - The first time, the page asks for the newest page of the room.
// - On every open it asks for the messages `after` the newest one it knows it
//   has everything up to, then after the newest id of each page while `more`.
// - The room's member index is eventually consistent: for about a second a new
//   connection may miss live messages, so a few seconds after each open it
//   catches up once more (`catchUpAgain`).
//
// The catch-up cursor is not simply the newest id shown: a live message that
// arrived while the new connection was still missing others would skip them.
// `#syncedUpTo` only follows live messages once the late catch-up of the
// current connection has finished (from then on live delivery is complete).

export const PAGE_LIMIT = 50;

/** The smallest ULID: `after` it means "from the oldest message the room keeps". */
export const ZERO_ULID = "0".repeat(26);

const NEWEST = Symbol("newest page");

/**
 * Where `id` belongs in the ascending array `ids` (the first index whose id is
 * not smaller); `ids[index] === id` means it is already there.
 * @param {string[]} ids @param {string} id @returns {number}
 */
export function insertionIndex(ids, id) {
  let low = 0;
  let high = ids.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (ids[middle] < id) low = middle + 1;
    else high = middle;
  }
  return low;
}

const later = (a, b) => (a === null || b > a ? b : a);

/** @typedef {{after?: string, before?: string, limit: number}} HistoryRequest */

export class RoomSync {
  /** Newest id such that every message of the room up to it has been received; null: none asked yet. */
  #syncedUpTo = null;
  /** The catch-up in flight: NEWEST, the `after` cursor asked, or null. */
  #chain = null;
  /** Whether the chain in flight is a late catch-up (after the index settled). */
  #late = false;
  /** A late catch-up was asked for while a chain was in flight: run it next. */
  #again = false;
  #liveComplete = false;
  /** The `before` cursor in flight, or null. */
  #earlier = null;
  /** Whether the room has messages older than the oldest shown; null until known. */
  #moreBefore = null;

  /** A socket opened: the requests that catch up with what was missed. */
  opened() {
    this.closed();
    return this.#catchUp(false);
  }

  /** The socket closed: answers to its requests will never come. */
  closed() {
    this.#chain = null;
    this.#earlier = null;
    this.#again = false;
    this.#late = false;
    this.#liveComplete = false;
  }

  /**
   * The requests in flight got an error instead of an answer: stop waiting for
   * them. Live messages still do not move the cursor, so the next open catches
   * up from where the log is known to be complete.
   */
  abandoned() {
    this.#chain = null;
    this.#earlier = null;
    this.#again = false;
  }

  /**
   * The requests still waiting for an answer, to ask again when one was refused
   * as rate_limited (the error does not say which one).
   * @returns {HistoryRequest[]}
   */
  inFlight() {
    const requests = [];
    if (this.#chain === NEWEST) requests.push({ limit: PAGE_LIMIT });
    else if (this.#chain !== null) requests.push({ after: this.#chain, limit: PAGE_LIMIT });
    if (this.#earlier !== null) requests.push({ before: this.#earlier, limit: PAGE_LIMIT });
    return requests;
  }

  /** The late catch-up, a few seconds after an open. */
  catchUpAgain() {
    if (this.#chain !== null) {
      this.#again = true;
      return [];
    }
    return this.#catchUp(true);
  }

  /**
   * A history page arrived. `accepted` says whether its messages belong in the
   * log (an answer nobody is waiting for is dropped: it could open a gap).
   * @param {{messages: Array<{id: string}>, more: boolean, after?: string, before?: string}} page
   * @returns {{accepted: boolean, requests: HistoryRequest[]}}
   */
  received(page) {
    const newest = page.messages.at(-1)?.id ?? null;
    if (page.before !== undefined) {
      if (page.before !== this.#earlier) return { accepted: false, requests: [] };
      this.#earlier = null;
      this.#moreBefore = page.more;
      return { accepted: true, requests: [] };
    }
    if (page.after !== undefined) {
      if (page.after !== this.#chain) return { accepted: false, requests: [] };
      if (newest !== null) this.#syncedUpTo = later(this.#syncedUpTo, newest);
      // A page always holds a message when `more` is true; without one, asking
      // again with the same cursor would loop.
      if (page.more && newest !== null) {
        this.#chain = newest;
        return { accepted: true, requests: [{ after: newest, limit: PAGE_LIMIT }] };
      }
      return { accepted: true, requests: this.#finished() };
    }
    if (this.#chain !== NEWEST) return { accepted: false, requests: [] };
    // An empty room: everything from now on comes after the smallest ULID.
    this.#syncedUpTo = later(this.#syncedUpTo, newest ?? ZERO_ULID);
    // `more` speaks of messages older than the page; a log trimmed before the
    // page arrived (a flood of live messages) is missing some either way.
    this.#moreBefore = page.more || this.#moreBefore === true;
    return { accepted: true, requests: this.#finished() };
  }

  /** A live message was shown (someone's, or the own copy of a sent one). */
  live(id) {
    if (this.#liveComplete && this.#syncedUpTo !== null) this.#syncedUpTo = later(this.#syncedUpTo, id);
  }

  /**
   * Whether a live message must wait for "load earlier": it is older than the
   * oldest shown while older ones are missing, so showing it would leave a gap.
   */
  belongsToEarlier(id, oldestShown) {
    return this.#moreBefore === true && oldestShown !== null && id < oldestShown;
  }

  /** The reader asked for older messages than `oldestShown`. */
  earlier(oldestShown) {
    if (this.#earlier !== null || this.#moreBefore !== true || oldestShown === null) return [];
    this.#earlier = oldestShown;
    return [{ before: oldestShown, limit: PAGE_LIMIT }];
  }

  /** The log dropped its oldest messages (its size cap): they can be loaded again. */
  trimmed() {
    this.#moreBefore = true;
  }

  /** "hidden" (nothing older), "ready", or "loading". */
  get earlierState() {
    if (this.#moreBefore !== true) return "hidden";
    return this.#earlier === null ? "ready" : "loading";
  }

  #catchUp(late) {
    this.#late = late;
    if (this.#syncedUpTo === null) {
      this.#chain = NEWEST;
      return [{ limit: PAGE_LIMIT }];
    }
    this.#chain = this.#syncedUpTo;
    return [{ after: this.#syncedUpTo, limit: PAGE_LIMIT }];
  }

  #finished() {
    this.#chain = null;
    if (this.#again) {
      this.#again = false;
      return this.#catchUp(true);
    }
    if (this.#late) this.#liveComplete = true;
    return [];
  }
}
