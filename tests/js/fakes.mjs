// Stand-ins for what the chat session (frontend/js/session.js) gets from the
// page: a clock whose time moves only when a test says so, WebSockets a test
// opens, feeds and drops, and a view that records what would be shown; and a
// session started on them (fakeSession, joinedSession).
import { startSession } from "../../frontend/js/session.js";

/** A clock.js Clock on a fake time line: `advance` runs the timers that fall due, in order. */
export class FakeClock {
  #now;
  #timers = new Map();
  #nextId = 1;

  constructor(now = Date.parse("2026-12-06T12:00:00Z")) {
    this.#now = now;
  }

  now() {
    return this.#now;
  }

  setTimeout(callback, ms) {
    return this.#add(callback, ms, null);
  }

  setInterval(callback, ms) {
    return this.#add(callback, ms, Math.max(1, ms));
  }

  clearTimeout(id) {
    this.#timers.delete(id);
  }

  clearInterval(id) {
    this.#timers.delete(id);
  }

  /** Move the time on by `ms`, running every timer due on the way (earliest first). */
  advance(ms) {
    const end = this.#now + ms;
    for (;;) {
      let due = null;
      for (const [id, timer] of this.#timers) {
        if (timer.at <= end && (due === null || timer.at < due[1].at)) due = [id, timer];
      }
      if (due === null) break;
      const [id, timer] = due;
      this.#now = timer.at;
      if (timer.every === null) this.#timers.delete(id);
      else timer.at += timer.every;
      timer.callback();
    }
    this.#now = end;
  }

  #add(callback, ms, every) {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + Math.max(0, Number(ms) || 0), callback, every });
    return id;
  }
}

/** A WebSocket class whose instances the test drives as the server would; `sockets` lists them all. */
export function fakeSockets() {
  const sockets = [];
  class FakeWebSocket {
    constructor(url, protocols) {
      this.url = new URL(url);
      this.protocols = protocols;
      this.readyState = 0;
      /** What the page sent, parsed. */
      this.sent = [];
      /** How the page closed it ({code, reason}), or null. */
      this.closedByPage = null;
      this.listeners = { open: [], message: [], close: [] };
      sockets.push(this);
    }

    addEventListener(type, listener) {
      this.listeners[type].push(listener);
    }

    send(data) {
      if (this.readyState !== 1) throw new Error("send on a socket that is not open");
      this.sent.push(JSON.parse(data));
    }

    close(code, reason) {
      this.closedByPage = { code, reason };
      this.readyState = 3;
    }

    // The server's side.

    open() {
      this.readyState = 1;
      this.#emit("open", {});
    }

    receive(frame) {
      this.#emit("message", { data: JSON.stringify(frame) });
    }

    drop() {
      this.readyState = 3;
      this.#emit("close", { code: 1006 });
    }

    #emit(type, event) {
      for (const listener of this.listeners[type]) listener(event);
    }
  }
  return { WebSocketImpl: FakeWebSocket, sockets };
}

/** A session view (session.js's SessionView) that records what the page would show. */
export function fakeView() {
  const shown = new Set();
  const seen = {
    /** Ids of the messages shown, ascending. */
    ids: [],
    /** The messages shown, by id. */
    byId: new Map(),
    notices: [],
    /** Messages being sent, by clientId: {text, from, state, status}. */
    pending: new Map(),
    statuses: [],
    earlier: null,
    members: null,
    joined: [],
    chooseAnotherName: () => {},
    /** the typing line shown, the id the "new messages" divider is above. */
    typing: "",
    divider: null,
    moderator: false,
    muted: null,
  };
  const show = (message) => {
    if (shown.has(message.id)) return;
    shown.add(message.id);
    seen.byId.set(message.id, message);
    seen.ids = [...shown].sort();
  };
  const messages = {
    get oldestId() {
      return seen.ids[0] ?? null;
    },
    addMessages(list) {
      for (const message of list) show(message);
    },
    has: (id) => shown.has(id),
    update(message) {
      if (shown.has(message.id)) seen.byId.set(message.id, message);
    },
    markNew(id) {
      seen.divider = id;
    },
    addNotice(text, kind = "info", action = undefined) {
      seen.notices.push({ text, kind, action });
    },
    addPending(entry, from, status) {
      seen.pending.set(entry.clientId, { text: entry.text, from, state: entry.state, status });
    },
    updatePending(entry, status) {
      const item = seen.pending.get(entry.clientId);
      if (item !== undefined) Object.assign(item, { state: entry.state, status });
    },
    confirm(clientId, message) {
      seen.pending.delete(clientId);
      show({ ...message, own: true });
    },
    removePending(clientId) {
      seen.pending.delete(clientId);
    },
    showEarlier(state) {
      seen.earlier = state;
    },
    clear() {
      shown.clear();
      seen.ids = [];
      seen.byId.clear();
      seen.pending.clear();
    },
  };
  const view = {
    messages,
    showMembers: (roster, ownName) => {
      seen.members = { names: roster.members.map((member) => member.name), count: roster.count, ownName };
    },
    showStatus: (state, words) => seen.statuses.push({ state, words }),
    joined: (current) => seen.joined.push({ ...current }),
    connectionChanged: () => {},
    chooseAnotherName: () => seen.chooseAnotherName(),
    showTyping: (line) => {
      seen.typing = line;
    },
    /** the reader's role as last shown, and the muted line (null: not muted). */
    showRole: (moderator) => {
      seen.moderator = moderator;
    },
    showMuted: (line) => {
      seen.muted = line;
    },
  };
  return { view, seen };
}

/** Session timings whose pings never fall due in a test; reconnects wait 1 s, at most 8 s. */
export const QUIET_TIMINGS = {
  baseMs: 1000,
  capMs: 8000,
  pingIntervalMs: 1_000_000,
  pongTimeoutMs: 1_000_000,
  stableAfterMs: 5000,
  catchUpAgainMs: 3000,
  renewAfterMs: 7_000_000,
};

/** A chat session on a FakeClock, fakeSockets and a fakeView, not joined yet; `random` 1 makes
 * each backoff delay its ceiling. `socket()` is the newest socket. */
export function fakeSession({ timings = QUIET_TIMINGS, auth = null } = {}) {
  const clock = new FakeClock();
  const { WebSocketImpl, sockets } = fakeSockets();
  const { view, seen } = fakeView();
  const chat = startSession({
    websocketUrl: "wss://chat.example/ws",
    secret: "s".repeat(43),
    maxChars: 2000,
    timings,
    view,
    auth,
    WebSocketImpl,
    clock,
    random: () => 1,
  });
  return { chat, clock, sockets, seen, view, socket: () => sockets.at(-1) };
}

/** A `fakeSession` joined to `room` as alice, its socket open and `members` (the server's
 * first answer) received; the room's first page is the test's to send. */
export async function joinedSession(room, members) {
  const session = fakeSession();
  await session.chat.join("alice", room);
  session.socket().open();
  session.socket().receive(members);
  return session;
}
