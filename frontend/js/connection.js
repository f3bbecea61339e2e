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

import { backoffDelay } from "./backoff.js";
import { pingFrame } from "./protocol.js";

/**
 * @typedef {{state: "connecting" | "open" | "waiting" | "closed",
 *   attempt: number, delayMs?: number, wasOpen?: boolean}} ConnectionStatus
 */

export class Connection {
  #options;
  #url = null;
  #socket = null;
  #deliberate = true;
  #attempt = 0;
  #openedAt = null;
  #retryTimer = null;
  #pingTimer = null;
  #pongTimer = null;

  /**
   * @param {{baseMs: number, capMs: number, pingIntervalMs: number, pongTimeoutMs: number,
   *   stableAfterMs: number, onFrame: (data: string) => void,
   *   onStatus: (status: ConnectionStatus) => void, WebSocketImpl?: typeof WebSocket}} options
   */
  constructor(options) {
    this.#options = { WebSocketImpl: window.WebSocket, ...options };
    window.addEventListener("online", () => this.#retryNow());
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
    if (socket === null || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(data);
    return true;
  }

  get isOpen() {
    return this.#socket !== null && this.#socket.readyState === WebSocket.OPEN;
  }

  #open() {
    this.#retryTimer = null;
    this.#openedAt = null;
    this.#options.onStatus({ state: "connecting", attempt: this.#attempt });
    const socket = new this.#options.WebSocketImpl(this.#url);
    this.#socket = socket;
    socket.addEventListener("open", () => {
      if (socket !== this.#socket) return;
      this.#openedAt = Date.now();
      this.#options.onStatus({ state: "open", attempt: this.#attempt });
      this.#pingTimer = setInterval(() => this.#ping(), this.#options.pingIntervalMs);
    });
    socket.addEventListener("message", (event) => {
      if (socket !== this.#socket) return;
      // Any frame proves the socket is alive, not only a pong.
      clearTimeout(this.#pongTimer);
      this.#pongTimer = null;
      if (typeof event.data === "string") this.#options.onFrame(event.data);
    });
    socket.addEventListener("close", () => {
      if (socket === this.#socket) this.#dropped();
    });
  }

  #ping() {
    if (!this.send(pingFrame()) || this.#pongTimer !== null) return;
    this.#pongTimer = setTimeout(() => {
      // Presumed dead: stop listening to it and reconnect without waiting for
      // the browser to notice (a close handshake on a dead link can take minutes).
      this.#dropped();
    }, this.#options.pongTimeoutMs);
  }

  #dropped() {
    const wasOpen = this.#openedAt !== null;
    if (wasOpen && Date.now() - this.#openedAt >= this.#options.stableAfterMs) this.#attempt = 0;
    this.#teardown();
    if (this.#deliberate) return;
    const delayMs = backoffDelay(this.#attempt, this.#options);
    this.#attempt += 1;
    this.#options.onStatus({ state: "waiting", attempt: this.#attempt, delayMs, wasOpen });
    this.#retryTimer = setTimeout(() => this.#open(), delayMs);
  }

  #retryNow() {
    if (this.#retryTimer === null || this.#deliberate) return;
    clearTimeout(this.#retryTimer);
    this.#open();
  }

  /** Forget the current socket and timers; a close event from it is then ignored. */
  #teardown() {
    clearTimeout(this.#retryTimer);
    clearInterval(this.#pingTimer);
    clearTimeout(this.#pongTimer);
    this.#retryTimer = this.#pingTimer = this.#pongTimer = null;
    const socket = this.#socket;
    this.#socket = null;
    if (socket !== null && socket.readyState <= WebSocket.OPEN) socket.close(1000, "bye");
  }
}
