// Wires the page together: settings, the join form, the composer and the connection.

import { config } from "../config.js";
import { Connection } from "./connection.js";
import {
  DEFAULT_ROOM,
  charCount,
  connectUrl,
  describeError,
  nameProblem,
  parseServerFrame,
  roomProblem,
  sendMessageFrame,
} from "./protocol.js";
import { load, save } from "./storage.js";
import { MessageView, showStatus } from "./view.js";

const SEEN_IDS_KEPT = 2000;
const FAILURES_BEFORE_WARNING = 3;

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
  };
}

function guestName() {
  const bytes = crypto.getRandomValues(new Uint8Array(2));
  return `guest-${[...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

const $ = (id) => document.getElementById(id);

function main() {
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
    send: $("send"),
  };
  const view = new MessageView($("messages"), $("jump"));

  // What the current connection was opened with (the server takes both from the URL).
  let current = { name: "", room: "" };
  const seen = new Set();
  let pendingOwn = []; // texts sent and not yet echoed back: how own messages are recognised
  let failures = 0;

  function rememberId(id) {
    seen.add(id);
    if (seen.size > SEEN_IDS_KEPT) seen.delete(seen.values().next().value);
  }

  function onFrame(data) {
    const frame = parseServerFrame(data);
    if (frame.type === "message") {
      if (seen.has(frame.id) || frame.room !== current.room) return;
      rememberId(frame.id);
      const index = frame.from === current.name ? pendingOwn.indexOf(frame.text) : -1;
      if (index >= 0) pendingOwn.splice(index, 1);
      view.addMessage({ ...frame, own: index >= 0 });
    } else if (frame.type === "error") {
      view.addNotice(describeError(frame.code, maxChars), "error");
      if (frame.code === "not_connected") connection.reconnect();
    }
  }

  function onStatus(status) {
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
        break;
      case "waiting": {
        const seconds = Math.max(1, Math.round(status.delayMs / 1000));
        showStatus(ui.status, ui.statusText, "waiting", `Reconnecting in ${seconds} s…`);
        failures += 1;
        if (status.wasOpen) {
          view.addNotice("Connection lost. Reconnecting…", "warning");
        } else if (failures === FAILURES_BEFORE_WARNING) {
          view.addNotice("Still cannot reach the chat server. The page keeps trying.", "warning");
        }
        break;
      }
      default:
        showStatus(ui.status, ui.statusText, "closed", "Offline");
    }
    updateComposer();
  }

  const connection = new Connection({ ...timings(window.location.search), onFrame, onStatus });

  function updateComposer() {
    const count = charCount(ui.text.value.trim());
    const over = count > maxChars;
    const excess = count - maxChars;
    ui.counter.textContent = over
      ? `${excess} ${excess === 1 ? "character" : "characters"} too many`
      : `${count} / ${maxChars}`;
    ui.counter.classList.toggle("counter--over", over);
    ui.counter.classList.toggle("counter--near", !over && count > maxChars * 0.9);
    ui.text.setAttribute("aria-invalid", String(over));
    ui.send.disabled = over || count === 0 || !connection.isOpen;
    ui.send.title = connection.isOpen ? "" : "Not connected: sending resumes once reconnected.";
  }

  function join(name, room) {
    current = { name: name.trim(), room: room.trim() };
    ui.roomName.textContent = current.room;
    document.title = `#${current.room} · awsome-chat`;
    seen.clear();
    pendingOwn = [];
    failures = 0;
    view.clear();
    connection.connect(connectUrl(config.websocketUrl, current.name, current.room));
  }

  function sendCurrent() {
    // A lone surrogate (a half-pasted emoji) is refused by the backend: mend it here.
    const text = ui.text.value.toWellFormed().trim();
    if (ui.send.disabled || text === "") return;
    if (!connection.send(sendMessageFrame(text))) {
      view.addNotice("Not connected: your message is still in the box.", "warning");
      return;
    }
    pendingOwn.push(text);
    ui.text.value = "";
    updateComposer();
  }

  ui.joinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const problems = [
      [ui.name, nameProblem(ui.name.value)],
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
    ui.name.value = ui.name.value.trim();
    ui.room.value = ui.room.value.trim();
    save("name", ui.name.value);
    save("room", ui.room.value);
    const changed = ui.name.value !== current.name || ui.room.value !== current.room;
    if (changed || !connection.isOpen) join(ui.name.value, ui.room.value);
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

  const storedName = load("name");
  const storedRoom = load("room");
  ui.name.value = storedName !== null && nameProblem(storedName) === null ? storedName : guestName();
  ui.room.value = storedRoom !== null && roomProblem(storedRoom) === null ? storedRoom : DEFAULT_ROOM;
  save("name", ui.name.value);
  updateComposer();
  join(ui.name.value, ui.room.value);
}

main();
