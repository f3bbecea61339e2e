// The chat session's sending part (session.js), with no DOM: the messages the
// reader typed, sent on the open socket and shown as being sent until their
// own copy comes back, held and sent again by themselves after a
// rate_limited, offered again (retry or edit) after another error, and sent
// again on the next socket when one closes. outbox.js keeps their states.

import { describeError } from "./errortext.js";
import { Outbox, canRetry } from "./outbox.js";
import { sendMessageFrame } from "./wire.js";

/** A message's clientId: 32 hex digits. Not crypto.randomUUID(), which a page on
 * plain http (not a secure context) does not have; getRandomValues it has. */
function newClientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * The sending part of a session started on the same `view` (session.js's
 * SessionView), `clock` and `connection`.
 * @param {{view: import("./session.js").SessionView, clock: import("./clock.js").Clock,
 *   connection: import("./connection.js").Connection, maxChars: number,
 *   keyPending: () => boolean}} parts
 *
 * `keyPending`: whether a name key is being derived (the open socket, if any,
 * is then the old room's: messages wait for the new one).
 */
export function sessionOutbox({ view: page, clock, connection, maxChars, keyPending }) {
  const view = page.messages;
  const outbox = new Outbox();
  let releaseTimer = null;

  /** What a message being sent shows instead of its time. */
  function pendingStatus(entry) {
    if (entry.state === "sending") return { words: "Sending…" };
    if (entry.state === "queued") return { words: "Waiting for connection…" };
    if (entry.state === "held") {
      const waitMs = entry.retryAt - clock.now();
      // Past its time, it waits for the held messages typed before it.
      if (waitMs <= 0) return { words: "Sending too fast — will retry shortly" };
      return { words: `Sending too fast — will retry in ${Math.max(1, Math.ceil(waitMs / 1000))} s` };
    }
    return {
      words: "Not sent",
      detail: describeError(entry.code, maxChars),
      action: canRetry(entry.code) ? { name: "retry", words: "Retry" } : { name: "edit", words: "Edit" },
    };
  }

  /** Send every queued message, if there is a socket to send them on. */
  function flushOutbox() {
    // While a new key is derived the open socket (if any) is the old room's: wait for the new one.
    if (!connection.isOpen || keyPending()) return;
    for (const entry of outbox.takeQueued()) {
      connection.send(sendMessageFrame(entry.text, entry.clientId));
      view.updatePending(entry, pendingStatus(entry));
    }
  }

  function retry(clientId) {
    const entry = outbox.retry(clientId);
    if (entry === undefined) return;
    view.updatePending(entry, pendingStatus(entry));
    flushOutbox();
  }

  /** Take a refused message out of the log to change it: its text, or undefined. */
  function takeBack(clientId) {
    const entry = outbox.get(clientId);
    if (entry === undefined) return undefined;
    outbox.remove(clientId);
    view.removePending(clientId);
    releaseHeld();
    return entry.text;
  }

  /** Send the next held message if its time has come, or wait for that time. */
  function releaseHeld() {
    clock.clearTimeout(releaseTimer);
    releaseTimer = null;
    for (const entry of outbox.release(clock.now())) view.updatePending(entry, pendingStatus(entry));
    flushOutbox();
    const next = outbox.nextRelease;
    if (next !== null) releaseTimer = clock.setTimeout(releaseHeld, Math.max(0, next - clock.now()));
  }

  /** A sendmessage was refused as rate_limited: it waits on its own and goes again. */
  function holdMessage(clientId, retryAfterMs) {
    const entry = outbox.hold(clientId, clock.now() + retryAfterMs);
    if (entry === undefined) return;
    view.updatePending(entry, pendingStatus(entry));
    releaseHeld();
  }

  return {
    retry,
    takeBack,
    releaseHeld,
    /** Send every queued message, if there is a socket to send them on. */
    flush: flushOutbox,
    /** A sendmessage was refused as rate_limited: it waits on its own and goes again. */
    hold: holdMessage,
    /** Queue a message typed by the reader as `from`, and send it if there is a socket. */
    add(text, from) {
      const entry = outbox.add(text, newClientId());
      view.addPending(entry, from, pendingStatus(entry));
      flushOutbox();
    },
    /** The reader's own copy of `clientId` came back: its entry (to show it as sent), or undefined. */
    acknowledge: (clientId) => outbox.acknowledge(clientId),
    /**
     * A sendmessage was refused (not rate_limited): the failure shows on the
     * message itself, with a way to send it again. False when no message of
     * this page waits under `clientId`.
     */
    failed(clientId, code) {
      const entry = outbox.fail(clientId, code);
      if (entry === undefined) return false;
      view.updatePending(entry, pendingStatus(entry));
      releaseHeld();
      return true;
    },
    /** The socket closed (or was replaced): what was sent on it goes again on the next. */
    socketClosed() {
      for (const entry of outbox.socketClosed()) view.updatePending(entry, pendingStatus(entry));
    },
    /** Drop every message waiting to be sent (a new join, or signed out). */
    clear() {
      outbox.clear();
      clock.clearTimeout(releaseTimer);
    },
  };
}
