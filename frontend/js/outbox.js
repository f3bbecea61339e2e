// Messages the reader sent that the server has not acknowledged yet.
//
// Pure bookkeeping, no socket and no DOM. Each message keeps the clientId it
// was given when typed, for good: a resend after a reconnect (not knowing
// whether the first attempt got through) or a retry after an error uses the
// same one, and the server stores and broadcasts a clientId at most once
// (docs/protocol.md, `sendmessage`). The own copy of the `message`, carrying
// the clientId, is the acknowledgement.
//
// States: "queued" (waiting for an open socket), "sending" (sent on the current
// socket, not acknowledged), "held" (refused as rate_limited: it goes again by
// itself, with the same clientId, once `retryAt` has passed; not a failure),
// "failed" (the server answered with another error).
//
// Messages go in the order typed: while one is held, the ones typed after it
// wait behind it rather than overtake it, and held ones go again one by one.

// Errors that sending the same text again cannot cure: the reader must edit it.
export const NEEDS_EDIT = new Set([
  "empty_message",
  "message_too_long",
  "payload_too_large",
  "invalid_field",
  "message_blocked",
]);

/** Whether a message refused with `code` is worth sending again unchanged. */
export function canRetry(code) {
  return !NEEDS_EDIT.has(code);
}

/** @typedef {{clientId: string, text: string, state: "queued" | "sending" | "held" | "failed",
 *   code: string | null, retryAt?: number}} OutgoingMessage */

export class Outbox {
  /** @type {Map<string, OutgoingMessage>} in the order typed */
  #entries = new Map();

  /** A newly typed message, queued. @returns {OutgoingMessage} */
  add(text, clientId) {
    const entry = { clientId, text, state: "queued", code: null };
    this.#entries.set(clientId, entry);
    return entry;
  }

  /** @returns {OutgoingMessage | undefined} */
  get(clientId) {
    return this.#entries.get(clientId);
  }

  /**
   * The queued messages, oldest first, now marked as sent: call it with an open
   * socket. None typed after a held message: they wait behind it.
   */
  takeQueued() {
    const queued = [];
    for (const entry of this.#entries.values()) {
      if (entry.state === "held") break;
      if (entry.state === "queued") queued.push(entry);
    }
    for (const entry of queued) entry.state = "sending";
    return queued;
  }

  /**
   * The server refused the message as rate_limited: it waits until `retryAt`
   * (epoch ms), then `release` queues it again with the same clientId.
   * @returns {OutgoingMessage | undefined}
   */
  hold(clientId, retryAt) {
    const entry = this.#entries.get(clientId);
    if (entry === undefined || entry.state === "failed") return undefined;
    entry.state = "held";
    entry.retryAt = retryAt;
    return entry;
  }

  /**
   * The first held message, queued again if its time has come at `now` and it
   * is the oldest message still to deliver. One at a time, each after the one
   * before it was delivered: released together, the server could take a later
   * one before an earlier one (it handles a socket's frames concurrently). Call
   * it again whenever a message is acknowledged, failed or removed.
   * @returns {OutgoingMessage[]}
   */
  release(now) {
    const head = this.#head();
    if (head === undefined || head.state !== "held" || head.retryAt > now) return [];
    head.state = "queued";
    delete head.retryAt;
    return [head];
  }

  /**
   * When `release` may next queue a message (epoch ms), or null when it waits
   * for something else (an acknowledgement) or nothing is held.
   */
  get nextRelease() {
    const head = this.#head();
    return head?.state === "held" ? head.retryAt : null;
  }

  /** The oldest message still to deliver (a failed one waits for the reader). */
  #head() {
    return [...this.#entries.values()].find((entry) => entry.state !== "failed");
  }

  /** The socket closed: whatever was in flight is sent again on the next one. */
  socketClosed() {
    const requeued = [...this.#entries.values()].filter((entry) => entry.state === "sending");
    for (const entry of requeued) entry.state = "queued";
    return requeued;
  }

  /** The own copy arrived: the message is delivered. @returns {OutgoingMessage | undefined} */
  acknowledge(clientId) {
    const entry = this.#entries.get(clientId);
    this.#entries.delete(clientId);
    return entry;
  }

  /**
   * The server refused the message with `code`. not_connected is not the
   * message's fault: it goes again once the page has reconnected.
   * @returns {OutgoingMessage | undefined}
   */
  fail(clientId, code) {
    const entry = this.#entries.get(clientId);
    if (entry === undefined) return undefined;
    if (code === "not_connected") {
      entry.state = "queued";
    } else {
      entry.state = "failed";
      entry.code = code;
    }
    return entry;
  }

  /** The reader asked to send a failed message again, with the same clientId. */
  retry(clientId) {
    const entry = this.#entries.get(clientId);
    if (entry === undefined || entry.state !== "failed") return undefined;
    entry.state = "queued";
    entry.code = null;
    return entry;
  }

  /** Forget a message (the reader took it back to edit). */
  remove(clientId) {
    return this.#entries.delete(clientId);
  }

  clear() {
    this.#entries.clear();
  }
}
