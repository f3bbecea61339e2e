// Wires the page together: settings, the join form, the composer and the connection.

import { config } from "../config.js";
import { AuthError, CognitoSession, describeAuthError } from "./auth.js";
import { CatchUp, MessageStates } from "./changes.js";
import { Connection } from "./connection.js";
import { OidcSession } from "./oidc.js";
import { RoomSync } from "./history.js";
import { MemberPanel } from "./members.js";
import { nameKey, nameSecret } from "./namekey.js";
import { Outbox, canRetry } from "./outbox.js";
import { PresenceLines, Roster } from "./presence.js";
import {
  DEFAULT_ROOM,
  changesFrame,
  charCount,
  connectUrl,
  deleteMessageFrame,
  describeError,
  editMessageFrame,
  historyFrame,
  joinFrame,
  membersFrame,
  nameProblem,
  normalizeName,
  parseServerFrame,
  reactFrame,
  roomProblem,
  sendMessageFrame,
  textProblem,
  typingFrame,
} from "./protocol.js";
import { load, save } from "./storage.js";
import { TypingNames, TypingSignal, typingLine } from "./typing.js";
import { MessageView, showStatus } from "./view.js";

const FAILURES_BEFORE_WARNING = 3;

// docs/protocol.md, "Connecting": a refused handshake (409 name taken, 403 room
// full, 429 connecting too often, 400) reaches the page as a plain failure to
// connect, like an unreachable server. When a join has never opened, these are
// what the reader can do something about, so that is what the page says.
const REFUSED_HINT =
  "Could not join. This name may be taken in this room by someone else, the room may be full, " +
  "or this browser is connecting too often. The page keeps trying.";
// Signed in, the name is the account's: a refusal is about the room, the rate or the sign-in.
const REFUSED_SIGNED_IN_HINT =
  "Could not join. The room may be full, this browser may be connecting too often, or the " +
  "sign-in may have expired. The page keeps trying.";

/**
 * Timing settings: config.js, optionally overridden by query parameters so
 * tests and demos need not wait minutes. Lower bounds keep a crafted link from
 * turning the page into a flood.
 */
function timings(search) {
  const params = new URLSearchParams(search);
  const pick = (key, fallback, min) => {
    const value = Number(params.get(key) ?? fallback);
    return Number.isFinite(value) ? Math.max(min, value) : fallback;
  };
  const baseMs = pick("reconnect_base_ms", config.reconnectBaseMs, 50);
  return {
    baseMs,
    capMs: Math.max(baseMs, pick("reconnect_cap_ms", config.reconnectCapMs, 50)),
    pingIntervalMs: pick("ping_ms", config.pingIntervalMs, 500),
    pongTimeoutMs: pick("pong_timeout_ms", config.pongTimeoutMs, 500),
    stableAfterMs: config.stableAfterMs,
    catchUpAgainMs: config.catchUpAgainMs,
    renewAfterMs: pick("renew_after_ms", config.renewAfterMs, 1000),
  };
}

/** A message's clientId: 32 hex digits. Not crypto.randomUUID(), which a page on
 * plain http (not a secure context) does not have; getRandomValues it has. */
function newClientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function guestName() {
  const bytes = crypto.getRandomValues(new Uint8Array(2));
  return `guest-${[...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

const $ = (id) => document.getElementById(id);

function main() {
  // Coming back from the OpenID Connect issuer: take its answer out of the address bar
  // (and restore the query the page had) before anything reads the address.
  const returned = config.auth.mode === "oidc" ? OidcSession.takeReturn() : null;
  // config.js is the one source of the limit: Terraform renders it from var.max_message_chars
  // and the local stack from the function's MAX_MESSAGE_CHARS, the value the backend enforces.
  const maxChars = config.maxMessageChars;
  const ui = {
    status: $("status"),
    statusText: $("status-text"),
    joinForm: $("join-form"),
    name: $("name"),
    room: $("room"),
    joinError: $("join-error"),
    roomName: $("room-name"),
    sendForm: $("send-form"),
    text: $("text"),
    counter: $("counter"),
    composerError: $("composer-error"),
    send: $("send"),
    chat: $("chat"),
    nameField: $("name-field"),
    membersToggle: $("members-toggle"),
    auth: $("auth"),
    authHeading: $("auth-heading"),
    authNote: $("auth-note"),
    authError: $("auth-error"),
    signInForm: $("sign-in-form"),
    signInUsername: $("sign-in-username"),
    signInPassword: $("sign-in-password"),
    signUpForm: $("sign-up-form"),
    signUpUsername: $("sign-up-username"),
    signUpEmail: $("sign-up-email"),
    signUpPassword: $("sign-up-password"),
    confirmForm: $("confirm-form"),
    confirmCode: $("confirm-code"),
    newPasswordForm: $("new-password-form"),
    newPassword: $("new-password"),
    newPasswordAgain: $("new-password-again"),
    newPasswordCancel: $("new-password-cancel"),
    showSignUp: $("show-sign-up"),
    showSignIn: $("show-sign-in"),
    account: $("account"),
    accountName: $("account-name"),
    signOut: $("sign-out"),
    oidcSignIn: $("oidc-sign-in"),
    oidcSignInButton: $("oidc-sign-in-button"),
    typing: $("typing"),
  };
  // docs/protocol.md, "Signing in": with Cognito or an OpenID Connect issuer the page
  // signs in first, and the connection offers the ID token as its second subprotocol.
  const onChange = (signedIn, why) => (signedIn ? enter() : signedOut(why));
  const session =
    config.auth.mode === "cognito"
      ? new CognitoSession({
          endpoint: config.auth.endpoint,
          clientId: config.auth.clientId,
          renewBeforeMs: config.tokenRenewBeforeMs,
          onChange,
        })
      : config.auth.mode === "oidc"
        ? new OidcSession({
            issuer: config.auth.issuer,
            clientId: config.auth.clientId,
            authorizationEndpoint: config.auth.authorizationEndpoint,
            tokenEndpoint: config.auth.tokenEndpoint,
            offlineAccess: config.auth.offlineAccess,
            renewBeforeMs: config.tokenRenewBeforeMs,
            onChange,
          })
        : null;
  // The secret behind this browser's name keys (namekey.js), read or created once.
  const secret = nameSecret();
  const settings = timings(window.location.search);
  const view = new MessageView($("messages"), $("jump"), $("earlier"), {
    onEarlier: loadEarlier,
    onRetry: retry,
    onEdit: edit,
    onTrimmed: (ids) => {
      for (const id of ids) states.forget(id);
      sync.trimmed();
      updateEarlier();
    },
    // Issue #28: a shown message's menu and reactions.
    onEditMessage: (id, text) => changeMessage(editMessageFrame(id, text)),
    onDeleteMessage: (id) => changeMessage(deleteMessageFrame(id)),
    onReact: (id, emoji) => changeMessage(reactFrame(id, emoji)),
    maxChars,
  });

  const members = new MemberPanel(
    {
      toggle: $("members-toggle"),
      count: $("member-count"),
      panel: $("members-panel"),
      heading: $("members-heading"),
      list: $("members-list"),
      note: $("members-note"),
      refresh: $("members-refresh"),
    },
    // Above the backend's notice limit no `presence` frames come: the list is
    // only as fresh as the last `members`, so opening the panel asks again.
    { onOpen: askMembers, onRefresh: askMembers },
  );

  // What the current connection was opened with (the server takes both from the URL).
  let current = { name: "", room: "" };
  let sync = new RoomSync();
  // Issue #28: message states by rev, the `changes` catch-up, and the typing line.
  let catchUp = new CatchUp();
  const states = new MessageStates();
  const typingNames = new TypingNames();
  const typingSignal = new TypingSignal();
  let typingTimer = null;
  const outbox = new Outbox();
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
  let releaseTimer = null;

  function request(requests) {
    for (const wanted of requests) connection.send(historyFrame(wanted));
  }

  function askMembers() {
    if (connection.send(membersFrame())) membersPending = true;
  }

  function showMembers() {
    members.render(roster, current.name);
  }

  function showPresenceLines(lines) {
    for (const { event, name } of lines) view.addNotice(`${name} ${event}`, "presence");
  }

  /** Show the "left" lines whose quiet time is over, when it is. */
  function schedulePresenceLines() {
    clearTimeout(presenceTimer);
    const due = presenceLines.nextDue;
    if (due === null) return;
    presenceTimer = setTimeout(() => {
      showPresenceLines(presenceLines.due(Date.now()));
      schedulePresenceLines();
    }, Math.max(0, due - Date.now()));
  }

  function onPresence(frame) {
    const now = Date.now();
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
      roster.renew(frame, new Date());
    } else {
      roster.replace(frame);
      presenceLines.present(frame.members.map((member) => member.name));
    }
    schedulePresenceLines();
    showMembers();
  }

  /** What a message being sent shows instead of its time. */
  function pendingStatus(entry) {
    if (entry.state === "sending") return { words: "Sending…" };
    if (entry.state === "queued") return { words: "Waiting for connection…" };
    if (entry.state === "held") {
      const waitMs = entry.retryAt - Date.now();
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
    if (!connection.isOpen || keyPending) return;
    for (const entry of outbox.takeQueued()) {
      connection.send(sendMessageFrame(entry.text, entry.clientId));
      view.updatePending(entry, pendingStatus(entry));
    }
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

  function retry(clientId) {
    const entry = outbox.retry(clientId);
    if (entry === undefined) return;
    view.updatePending(entry, pendingStatus(entry));
    flushOutbox();
  }

  /** Take a refused message back into the box to change it. */
  function edit(clientId) {
    const entry = outbox.get(clientId);
    if (entry === undefined) return;
    outbox.remove(clientId);
    view.removePending(clientId);
    releaseHeld();
    // Never overwrite a draft: the refused text goes above it.
    ui.text.value = ui.text.value.trim() === "" ? entry.text : `${entry.text}\n${ui.text.value}`;
    updateComposer();
    ui.text.focus();
  }

  /** Send the next held message if its time has come, or wait for that time. */
  function releaseHeld() {
    clearTimeout(releaseTimer);
    releaseTimer = null;
    for (const entry of outbox.release(Date.now())) view.updatePending(entry, pendingStatus(entry));
    flushOutbox();
    const next = outbox.nextRelease;
    if (next !== null) releaseTimer = setTimeout(releaseHeld, Math.max(0, next - Date.now()));
  }

  /** A sendmessage was refused as rate_limited: it waits on its own and goes again. */
  function holdMessage(clientId, retryAfterMs) {
    const entry = outbox.hold(clientId, Date.now() + retryAfterMs);
    if (entry === undefined) return;
    view.updatePending(entry, pendingStatus(entry));
    releaseHeld();
  }

  /**
   * A join, history or members request was refused as rate_limited (the error
   * does not say which): after the delay, ask again for whatever is still
   * unanswered. An answer that then comes twice is dropped (history.js).
   */
  function retryReadsLater(retryAfterMs) {
    clearTimeout(readRetryTimer);
    readRetryTimer = setTimeout(() => {
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

  // ------------------------------------------------------- issue #28: message states

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
    if (!connection.isOpen || keyPending || !connection.send(frame)) {
      view.addNotice("Not connected: that change was not made. Try again once reconnected.", "warning");
    }
  }

  function showTyping() {
    clearTimeout(typingTimer);
    const now = Date.now();
    ui.typing.textContent = typingLine(typingNames.names(now));
    const next = typingNames.nextExpiry;
    if (next !== null) typingTimer = setTimeout(showTyping, Math.max(0, next - now));
  }

  /** The composer changed: tell the room the reader is writing (at most every few seconds). */
  function composerChanged() {
    if (connection.isOpen && !keyPending && typingSignal.changed(ui.text.value, Date.now())) {
      connection.send(typingFrame());
    }
  }

  function onMessage(frame) {
    // A new message from someone typing ends their line.
    if (frame.rev === 1 && typingNames.stopped(frame.from)) showTyping();
    const own = frame.clientId === undefined ? undefined : outbox.acknowledge(frame.clientId);
    if (own !== undefined) {
      const { message: state } = states.apply(frame, current.name);
      view.confirm(frame.clientId, { ...(state ?? frame), editable: true });
      // Held messages go one by one, each after the one before: the next may go now.
      releaseHeld();
    } else {
      // Only the sender's own copy carries a clientId: one from an earlier page load is still ours.
      applyStates([{ ...frame, own: frame.clientId !== undefined }]);
    }
    sync.live(frame.id);
    catchUp.live(frame.changedAt);
  }

  function onFrame(data, from) {
    const frame = parseServerFrame(data);
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
      typingNames.typed(frame.name, Date.now());
      showTyping();
    } else if (frame.type === "members") {
      if (frame.room !== current.room) return;
      if (from === "current") joinPending = membersPending = false;
      onMembers(frame, from === "successor");
    } else if (frame.type === "presence") {
      if (frame.room === current.room) onPresence(frame);
    } else if (frame.type === "error" && frame.id !== undefined) {
      // An edit, delete or reaction was refused: nothing changed (rate_limited too: try again).
      view.addNotice(describeError(frame.code, maxChars), "error");
    } else if (frame.code === "rate_limited" && frame.type === "error") {
      // Not a failure: nothing was stored or sent, and the same request goes again later.
      if (frame.clientId !== undefined) holdMessage(frame.clientId, frame.retryAfterMs);
      else retryReadsLater(frame.retryAfterMs);
    } else if (frame.type === "error") {
      const entry = frame.clientId === undefined ? undefined : outbox.fail(frame.clientId, frame.code);
      if (entry !== undefined) {
        // The failure shows on the message itself, with a way to send it again.
        view.updatePending(entry, pendingStatus(entry));
        releaseHeld();
      } else {
        // The page sends a clientId with every message: an error without one is
        // about a history request (or a frame the page did not send).
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
    clearTimeout(catchUpTimer);
    catchUpTimer = setTimeout(() => requestChanges(catchUp.catchUpAgain()), settings.catchUpAgainMs);
    return [joinFrame(first), ...rest.map(historyFrame)];
  }

  function onOpen() {
    for (const frame of joinFrames()) connection.send(frame);
    joinPending = true;
    membersPending = false;
    flushOutbox();
  }

  /**
   * Make-before-break (connection.js): the successor joins `after` the cursor,
   * as a reconnect would; the old socket still delivers until it is promoted.
   * Like any open this forgets a "load earlier" in flight (its answer is
   * dropped); the control is offered again at once.
   */
  function onSuccessorOpen() {
    for (const frame of joinFrames()) connection.sendToSuccessor(frame);
    updateEarlier();
  }

  /** The successor is the socket now: what was in flight on the old one goes again on it. */
  function promoted() {
    if (!connection.promote()) return;
    for (const entry of outbox.socketClosed()) view.updatePending(entry, pendingStatus(entry));
    flushOutbox();
  }

  /** The successor was given up: its join will not be answered. */
  function onSuccessorLost() {
    sync.abandoned();
    catchUp.abandoned();
    updateEarlier();
  }

  function onClosed() {
    clearTimeout(catchUpTimer);
    clearTimeout(readRetryTimer);
    joinPending = membersPending = false;
    sync.closed();
    catchUp.closed();
    for (const entry of outbox.socketClosed()) view.updatePending(entry, pendingStatus(entry));
  }

  function onStatus(status) {
    if (status.state !== "open") onClosed();
    switch (status.state) {
      case "connecting":
        showStatus(ui.status, ui.statusText, "connecting", status.attempt ? "Reconnecting…" : "Connecting…");
        break;
      case "open":
        showStatus(ui.status, ui.statusText, "open", "Connected");
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
        showStatus(ui.status, ui.statusText, "waiting", `Reconnecting in ${seconds} s…`);
        failures += 1;
        // A refused connect may be an expired token (a page that slept through its renewal):
        // renew it before the next attempt.
        if (session !== null && !status.wasOpen) session.renewIfStale();
        if (status.wasOpen) {
          view.addNotice("Connection lost. Reconnecting…", "warning");
        } else if (failures === FAILURES_BEFORE_WARNING && !everOpened && session !== null) {
          view.addNotice(REFUSED_SIGNED_IN_HINT, "warning");
        } else if (failures === FAILURES_BEFORE_WARNING && !everOpened) {
          view.addNotice(REFUSED_HINT, "warning", { words: "Choose another name", onClick: chooseAnotherName });
        } else if (failures === FAILURES_BEFORE_WARNING) {
          view.addNotice("Still cannot reach the chat server. The page keeps trying.", "warning");
        }
        break;
      }
      default:
        showStatus(ui.status, ui.statusText, "closed", "Offline");
    }
    updateComposer();
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
      session === null
        ? undefined
        : () => (session.idToken === null ? ["awsome-chat"] : ["awsome-chat", session.idToken]),
  });

  /** Take the reader to the nickname field, ready to type another. */
  function chooseAnotherName() {
    ui.name.setAttribute("aria-invalid", "true");
    ui.name.focus();
    ui.name.select();
  }

  function updateComposer() {
    const count = charCount(ui.text.value.trim());
    const over = count > maxChars;
    const problem = textProblem(ui.text.value);
    ui.composerError.textContent = problem ?? "";
    ui.composerError.hidden = problem === null;
    const excess = count - maxChars;
    ui.counter.textContent = over
      ? `${excess} ${excess === 1 ? "character" : "characters"} too many`
      : `${count} / ${maxChars}`;
    ui.counter.classList.toggle("counter--over", over);
    ui.counter.classList.toggle("counter--near", !over && count > maxChars * 0.9);
    ui.text.setAttribute("aria-invalid", String(over || problem !== null));
    // Offline, a message is queued and sent once reconnected: sending stays possible.
    ui.send.disabled = over || count === 0 || problem !== null;
    ui.send.title = connection.isOpen ? "" : "Not connected: your message will be sent once reconnected.";
  }

  function join(name, room) {
    current = { name: name.trim(), room: room.trim() };
    ui.roomName.textContent = current.room;
    document.title = `#${current.room} · awsome-chat`;
    // Messages still unsent were meant for the old room (or name): they go too.
    sync = new RoomSync();
    catchUp = new CatchUp();
    states.clear();
    typingNames.clear();
    showTyping();
    outbox.clear();
    roster.clear();
    presenceLines.clear();
    clearTimeout(presenceTimer);
    showMembers();
    failures = 0;
    everOpened = false;
    clearTimeout(releaseTimer);
    clearTimeout(readRetryTimer);
    view.clear();
    connectCurrent();
  }

  /** Connect as `current`, presenting this browser's key for the room (derived first). */
  async function connectCurrent() {
    const generation = ++connectGeneration;
    const { name, room } = current;
    keyPending = true;
    const key = await nameKey(secret, room);
    if (generation !== connectGeneration) return;
    keyPending = false;
    connection.connect(connectUrl(config.websocketUrl, name, room, key));
  }

  function sendCurrent() {
    // A lone surrogate (a half-pasted emoji) is refused by the backend: mend it here.
    const text = ui.text.value.toWellFormed().trim();
    // A refused text stays in the box, with its problem shown (updateComposer).
    if (ui.send.disabled || text === "") return;
    const entry = outbox.add(text, newClientId());
    view.addPending(entry, current.name, pendingStatus(entry));
    flushOutbox();
    ui.text.value = "";
    typingSignal.sent();
    updateComposer();
  }

  ui.joinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (session !== null) ui.name.value = session.name; // the account's name, not the form's
    const problems = [
      ...(session === null ? [[ui.name, nameProblem(ui.name.value)]] : []),
      [ui.room, roomProblem(ui.room.value)],
    ];
    for (const [input, problem] of problems) input.setAttribute("aria-invalid", String(problem !== null));
    const firstBad = problems.find(([, problem]) => problem !== null);
    ui.joinError.textContent = firstBad ? firstBad[1] : "";
    ui.joinError.hidden = !firstBad;
    if (firstBad) {
      firstBad[0].focus();
      return;
    }
    if (session === null) {
      // The name as the backend will keep it: fullwidth letters folded, spaces collapsed.
      ui.name.value = normalizeName(ui.name.value);
      ui.name.setAttribute("aria-invalid", "false");
      save("name", ui.name.value);
    }
    ui.room.value = ui.room.value.trim();
    save("room", ui.room.value);
    const changed = ui.name.value !== current.name || ui.room.value !== current.room;
    if (changed) {
      join(ui.name.value, ui.room.value);
    } else if (!connection.isOpen) {
      // Same room, same name: reconnect now, keeping the log and the messages
      // waiting to be sent (the open catches up with what was missed).
      connectCurrent();
    }
    ui.text.focus();
  });

  ui.sendForm.addEventListener("submit", (event) => {
    event.preventDefault();
    sendCurrent();
  });
  ui.text.addEventListener("keydown", (event) => {
    // Enter sends, Shift+Enter is a new line; never interrupt an IME composition.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendCurrent();
    }
  });
  ui.text.addEventListener("input", updateComposer);
  ui.text.addEventListener("input", composerChanged);

  // ------------------------------------------------------------------ signing in

  /** Show the chat (signed in, or no sign-in at all) or the sign-in forms. */
  function showChat(visible) {
    ui.auth.hidden = visible;
    for (const part of [ui.chat, ui.sendForm, ui.joinForm, ui.membersToggle]) part.hidden = !visible;
    ui.account.hidden = !visible || session === null;
  }

  /** Which of the sign-in forms is shown. */
  function showAuthForm(which, note = "") {
    ui.signInForm.hidden = which !== "sign-in";
    ui.signUpForm.hidden = which !== "sign-up";
    ui.confirmForm.hidden = which !== "confirm";
    ui.newPasswordForm.hidden = which !== "new-password";
    ui.showSignUp.hidden = which !== "sign-in" || !config.auth.signUp;
    // The new-password form has its own way back (Cancel): "I already have an account" is off.
    ui.showSignIn.hidden = which === "sign-in" || which === "new-password";
    ui.authHeading.textContent =
      which === "sign-up"
        ? "Create an account"
        : which === "confirm"
          ? "Confirm your account"
          : which === "new-password"
            ? "Choose your password"
            : "Sign in to chat";
    ui.authNote.textContent = note;
    ui.authNote.hidden = note === "";
    showAuthError(null);
  }

  function showAuthError(error) {
    ui.authError.textContent = error === null ? "" : describeAuthError(error);
    ui.authError.hidden = error === null;
  }

  /** Signed in (or the session resumed): join the room as the account. */
  function enter() {
    ui.accountName.textContent = session.name;
    ui.name.value = session.name;
    showChat(true);
    join(session.name, ui.room.value);
    ui.text.focus();
  }

  /** Signed out (by the reader, or the session ended): leave, and offer sign-in again. */
  function signedOut(why) {
    connection.close();
    outbox.clear();
    view.clear();
    current = { name: "", room: "" };
    showChat(false);
    if (config.auth.mode === "oidc") {
      showOidcSignIn(why ?? "");
    } else {
      showAuthForm("sign-in", why ?? "");
      ui.signInUsername.value = session.lastUsername;
    }
    showStatus(ui.status, ui.statusText, "closed", "Signed out");
    ui.authHeading.focus();
  }

  /** Run one sign-in step with its form's button disabled; errors are shown on the form. */
  async function attempt(form, step) {
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    showAuthError(null);
    try {
      await step();
    } catch (error) {
      showAuthError(error);
      return false;
    } finally {
      button.disabled = false;
    }
    return true;
  }

  // Kept in memory between sign-up and confirmation only, to sign in right after.
  let pending = { username: "", password: "" };
  // An admin-created user's first sign-in (NEW_PASSWORD_REQUIRED), until their password is set.
  let challenge = null;

  /** Back to the sign-in form, the challenge dropped (expired, or the reader cancelled). */
  function leaveNewPassword(note = "") {
    challenge = null;
    ui.newPassword.value = ui.newPasswordAgain.value = "";
    showAuthForm("sign-in", note);
    ui.signInPassword.focus();
  }

  function wireSignIn() {
    ui.signInForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const username = ui.signInUsername.value.trim();
      const password = ui.signInPassword.value;
      if (username === "" || password === "") {
        ui.authError.textContent = "Enter your username and password.";
        ui.authError.hidden = false;
        return;
      }
      await attempt(ui.signInForm, async () => {
        try {
          challenge = await session.signIn(username, password);
        } catch (error) {
          if (error.code === "UserNotConfirmedException" && config.auth.signUp) {
            pending = { username, password };
            showAuthForm("confirm", "Enter the code you were sent to confirm your account.");
          }
          throw error;
        }
        if (challenge !== null) {
          showAuthForm("new-password", "This is your first sign-in: choose your own password to replace the one you were sent.");
          ui.newPassword.focus();
        }
      });
      ui.signInPassword.value = "";
    });
    ui.newPasswordForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const password = ui.newPassword.value;
      if (password === "" || password !== ui.newPasswordAgain.value) {
        showAuthError(new AuthError("passwords-differ", ""));
        ui.newPassword.focus();
        return;
      }
      let expired = false;
      const done = await attempt(ui.newPasswordForm, async () => {
        try {
          await session.setNewPassword(challenge, password);
        } catch (error) {
          expired = error.code === "challenge-expired";
          throw error;
        }
      });
      if (done) {
        challenge = null;
        ui.newPassword.value = ui.newPasswordAgain.value = "";
      } else if (expired) {
        leaveNewPassword(describeAuthError(new AuthError("challenge-expired", "")));
      } else {
        ui.newPassword.focus(); // the policy's refusal is shown: try another password
      }
    });
    ui.newPasswordCancel.addEventListener("click", () => leaveNewPassword());
    ui.signUpForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const username = ui.signUpUsername.value.trim();
      const password = ui.signUpPassword.value;
      const email = ui.signUpEmail.value.trim();
      await attempt(ui.signUpForm, async () => {
        const needsCode = await session.signUp(username, password, email);
        pending = { username, password };
        if (needsCode) showAuthForm("confirm", "We sent you a confirmation code. Enter it to finish.");
        else await session.signIn(username, password);
      });
    });
    ui.confirmForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const { username, password } = pending;
      await attempt(ui.confirmForm, async () => {
        await session.confirm(username, ui.confirmCode.value.trim());
        pending = { username: "", password: "" };
        ui.confirmCode.value = "";
        await session.signIn(username, password);
      });
    });
    ui.showSignUp.addEventListener("click", () => showAuthForm("sign-up"));
    ui.showSignIn.addEventListener("click", () => showAuthForm("sign-in"));
    ui.signOut.addEventListener("click", signOutEverywhere);
  }

  /** The reader signs out: here at once, then the session is revoked at the sign-in service. */
  async function signOutEverywhere() {
    const revoked = await session.signOutEverywhere("You signed out.");
    if (!revoked && !ui.auth.hidden) {
      ui.authNote.textContent =
        "You signed out here, but the sign-in service could not be reached to end your session there.";
      ui.authNote.hidden = false;
    }
  }

  /** OpenID Connect: the one button that goes to the issuer (it owns sign-up too). */
  function showOidcSignIn(note = "", button = true) {
    showAuthForm("none", note);
    ui.showSignIn.hidden = true;
    ui.oidcSignIn.hidden = !button;
  }

  function wireOidcSignIn() {
    const host = session.issuerHost;
    if (host !== "") ui.oidcSignInButton.textContent = `Sign in at ${host}`;
    ui.oidcSignInButton.addEventListener("click", async () => {
      ui.oidcSignInButton.disabled = true;
      showAuthError(null);
      try {
        await session.signIn(); // leaves the page
      } catch (error) {
        showAuthError(error);
        ui.oidcSignInButton.disabled = false;
      }
    });
    ui.signOut.addEventListener("click", signOutEverywhere);
  }

  /** OpenID Connect at load: finish a sign-in coming back from the issuer, or resume one. */
  function startOidc() {
    wireOidcSignIn();
    if (returned !== null) {
      showOidcSignIn("Signing in…", false);
      session
        .complete(returned)
        .then((signedIn) => {
          if (!signedIn) showOidcSignIn(); // an ?error= of no sign-in of this tab: ignored
        })
        .catch((error) => {
          showOidcSignIn();
          showAuthError(error);
        });
    } else if (session.resumable) {
      showOidcSignIn("Signing in…", false);
      session
        .resume()
        .then((resumed) => {
          if (resumed) return;
          // Offline: the session is kept and renewal tried again (oidc.js); say so meanwhile.
          if (session.resumable) showOidcSignIn("Cannot reach the sign-in service. Trying again…", false);
        })
        .catch((error) => {
          showOidcSignIn();
          showAuthError(error);
        });
    } else {
      showOidcSignIn();
    }
  }

  const storedRoom = load("room");
  ui.room.value = storedRoom !== null && roomProblem(storedRoom) === null ? storedRoom : DEFAULT_ROOM;
  updateComposer();
  if (config.auth.mode === "oidc") {
    ui.nameField.hidden = true;
    ui.joinForm.classList.add("join--signed-in");
    showChat(false);
    showStatus(ui.status, ui.statusText, "closed", "Signed out");
    startOidc();
    return;
  }
  if (session !== null) {
    ui.nameField.hidden = true;
    ui.joinForm.classList.add("join--signed-in");
    wireSignIn();
    if (session.resumable) {
      // A session from an earlier visit: renew its ID token (enter() follows), or ask again.
      showChat(false);
      ui.signInForm.hidden = true;
      ui.authNote.textContent = "Signing in…";
      ui.authNote.hidden = false;
      session.renew().then((renewed) => {
        // Offline: the session is kept and renewal tried again (auth.js); say so meanwhile.
        if (!renewed && session.resumable) ui.authNote.textContent = "Cannot reach the sign-in service. Trying again…";
      });
    } else {
      showChat(false);
      showAuthForm("sign-in");
      ui.signInUsername.value = session.lastUsername;
    }
    showStatus(ui.status, ui.statusText, "closed", "Signed out");
    return;
  }
  const storedName = load("name");
  ui.name.value = storedName !== null && nameProblem(storedName) === null ? normalizeName(storedName) : guestName();
  save("name", ui.name.value);
  join(ui.name.value, ui.room.value);
}

main();
