// One WebSocket that keeps itself alive.
//
// - A deliberate close (leaving, switching room) stays closed; any other close
//   is a drop and schedules a reconnect with capped, jittered exponential
//   backoff (backoff.js). The attempt counter only resets once a socket has
//   stayed open for `stableAfterMs`, so a server that accepts then drops at
//   once is not hammered at the base delay.
// - An app-level ping every `pingIntervalMs` keeps API Gateway's 10-minute idle
//   timeout away. If nothing at all comes back within `pongTimeoutMs`, the
//   socket is presumed dead (a half-open TCP connection can look open for a
//   long time) and is replaced.
// - Events from a socket that is no longer the current one are ignored, so a
//   late close of an old room's socket cannot disturb the new one.
// - Make-before-break: API Gateway closes a socket after 2 hours, so after
//   `renewAfterMs` open a successor socket opens to the same URL. Its frames
//   reach `onFrame` too (the app merges by id); the app joins on it and, once
//   its answer came, calls `promote()`, which makes it the current socket and
//   closes the old one. The name never leaves the room, so nobody sees it go.
//   A successor that closes or is not promoted within `pongTimeoutMs` of
//   opening is given up and tried again later; the old socket carries on.

import { backoffDelay } from "./backoff.js";
import { systemClock } from "./clock.js";
import { pingFrame } from "./wire.js";

/**
 * @typedef {{state: "connecting" | "open" | "waiting" | "closed",
 *   attempt: number, delayMs?: number, wasOpen?: boolean}} ConnectionStatus
 */

// A successor given up is tried again this long after (or after renewAfterMs, if sooner).
const RENEW_RETRY_MS = 60000;
// WebSocket.OPEN, spelled out: the class may be a stand-in (tests under Node have no WebSocket).
const OPEN = 1;

export class Connection {
  #options;
  #clock;
  #url = null;
  #socket = null;
  #deliberate = true;
  #attempt = 0;
  #openedAt = null;
  #retryTimer = null;
  #pingTimer = null;
  #pongTimer = null;
  #renewTimer = null;
  /** The socket that will replace the current one (make-before-break), or null. */
  #successor = null;
  #successorTimer = null;

  /**
   * @param {{baseMs: number, capMs: number, pingIntervalMs: number, pongTimeoutMs: number,
   *   stableAfterMs: number, renewAfterMs: number,
   *   onFrame: (data: string, from: "current" | "successor") => void,
   *   onStatus: (status: ConnectionStatus) => void,
   *   onSuccessorOpen: () => void, onSuccessorLost: () => void,
   *   protocols?: () => string[] | undefined,
   *   WebSocketImpl?: typeof WebSocket, clock?: import("./clock.js").Clock,
   *   random?: () => number}} options
   *
   * `protocols` is asked on every open (a reconnect, a successor), so a renewed
   * sign-in token is offered as soon as it exists. `WebSocketImpl` is read when
   * the connection is made (a test's init script may have replaced it), `clock`
   * and `random` (the backoff's jitter) are there for tests.
   */
  constructor(options) {
    this.#options = { WebSocketImpl: globalThis.WebSocket, ...options };
    this.#clock = options.clock ?? systemClock;
  }

  /** Connect to `url`, deliberately closing any current socket first. */
  connect(url) {
    this.#teardown();
    this.#url = url;
    this.#deliberate = false;
    this.#attempt = 0;
    this.#open();
  }

  /** Close on purpose: no reconnect follows. */
  close() {
    this.#deliberate = true;
    this.#teardown();
    this.#options.onStatus({ state: "closed", attempt: 0 });
  }

  /** Treat the current socket as dropped (the server asked for a reconnect). */
  reconnect() {
    if (!this.#deliberate && this.#socket !== null) this.#dropped();
  }

  /** Send a text frame; false when there is no open socket to send it on. */
  send(data) {
    const socket = this.#socket;
    if (socket === null || socket.readyState !== OPEN) return false;
    socket.send(data);
    return true;
  }

  /** Send a text frame on the successor; false when there is none open. */
  sendToSuccessor(data) {
    const socket = this.#successor;
    if (socket === null || socket.readyState !== OPEN) return false;
    socket.send(data);
    return true;
  }

  /**
   * The successor is ready (its join was answered): it becomes the current
   * socket and the old one is closed. False when there is no open successor.
   */
  promote() {
    const successor = this.#successor;
    if (successor === null || successor.readyState !== OPEN) return false;
    const old = this.#socket;
    this.#successor = null;
    this.#clock.clearTimeout(this.#successorTimer);
    this.#successorTimer = null;
    this.#stopTimers();
    this.#socket = successor;
    this.#openedAt = this.#clock.now();
    this.#startTimers();
    // Deliberately closed: its close event is ignored, it is no longer current.
    if (old !== null && old.readyState <= OPEN) old.close(1000, "renewed");
    return true;
  }

  get isOpen() {
    return this.#socket !== null && this.#socket.readyState === OPEN;
  }

  #open() {
    this.#retryTimer = null;
    this.#openedAt = null;
    this.#options.onStatus({ state: "connecting", attempt: this.#attempt });
    this.#socket = this.#watch(this.#newSocket());
  }

  #newSocket() {
    const protocols = this.#options.protocols?.();
    return protocols === undefined
      ? new this.#options.WebSocketImpl(this.#url)
      : new this.#options.WebSocketImpl(this.#url, protocols);
  }

  /** Listen to `socket`, whose events count while it is the current socket or the successor. */
  #watch(socket) {
    socket.addEventListener("open", () => {
      if (socket === this.#successor) {
        // Not promoted in time (its join went unanswered): give up on it.
        this.#successorTimer = this.#clock.setTimeout(() => this.#successorLost(), this.#options.pongTimeoutMs);
        this.#options.onSuccessorOpen();
        return;
      }
      if (socket !== this.#socket) return;
      this.#openedAt = this.#clock.now();
      this.#options.onStatus({ state: "open", attempt: this.#attempt });
      this.#startTimers();
    });
    socket.addEventListener("message", (event) => {
      const from = socket === this.#socket ? "current" : socket === this.#successor ? "successor" : null;
      if (from === null) return;
      if (from === "current") {
        // Any frame proves the socket is alive, not only a pong.
        this.#clock.clearTimeout(this.#pongTimer);
        this.#pongTimer = null;
      }
      if (typeof event.data === "string") this.#options.onFrame(event.data, from);
    });
    socket.addEventListener("close", () => {
      if (socket === this.#socket) this.#dropped();
      else if (socket === this.#successor) this.#successorLost();
    });
    return socket;
  }

  /** The current socket just opened (or was promoted): ping it, and plan its successor. */
  #startTimers() {
    this.#pingTimer = this.#clock.setInterval(() => this.#ping(), this.#options.pingIntervalMs);
    this.#renewTimer = this.#clock.setTimeout(() => this.#renew(), this.#options.renewAfterMs);
  }

  #stopTimers() {
    this.#clock.clearInterval(this.#pingTimer);
    this.#clock.clearTimeout(this.#pongTimer);
    this.#clock.clearTimeout(this.#renewTimer);
    this.#pingTimer = this.#pongTimer = this.#renewTimer = null;
  }

  #renew() {
    this.#renewTimer = null;
    if (this.#successor !== null || !this.isOpen) return;
    this.#successor = this.#watch(this.#newSocket());
  }

  /** The successor closed or was not promoted in time: close it and try again later. */
  #successorLost() {
    this.#dropSuccessor();
    this.#options.onSuccessorLost();
    if (!this.isOpen) return;
    this.#clock.clearTimeout(this.#renewTimer);
    this.#renewTimer = this.#clock.setTimeout(
      () => this.#renew(),
      Math.min(RENEW_RETRY_MS, this.#options.renewAfterMs),
    );
  }

  #dropSuccessor() {
    this.#clock.clearTimeout(this.#successorTimer);
    this.#successorTimer = null;
    const socket = this.#successor;
    this.#successor = null;
    if (socket !== null && socket.readyState <= OPEN) socket.close(1000, "bye");
  }

  #ping() {
    if (!this.send(pingFrame()) || this.#pongTimer !== null) return;
    this.#pongTimer = this.#clock.setTimeout(() => {
      // Presumed dead: stop listening to it and reconnect without waiting for
      // the browser to notice (a close handshake on a dead link can take minutes).
      this.#dropped();
    }, this.#options.pongTimeoutMs);
  }

  #dropped() {
    const wasOpen = this.#openedAt !== null;
    if (wasOpen && this.#clock.now() - this.#openedAt >= this.#options.stableAfterMs) this.#attempt = 0;
    this.#teardown();
    if (this.#deliberate) return;
    const delayMs = backoffDelay(this.#attempt, this.#options);
    this.#attempt += 1;
    this.#options.onStatus({ state: "waiting", attempt: this.#attempt, delayMs, wasOpen });
    // The page may close on purpose on hearing of the drop (a ban): no retry then.
    if (this.#deliberate) return;
    this.#retryTimer = this.#clock.setTimeout(() => this.#open(), delayMs);
  }

  /** The network is back (the page's "online" event): a waiting reconnect goes now. */
  retryNow() {
    if (this.#retryTimer === null || this.#deliberate) return;
    this.#clock.clearTimeout(this.#retryTimer);
    this.#open();
  }

  /** Forget the current socket, its successor and the timers; a close event from them is then ignored. */
  #teardown() {
    this.#clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#stopTimers();
    this.#dropSuccessor();
    const socket = this.#socket;
    this.#socket = null;
    if (socket !== null && socket.readyState <= OPEN) socket.close(1000, "bye");
  }
}
