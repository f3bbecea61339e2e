// The chat session: one name in one room over a Connection, with no DOM.
//
// It reads the server's frames and decides what follows: the join and the
// catch-up pages on every open (history.js), the messages waiting to be sent
// and their retries (sessionoutbox.js), the roster and its presence lines
// (presence.js), reads asked again after a rate_limited, and what the page
// says while the connection waits to reconnect (connection.js decides when).
// every message's state applied once by `rev`, the `changes`
// catch-up after a reconnect and its divider (changes.js), edits, deletions,
// reactions, and who is typing (typing.js). Its moderation part (the reader's
// role, the moderator secret, a moderator's actions, notices, a muted or
// removed reader) is sessionmoderation.js.
// What it shows goes through the `view` it is given; its sockets come from
// `WebSocketImpl` and its time from `clock`, so it runs under Node in the
// tests (tests/js) as it does on the page (app.js wires it there).

import { CatchUp, MessageStates } from "./changes.js";
import { systemClock } from "./clock.js";
import { Connection } from "./connection.js";
import { describeError } from "./errortext.js";
import { RoomSync } from "./history.js";
import { nameKey } from "./namekey.js";
import { PresenceLines, Roster } from "./presence.js";
import { sessionModeration } from "./sessionmoderation.js";
import { sessionOutbox } from "./sessionoutbox.js";
import {
  SUBPROTOCOL,
  banFrame,
  changesFrame,
  connectUrl,
  deleteMessageFrame,
  editMessageFrame,
  historyFrame,
  joinFrame,
  kickFrame,
  membersFrame,
  muteFrame,
  parseServerFrame,
  reactFrame,
  typingFrame,
} from "./wire.js";
import { TypingNames, TypingSignal, typingLine } from "./typing.js";

const FAILURES_BEFORE_WARNING = 3;

// docs/protocol.md, "Connecting": a refused handshake (409 name taken, 403 room
// full, 429 connecting too often, 400) reaches the page as a plain failure to
// connect, like an unreachable server. When a join has never opened, these are
// what the reader can do something about, so that is what the page says.
// a moderator's ban is refused the same way (403), so it is named too.
export const REFUSED_HINT =
  "Could not join. This name may be taken in this room by someone else, the room may be full, " +
  "a moderator may have banned it here, or this browser is connecting too often. The page keeps trying.";
// Signed in, the name is the account's: a refusal is about the room, a ban, the rate or the sign-in.
export const REFUSED_SIGNED_IN_HINT =
  "Could not join. The room may be full, a moderator may have banned you here, this browser may " +
  "be connecting too often, or the sign-in may have expired. The page keeps trying.";

// An edit, delete or reaction refused as rate_limited is not retried (unlike a message): say so.
export const CHANGE_TOO_FAST = "Changing messages too fast: that change was not made. Try again in a moment.";

/**
 * What the session shows, and where. `messages` is the message list
 * (view.js's MessageView); the rest is the page around it.
 * @typedef {{
 *   messages: import("./view.js").MessageView,
 *   showMembers: (roster: Roster, ownName: string) => void,
 *   showStatus: (state: "connecting" | "open" | "waiting" | "closed", words: string) => void,
 *   joined: (current: {name: string, room: string}) => void,
 *   connectionChanged: () => void,
 *   chooseAnotherName: () => void,
 *   showTyping: (line: string) => void,
 *   showRole: (moderator: boolean) => void,
 *   showMuted: (line: string | null) => void,
 * }} SessionView
 */

/**
 * Start a chat session (not yet joined: call `join`).
 * @param {{websocketUrl: string, secret: string, maxChars: number,
 *   timings: {baseMs: number, capMs: number, pingIntervalMs: number, pongTimeoutMs: number,
 *     stableAfterMs: number, catchUpAgainMs: number, renewAfterMs: number},
 *   view: SessionView,
 *   auth?: {idToken: string | null, renewIfStale: () => void} | null,
 *   WebSocketImpl?: typeof WebSocket, clock?: import("./clock.js").Clock, random?: () => number}} options
 *
 * `auth`, when the page signs in: its ID token is offered as a subprotocol on
 * every open, and a refused connect renews it if stale.
 */
export function startSession({
  websocketUrl,
  secret,
  maxChars,
  timings: settings,
  view: page,
  auth = null,
  WebSocketImpl = globalThis.WebSocket,
  clock = systemClock,
  random = Math.random,
}) {
  const view = page.messages;
  // What the current connection was opened with (the server takes both from the URL).
  let current = { name: "", room: "" };
  let sync = new RoomSync();
  // message states by rev, the `changes` catch-up, and the typing line.
  let catchUp = new CatchUp();
  const states = new MessageStates();
  const typingNames = new TypingNames();
  const typingSignal = new TypingSignal();
  let typingTimer = null;
  const roster = new Roster();
  const presenceLines = new PresenceLines();
  let failures = 0;
  // Whether a socket of the current join ever opened: if not, a failure may be a refusal.
  let everOpened = false;
  let catchUpTimer = null;
  let presenceTimer = null;
  // The name key is derived asynchronously: a newer join or reconnect supersedes an older one.
  let connectGeneration = 0;
  let keyPending = false;
  // Reads in flight on the current socket, to ask again after a rate_limited.
  let joinPending = false;
  let membersPending = false;
  let readRetryTimer = null;

  function request(requests) {
    for (const wanted of requests) connection.send(historyFrame(wanted));
  }

  function askMembers() {
    if (connection.send(membersFrame())) membersPending = true;
  }

  function showMembers() {
    page.showMembers(roster, current.name);
  }

  function showPresenceLines(lines) {
    for (const { event, name } of lines) view.addNotice(`${name} ${event}`, "presence");
  }

  /** Show the "left" lines whose quiet time is over, when it is. */
  function schedulePresenceLines() {
    clock.clearTimeout(presenceTimer);
    const due = presenceLines.nextDue;
    if (due === null) return;
    presenceTimer = clock.setTimeout(() => {
      showPresenceLines(presenceLines.due(clock.now()));
      schedulePresenceLines();
    }, Math.max(0, due - clock.now()));
  }

  function onPresence(frame) {
    const now = clock.now();
    if (frame.event === "left" && typingNames.stopped(frame.name)) showTyping();
    if (roster.apply(frame, new Date(now))) {
      if (frame.event === "joined") showPresenceLines(presenceLines.joined(frame.name, now));
      else presenceLines.left(frame.name, now);
      schedulePresenceLines();
    }
    showMembers();
  }

  /** A `members` frame; `renewal`: the successor's join answer (make-before-break). */
  function onMembers(frame, renewal) {
    if (renewal) {
      // What this answer changes may still be on its way as presence frames (or
      // was lost with the old socket): those frames make the lines, and a
      // waiting "left" line is not taken back by an answer read before it (presence.js).
      roster.renew(frame, new Date(clock.now()));
    } else {
      roster.replace(frame);
      presenceLines.present(frame.members.map((member) => member.name));
    }
    schedulePresenceLines();
    showMembers();
  }

  function updateEarlier() {
    const state = sync.earlierState;
    view.showEarlier(state === "ready" && !connection.isOpen ? "offline" : state);
  }

  function loadEarlier() {
    if (!connection.isOpen) return;
    request(sync.earlier(view.oldestId));
    updateEarlier();
  }

  /**
   * A join, history or members request was refused as rate_limited (the error
   * does not say which): after the delay, ask again for whatever is still
   * unanswered. An answer that then comes twice is dropped (history.js).
   */
  function retryReadsLater(retryAfterMs) {
    clock.clearTimeout(readRetryTimer);
    readRetryTimer = clock.setTimeout(() => {
      readRetryTimer = null;
      if (!connection.isOpen || keyPending) return; // the next open joins anyway
      if (joinPending) {
        for (const frame of joinFrames()) connection.send(frame);
        return;
      }
      request(sync.inFlight());
      requestChanges(catchUp.inFlight());
      if (membersPending) askMembers();
    }, retryAfterMs);
  }

  // ------------------------------------------------------- message states

  /**
   * Show message states (live, or from a page), each change once: by `rev`
   * (changes.js). New ones are placed by id; `catchingUp`: they came in a
   * `changes` page, and a reconnect's catch-up puts the divider above them.
   */
  function applyStates(messages, { prepend = false, catchingUp = false } = {}) {
    const added = [];
    for (const message of messages) {
      // Older than the oldest shown while older ones are missing: "load earlier" shows it as it is then.
      if (!prepend && !states.has(message.id) && sync.belongsToEarlier(message.id, view.oldestId)) continue;
      const { kind, message: state } = states.apply(message, current.name);
      if (kind === "stale") continue;
      // The server decides (not_yours); the menu is offered on the messages of the reader's name.
      const shown = { ...state, editable: state.from === current.name };
      if (kind === "changed") view.update(shown);
      else added.push(shown);
    }
    view.addMessages(added, { prepend });
    if (!catchingUp) return;
    let moved = false;
    for (const { id } of added) moved = catchUp.inserted(id) || moved;
    if (moved) view.markNew(catchUp.dividerId);
  }

  function requestChanges(requests) {
    for (const wanted of requests) connection.send(changesFrame(wanted));
  }

  /** Send an edit, a delete or a reaction; its answer is the message's new state, to everyone. */
  function changeMessage(frame) {
    if (keyPending || !connection.send(frame)) {
      view.addNotice("Not connected: that change was not made. Try again once reconnected.", "warning");
    }
  }

  function showTyping() {
    clock.clearTimeout(typingTimer);
    const now = clock.now();
    page.showTyping(typingLine(typingNames.names(now)));
    const next = typingNames.nextExpiry;
    if (next !== null) typingTimer = clock.setTimeout(showTyping, Math.max(0, next - now));
  }

  /** The composer now holds `text`: tell the room the reader is writing (at most every few seconds). */
  function composing(text) {
    if (!connection.isOpen || keyPending || moderation.mutedUntil() !== null) return;
    if (typingSignal.changed(text, clock.now())) connection.send(typingFrame());
  }

  function onMessage(frame) {
    // A new message from someone typing ends their line.
    if (frame.rev === 1 && typingNames.stopped(frame.from)) showTyping();
    const own = frame.clientId === undefined ? undefined : sending.acknowledge(frame.clientId);
    if (own !== undefined) {
      const { message: state } = states.apply(frame, current.name);
      view.confirm(frame.clientId, { ...(state ?? frame), editable: true });
      // Held messages go one by one, each after the one before: the next may go now.
      sending.releaseHeld();
    } else {
      // Only the sender's own copy carries a clientId: one from an earlier page load is still ours.
      applyStates([{ ...frame, own: frame.clientId !== undefined }]);
    }
    sync.live(frame.id);
    catchUp.live(frame.changedAt);
  }

  function onFrame(data, from) {
    const frame = parseServerFrame(data);
    if (frame.type === "error" && moderation.onModerationError(frame)) return;
    if (from === "successor") {
      // Its own join failed: the connection gives the successor up in time.
      if (frame.type === "error") return;
      // The join's answer starts with `members`: the new socket is in the room.
      if (frame.type === "members" && frame.room === current.room) promoted();
    }
    if (frame.type === "message") {
      if (frame.room === current.room) onMessage(frame);
    } else if (frame.type === "history") {
      if (frame.room !== current.room) return;
      const { accepted, requests } = sync.received(frame);
      if (accepted) {
        applyStates(frame.messages, { prepend: frame.before !== undefined });
        // The newest page of a plain join is where the catch-up cursor starts.
        if (frame.before !== undefined) catchUp.read(frame.readAt);
        else if (frame.after === undefined) requestChanges(catchUp.received(frame).requests);
      }
      request(requests);
      updateEarlier();
    } else if (frame.type === "changes") {
      if (frame.room !== current.room) return;
      // Applied before the catch-up hears of the page: its entries may place the divider.
      applyStates(frame.messages, { catchingUp: true });
      requestChanges(catchUp.received(frame).requests);
    } else if (frame.type === "typing") {
      if (frame.room !== current.room || frame.name === current.name) return;
      typingNames.typed(frame.name, clock.now());
      showTyping();
    } else if (frame.type === "members") {
      if (frame.room !== current.room) return;
      if (from === "current") joinPending = membersPending = false;
      if (frame.moderator !== undefined) moderation.setRole(frame.moderator);
      onMembers(frame, from === "successor");
    } else if (frame.type === "presence") {
      if (frame.room === current.room) onPresence(frame);
    } else if (frame.type === "role") {
      moderation.onRole(frame);
    } else if (frame.type === "moderation") {
      if (frame.room === current.room) moderation.onModeration(frame);
    } else if (frame.type === "error" && frame.id !== undefined) {
      // An edit, delete or reaction was refused: nothing changed, and nothing goes again on its own.
      if (frame.code === "rate_limited") view.addNotice(CHANGE_TOO_FAST, "warning");
      else view.addNotice(describeError(frame.code, maxChars), "error");
    } else if (frame.code === "rate_limited" && frame.type === "error") {
      // Not a failure: nothing was stored or sent, and the same request goes again later.
      if (frame.clientId !== undefined) sending.hold(frame.clientId, frame.retryAfterMs);
      else retryReadsLater(frame.retryAfterMs);
    } else if (frame.type === "error") {
      // A refused message shows the failure on itself, with a way to send it again. The
      // page sends a clientId with every message: an error without one is about a
      // history request (or a frame the page did not send).
      if (frame.clientId === undefined || !sending.failed(frame.clientId, frame.code)) {
        sync.abandoned();
        catchUp.abandoned();
        updateEarlier();
        view.addNotice(describeError(frame.code, maxChars), "error");
      }
      if (frame.code === "not_connected") connection.reconnect();
    }
  }

  /**
   * The first request of an open goes as `join`: the first time a plain one
   * (answered by `members`, then the newest history page), after that with
   * `since` (answered by `members`, then the first `changes` page).
   */
  function joinFrames() {
    const since = catchUp.opened();
    let first = since;
    let rest = [];
    if (since === null) [first, ...rest] = sync.opened();
    else sync.closed(); // a "load earlier" in flight on the old socket will not be answered
    // docs/protocol.md, "Catching up": a new connection may miss live messages
    // for about a second, so catch up once more when the room index has settled.
    clock.clearTimeout(catchUpTimer);
    catchUpTimer = clock.setTimeout(() => requestChanges(catchUp.catchUpAgain()), settings.catchUpAgainMs);
    return [joinFrame(first), ...rest.map(historyFrame)];
  }

  function onOpen() {
    for (const frame of joinFrames()) connection.send(frame);
    joinPending = true;
    membersPending = false;
    moderation.presentSecret((frame) => connection.send(frame));
    sending.flush();
  }

  /**
   * Make-before-break (connection.js): the successor joins `after` the cursor,
   * as a reconnect would; the old socket still delivers until it is promoted.
   * Like any open this forgets a "load earlier" in flight (its answer is
   * dropped); the control is offered again at once.
   */
  function onSuccessorOpen() {
    for (const frame of joinFrames()) connection.sendToSuccessor(frame);
    moderation.presentSecret((frame) => connection.sendToSuccessor(frame));
    updateEarlier();
  }

  /** The successor is the socket now: what was in flight on the old one goes again on it. */
  function promoted() {
    if (!connection.promote()) return;
    sending.socketClosed();
    sending.flush();
  }

  /** The successor was given up: its join will not be answered. */
  function onSuccessorLost() {
    sync.abandoned();
    catchUp.abandoned();
    updateEarlier();
  }

  function onClosed() {
    clock.clearTimeout(catchUpTimer);
    clock.clearTimeout(readRetryTimer);
    joinPending = membersPending = false;
    moderation.closed();
    sync.closed();
    catchUp.closed();
    sending.socketClosed();
  }

  function onStatus(status) {
    if (status.state !== "open") onClosed();
    // Kicked or banned: no reconnecting into the ban.
    if (status.state === "waiting" && moderation.wasRemoved) {
      moderation.stopRemoved();
      return;
    }
    switch (status.state) {
      case "connecting":
        page.showStatus("connecting", status.attempt ? "Reconnecting…" : "Connecting…");
        break;
      case "open":
        page.showStatus("open", "Connected");
        view.addNotice(
          status.attempt ? "Reconnected." : `Connected to room ${current.room} as ${current.name}.`,
          "info",
        );
        failures = 0;
        everOpened = true;
        onOpen();
        break;
      case "waiting": {
        const seconds = Math.max(1, Math.round(status.delayMs / 1000));
        page.showStatus("waiting", `Reconnecting in ${seconds} s…`);
        failures += 1;
        // A refused connect may be an expired token (a page that slept through its renewal):
        // renew it before the next attempt.
        if (auth !== null && !status.wasOpen) auth.renewIfStale();
        if (status.wasOpen) {
          view.addNotice("Connection lost. Reconnecting…", "warning");
        } else if (failures === FAILURES_BEFORE_WARNING && !everOpened && auth !== null) {
          view.addNotice(REFUSED_SIGNED_IN_HINT, "warning");
        } else if (failures === FAILURES_BEFORE_WARNING && !everOpened) {
          view.addNotice(REFUSED_HINT, "warning", { words: "Choose another name", onClick: page.chooseAnotherName });
        } else if (failures === FAILURES_BEFORE_WARNING) {
          view.addNotice("Still cannot reach the chat server. The page keeps trying.", "warning");
        }
        break;
      }
      default:
        page.showStatus("closed", "Offline");
    }
    page.connectionChanged();
    updateEarlier();
  }

  const connection = new Connection({
    ...settings,
    onFrame,
    onStatus,
    onSuccessorOpen,
    onSuccessorLost,
    // docs/protocol.md, "Signing in": browsers cannot set headers on a WebSocket; the
    // token travels as a subprotocol, never in the URL (which lands in logs).
    protocols:
      auth === null ? undefined : () => (auth.idToken === null ? [SUBPROTOCOL] : [SUBPROTOCOL, auth.idToken]),
    WebSocketImpl,
    clock,
    random,
  });
  const sending = sessionOutbox({ view: page, clock, connection, maxChars, keyPending: () => keyPending });
  const moderation = sessionModeration({
    view: page,
    clock,
    connection,
    maxChars,
    ownName: () => current.name,
    keyPending: () => keyPending,
    connectCurrent,
  });

  function join(name, room) {
    current = { name: name.trim(), room: room.trim() };
    page.joined(current);
    // Messages still unsent were meant for the old room (or name): they go too.
    sync = new RoomSync();
    catchUp = new CatchUp();
    states.clear();
    typingNames.clear();
    showTyping();
    sending.clear();
    roster.clear();
    presenceLines.clear();
    moderation.clear();
    clock.clearTimeout(presenceTimer);
    showMembers();
    failures = 0;
    everOpened = false;
    clock.clearTimeout(readRetryTimer);
    view.clear();
    return connectCurrent();
  }

  /** Connect as `current`, presenting this browser's key for the room (derived first). */
  async function connectCurrent() {
    const generation = ++connectGeneration;
    const { name, room } = current;
    keyPending = true;
    const key = await nameKey(secret, room);
    if (generation !== connectGeneration) return;
    keyPending = false;
    connection.connect(connectUrl(websocketUrl, name, room, key));
  }

  /** Queue a message typed by the reader, and send it if there is a socket. */
  function send(text) {
    sending.add(text, current.name);
    typingSignal.sent();
  }

  /** Leave (signed out): close on purpose, drop what waits to be sent and the log. */
  function leave() {
    connection.close();
    sending.clear();
    view.clear();
    states.clear();
    current = { name: "", room: "" };
  }

  return {
    /** Join `room` as `name`, starting afresh (a new log, an empty outbox); resolves once connecting. */
    join,
    /** Connect again as the same name in the same room, keeping the log and the outbox. */
    reconnect: connectCurrent,
    leave,
    send,
    retry: (clientId) => sending.retry(clientId),
    /** Take a refused message out of the log to change it: its text, or undefined. */
    takeBack: (clientId) => sending.takeBack(clientId),
    loadEarlier,
    askMembers,
    /** The message list dropped its oldest messages (`ids`): "load earlier" fetches them again. */
    trimmed(ids = []) {
      for (const id of ids) states.forget(id);
      sync.trimmed();
      updateEarlier();
    },
    /** Edit, delete or react to a shown message. */
    editMessage: (id, text) => changeMessage(editMessageFrame(id, text)),
    /** Delete a shown message: the reader's own, or (a moderator) anyone's. */
    deleteMessage: (id) => changeMessage(deleteMessageFrame(id)),
    react: (id, emoji) => changeMessage(reactFrame(id, emoji)),
    /**
     * open chat: present the deployment's moderator secret now and
     * on every later open; it is kept in memory only. A `role` frame answers.
     */
    presentModeratorSecret: (secret) => moderation.presentModeratorSecret(secret),
    /** A moderator's actions on a member of the room (seconds 0 lifts a mute or ban). */
    mute: (name, seconds) => moderation.moderate(muteFrame(name, seconds)),
    kick: (name) => moderation.moderate(kickFrame(name)),
    ban: (name, seconds) => moderation.moderate(banFrame(name, seconds)),
    /** Whether the server said the reader is a moderator. */
    get isModerator() {
      return moderation.isModerator;
    },
    /** The end of the reader's mute, or null. */
    get mutedUntil() {
      return moderation.mutedUntil();
    },
    /** The reader changed the composer's text (typing.js decides whether to say so). */
    composing,
    /** The network is back (the page's "online" event): a waiting reconnect goes now. */
    online: () => connection.retryNow(),
    /** The name and room joined (both "" when not joined). */
    get current() {
      return current;
    },
    get isOpen() {
      return connection.isOpen;
    },
  };
}
