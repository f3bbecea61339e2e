// Wires the page together: settings, the join form, the composer, the sign-in
// screens and the chat session (session.js, which holds the chat's logic).

import { config } from "../config.js";
import { CognitoSession } from "./auth.js";
import { Composer } from "./composer.js";
import { OidcSession } from "./oidc.js";
import { DEFAULT_ROOM, nameProblem, normalizeName, roomProblem } from "./inputchecks.js";
import { MemberPanel } from "./members.js";
import { nameSecret } from "./namekey.js";
import { startSession } from "./session.js";
import { signInScreens } from "./signin.js";
import { load, save } from "./storage.js";
import { MessageView, showStatus } from "./view.js";

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
    // Moderation (docs/protocol.md, "Moderation").
    composerMuted: $("composer-muted"),
    moderatorBadge: $("moderator-badge"),
    moderatorSignIn: $("moderator-sign-in"),
    moderatorForm: $("moderator-form"),
    moderatorSecret: $("moderator-secret"),
  };
  // docs/protocol.md, "Signing in": with Cognito or an OpenID Connect issuer the page
  // signs in first, and the connection offers the ID token as its second subprotocol.
  const onChange = (signedIn, why) => (signedIn ? enter() : signedOut(why));
  const auth =
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
  const screens =
    auth === null ? null : signInScreens(ui, auth, { mode: config.auth.mode, signUp: config.auth.signUp, returned });
  const view = new MessageView($("messages"), $("jump"), $("earlier"), {
    onEarlier: () => chat.loadEarlier(),
    onRetry: (clientId) => chat.retry(clientId),
    onEdit: (clientId) => {
      // Take a refused message back into the box to change it.
      const text = chat.takeBack(clientId);
      if (text !== undefined) composer.takeBack(text);
    },
    onTrimmed: (ids) => chat.trimmed(ids),
    // a shown message's menu and reactions.
    onEditMessage: (id, text) => chat.editMessage(id, text),
    onDeleteMessage: (id) => chat.deleteMessage(id),
    onReact: (id, emoji) => chat.react(id, emoji),
    // a moderator's actions on a message's author.
    onModerate: (action, name, seconds) => moderate(action, name, seconds),
    maxChars,
  });

  /** A moderator's action on `name` (a mute or ban for `seconds`; 0 lifts it). */
  function moderate(action, name, seconds) {
    if (action === "mute") chat.mute(name, seconds);
    else if (action === "ban") chat.ban(name, seconds);
    else if (action === "kick") chat.kick(name);
  }

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
    {
      onOpen: () => chat.askMembers(),
      onRefresh: () => chat.askMembers(),
      onModerate: (action, name, seconds) => moderate(action, name, seconds),
    },
  );

  /** Take the reader to the nickname field, ready to type another. */
  function chooseAnotherName() {
    ui.name.setAttribute("aria-invalid", "true");
    ui.name.focus();
    ui.name.select();
  }

  const chat = startSession({
    websocketUrl: config.websocketUrl,
    // The secret behind this browser's name keys (namekey.js), read or created once.
    secret: nameSecret(),
    maxChars,
    timings: timings(window.location.search),
    auth,
    view: {
      messages: view,
      showMembers: (roster, ownName) => members.render(roster, ownName),
      showStatus: (state, words) => showStatus(ui.status, ui.statusText, state, words),
      joined: ({ room }) => {
        ui.roomName.textContent = room;
        document.title = `#${room} · awsome-chat`;
      },
      connectionChanged: () => composer.update(),
      chooseAnotherName,
      showTyping: (line) => {
        ui.typing.textContent = line;
      },
      // the server says whether the reader moderates, and whether they are muted.
      showRole: (moderator) => {
        view.setModerator(moderator);
        members.setModerator(moderator);
        ui.moderatorBadge.hidden = !moderator;
        if (moderator) ui.moderatorSignIn.open = false;
      },
      showMuted: (line) => composer.setMuted(line),
    },
  });
  window.addEventListener("online", () => chat.online());

  const composer = new Composer(
    {
      form: ui.sendForm,
      text: ui.text,
      counter: ui.counter,
      error: ui.composerError,
      send: ui.send,
      muted: ui.composerMuted,
    },
    { maxChars, isOpen: () => chat.isOpen, onSend: (text) => chat.send(text) },
  );
  // the others see "… is typing" while the reader writes.
  ui.text.addEventListener("input", () => chat.composing(ui.text.value));

  ui.joinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (auth !== null) ui.name.value = auth.name; // the account's name, not the form's
    const problems = [
      ...(auth === null ? [[ui.name, nameProblem(ui.name.value)]] : []),
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
    if (auth === null) {
      // The name as the backend will keep it: fullwidth letters folded, spaces collapsed.
      ui.name.value = normalizeName(ui.name.value);
      ui.name.setAttribute("aria-invalid", "false");
      save("name", ui.name.value);
    }
    ui.room.value = ui.room.value.trim();
    save("room", ui.room.value);
    const changed = ui.name.value !== chat.current.name || ui.room.value !== chat.current.room;
    if (changed) {
      chat.join(ui.name.value, ui.room.value);
    } else if (!chat.isOpen) {
      // Same room, same name: reconnect now, keeping the log and the messages
      // waiting to be sent (the open catches up with what was missed).
      chat.reconnect();
    }
    ui.text.focus();
  });

  /** Signed in (or the session resumed): join the room as the account. */
  function enter() {
    screens.signedIn();
    ui.name.value = auth.name;
    chat.join(auth.name, ui.room.value);
    ui.text.focus();
  }

  /** Signed out (by the reader, or the session ended): leave, and offer sign-in again. */
  function signedOut(why) {
    chat.leave();
    screens.signedOut(why);
  }

  // open chat with a moderator secret: the secret goes to the session's memory
  // only (never storage or the URL), presented on this connection and every later one.
  ui.moderatorSignIn.hidden = auth !== null || !config.moderationSecret;
  ui.moderatorForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const secret = ui.moderatorSecret.value;
    ui.moderatorSecret.value = "";
    if (secret !== "") chat.presentModeratorSecret(secret);
  });

  const storedRoom = load("room");
  ui.room.value = storedRoom !== null && roomProblem(storedRoom) === null ? storedRoom : DEFAULT_ROOM;
  composer.update();
  if (auth !== null) {
    ui.nameField.hidden = true;
    ui.joinForm.classList.add("join--signed-in");
    screens.start();
    return;
  }
  const storedName = load("name");
  ui.name.value = storedName !== null && nameProblem(storedName) === null ? normalizeName(storedName) : guestName();
  save("name", ui.name.value);
  chat.join(ui.name.value, ui.room.value);
}

main();
