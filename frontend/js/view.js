// The message list: rendering, ordering and scrolling.
//
// Every string that came from a user or the server goes into the DOM through
// textContent (never innerHTML), so a message is always shown as text.
//
// Order: a message is placed by its id (ULIDs sort in time order), whether it
// came live or in a history page, and shown once. Messages still being sent
// have no id yet: they stay at the bottom until their own copy arrives and
// they move to their id's place. Notices go at the bottom, above those.

import { insertionIndex } from "./history.js";
import { MessageActions, menuButton, reactionsRow } from "./messageactions.js";

// The log keeps at most this many items: when it grows past it while the reader
// follows the bottom, the oldest go (and can be loaded again).
const MAX_ITEMS = 500;
const BOTTOM_SLACK_PX = 48;
const HUES = 8;

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** A stable colour class for a sender, so people are easy to tell apart. */
function hueClass(name) {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return `hue-${hash % HUES}`;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Fill `item` with a message. `status` is null for a delivered message (its time
 * is shown), else `{words, detail?, action?}` for one still being sent or refused.
 * A delivered message shows its state: the "(edited)" mark, a
 * tombstone ("removed by a moderator"), its reactions, and a menu:
 * for the reader's own (`editable`), and for a moderator on everyone else's.
 */
function renderMessage(
  item,
  { from, text, sentAt, own, status, deleted, deletedBy, editedAt, reactions, editable, moderation },
) {
  const avatar = element("span", `avatar ${hueClass(from)}`, [...from][0]?.toUpperCase() ?? "?");
  avatar.setAttribute("aria-hidden", "true");
  const body = element("div", "message__body");
  const meta = element("p", "message__meta");
  meta.append(element("span", "message__from", from));
  if (own) meta.append(element("span", "message__you", "(you)"));
  if (status === null) {
    const time = element("time", "message__time", timeFormat.format(sentAt));
    time.dateTime = sentAt.toISOString();
    time.title = fullFormat.format(sentAt);
    meta.append(time);
    if (editedAt !== undefined && !deleted) {
      const mark = element("span", "message__edited", "(edited)");
      mark.title = `Edited ${fullFormat.format(editedAt)}`;
      meta.append(mark);
    }
    if (editable && !deleted) meta.append(menuButton());
    // a moderator has a menu on everyone else's message.
    else if (moderation && !editable && !own) meta.append(menuButton(true));
    item.dataset.from = from;
  } else {
    meta.append(element("span", "message__status", status.words));
  }
  item.classList.toggle("message--deleted", Boolean(deleted));
  const gone = deletedBy === "moderator" ? "removed by a moderator" : "message deleted";
  body.append(meta, element("p", "message__text", deleted ? gone : text));
  if (status === null && !deleted) body.append(reactionsRow(reactions ?? []));
  if (status?.detail || status?.action) {
    const problem = element("p", "message__problem");
    if (status.detail) problem.append(element("span", "message__detail", status.detail));
    if (status.action) {
      const button = element("button", "message__action", status.action.words);
      button.type = "button";
      button.dataset.action = status.action.name;
      button.setAttribute("aria-label", `${status.action.words}: ${text}`);
      problem.append(button);
    }
    body.append(problem);
  }
  item.replaceChildren(avatar, body);
}

export class MessageView {
  #list;
  #jump;
  #earlier;
  /** Ids of the shown messages, ascending: their order in the list. */
  #ids = [];
  /** @type {Map<string, HTMLElement>} */
  #byId = new Map();
  /** @type {Map<string, HTMLElement>} messages being sent, by clientId, in the order typed */
  #pending = new Map();
  #onTrimmed;
  #actions;
  /** The "new messages" divider, and the id of the message it is above (null: not shown). */
  #divider = element("p", "divider");
  /** whether the reader moderates (the server said so). */
  #moderator = false;
  #dividerId = null;

  /**
   * @param {HTMLElement} list the scrolling log
   * @param {HTMLButtonElement} jump "new messages" button
   * @param {HTMLButtonElement} earlier "load earlier messages" button, the log's first child
   * @param {{onEarlier: () => void, onRetry: (clientId: string) => void,
   *   onEdit: (clientId: string) => void, onTrimmed: (ids: string[]) => void,
   *   onEditMessage: (id: string, text: string) => void, onDeleteMessage: (id: string) => void,
   *   onReact: (id: string, emoji: string) => void, maxChars: number,
   *   onModerate: (action: string, name: string, seconds?: number) => void}} handlers
   */
  constructor(list, jump, earlier, { onEarlier, onRetry, onEdit, onTrimmed, ...actions }) {
    this.#list = list;
    this.#actions = new MessageActions(
      list,
      {
        onEdit: actions.onEditMessage,
        onDelete: actions.onDeleteMessage,
        onReact: actions.onReact,
        onModerate: actions.onModerate,
        isModerator: () => this.#moderator,
      },
      actions.maxChars,
    );
    this.#divider.setAttribute("role", "separator");
    this.#divider.append(element("span", "divider__words", "New messages"));
    this.#jump = jump;
    this.#earlier = earlier;
    this.#onTrimmed = onTrimmed;
    jump.addEventListener("click", () => this.#scrollToBottom());
    earlier.addEventListener("click", () => onEarlier());
    list.addEventListener("scroll", () => {
      if (this.#atBottom()) this.#jump.hidden = true;
    });
    // One listener for every message's button, however often messages are re-rendered.
    list.addEventListener("click", (event) => {
      const button = event.target.closest?.("button[data-action]");
      const clientId = button?.closest(".message")?.dataset.clientId;
      if (clientId === undefined) return;
      if (button.dataset.action === "retry") onRetry(clientId);
      else if (button.dataset.action === "edit") onEdit(clientId);
    });
  }

  /** the server says whether the reader moderates: everyone else's messages get a menu then. */
  setModerator(moderator) {
    if (moderator === this.#moderator) return;
    this.#moderator = moderator;
    for (const item of this.#byId.values()) {
      if (!moderator) {
        item.querySelector(".message__menu--moderation")?.remove();
        item.querySelector(".moderation-prompt")?.remove();
      } else if (item.querySelector("button[data-action=menu]") === null && !item.classList.contains("message--own")) {
        item.querySelector(".message__meta").append(menuButton(true));
      }
    }
  }

  /** The oldest and newest shown message ids (null when none is shown). */
  get oldestId() {
    return this.#ids[0] ?? null;
  }

  get newestId() {
    return this.#ids.at(-1) ?? null;
  }

  /**
   * Show messages in id order, skipping ids already shown.
   * `prepend`: they are older than what the reader sees, who stays where they are.
   * @param {Array<{id: string, from: string, text: string, sentAt: Date, own?: boolean,
   *   editable?: boolean, deleted?: boolean, editedAt?: Date,
   *   reactions?: Array<{emoji: string, count: number, mine: boolean}>}> messages
   * @returns {number} how many were new
   */
  addMessages(messages, { prepend = false } = {}) {
    return this.#change(prepend, () => {
      let added = 0;
      for (const message of messages) {
        const index = insertionIndex(this.#ids, message.id);
        if (this.#ids[index] === message.id) continue;
        const item = element("article", message.own ? "message message--own" : "message");
        item.dataset.id = message.id;
        renderMessage(item, { ...message, own: Boolean(message.own), status: null, moderation: this.#moderator });
        this.#place(index, message.id, item);
        added += 1;
      }
      return added;
    });
  }

  /** Whether a message with `id` is shown. */
  has(id) {
    return this.#byId.has(id);
  }

  /**
   * A shown message has a newer state (edited, deleted, reacted to): shown
   * in place; a control that had focus keeps it, or the log takes it.
   * @param {{id: string, from: string, text: string, sentAt: Date, editable?: boolean,
   *   deleted: boolean, editedAt?: Date, reactions: Array<{emoji: string, count: number, mine: boolean}>}} message
   */
  update(message) {
    const item = this.#byId.get(message.id);
    if (item === undefined) return;
    const focused = item.contains(document.activeElement) ? document.activeElement : null;
    // A control of the own-message menu (closed by the redraw) hands focus back to the menu button.
    const action = focused?.closest(".menu") ? "menu" : focused?.dataset.action;
    const emoji = focused?.dataset.emoji;
    const own = item.classList.contains("message--own");
    // Changed in place: no "new messages" button, but a reader at the bottom stays there.
    const follow = this.#atBottom();
    // a moderator's confirm being answered stays, with its choice and focus.
    const prompt = item.querySelector(".moderation-prompt");
    renderMessage(item, { ...message, own, status: null, moderation: this.#moderator });
    if (prompt !== null) item.querySelector(".message__text").after(prompt);
    if (follow) this.#scrollToBottom();
    const editable = Boolean(message.editable) && !message.deleted;
    this.#actions.rerendered(item, editable);
    if (focused !== null && prompt?.contains(focused)) focused.focus();
    if (focused === null || item.contains(document.activeElement)) return;
    // Someone reacted while the reader edits: the editor comes back with the draft, and the caret.
    const area = focused.tagName === "TEXTAREA" ? item.querySelector(".editor textarea") : null;
    if (area !== null) {
      area.focus();
      area.setSelectionRange(focused.selectionStart, focused.selectionEnd);
      return;
    }
    const again =
      action === "react" ? item.querySelector(`button[data-action=react][data-emoji="${CSS.escape(emoji)}"]`) : null;
    (again ?? item.querySelector(`button[data-action=${action === "menu" ? "menu" : "picker"}]`) ?? this.#list).focus();
  }

  /** The "new messages" divider goes above message `id` (a catch-up began there). */
  markNew(id) {
    const item = this.#byId.get(id);
    if (item === undefined) return;
    this.#dividerId = id;
    this.#list.insertBefore(this.#divider, item);
  }

  /**
   * A system line: `kind` is "info", "presence" (someone joined or left), "warning" or "error".
   * `action`, when given, adds a button after the words.
   * @param {{words: string, onClick: () => void} | undefined} action
   */
  addNotice(text, kind = "info", action = undefined) {
    const item = element("p", `notice notice--${kind}`, text);
    if (action !== undefined) {
      const button = element("button", "notice__action", action.words);
      button.type = "button";
      button.addEventListener("click", action.onClick);
      item.append(" ", button);
    }
    this.#change(false, () => {
      this.#list.insertBefore(item, this.#firstPending());
      return 1;
    });
  }

  /**
   * A message the reader just sent: shown at once, at the bottom, as not yet delivered.
   * @param {{clientId: string, text: string, state: string, code: string | null}} entry
   * @param {string} from the reader's name
   * @param {{words: string, detail?: string, action?: {name: string, words: string}}} status
   */
  addPending(entry, from, status) {
    const item = element("article", "message message--own message--pending");
    item.dataset.clientId = entry.clientId;
    item.dataset.from = from;
    this.#pending.set(entry.clientId, item);
    this.#showPendingState(item, entry, status);
    this.#list.append(item);
    this.#trim();
    this.#scrollToBottom();
  }

  /** A pending message changed state (sending, waiting, refused). */
  updatePending(entry, status) {
    const item = this.#pending.get(entry.clientId);
    if (item !== undefined) this.#showPendingState(item, entry, status);
  }

  /**
   * The own copy of a sent message arrived: it becomes a normal message, placed
   * by its id. When that id is already shown (it came in a history page first),
   * the shown one is the reader's and the pending one goes.
   * @param {string} clientId
   * @param {{id: string, from: string, text: string, sentAt: Date}} message
   */
  confirm(clientId, message) {
    const item = this.#pending.get(clientId);
    this.#pending.delete(clientId);
    if (this.#byId.has(message.id)) {
      item?.remove();
      const shown = this.#byId.get(message.id);
      if (!shown.classList.contains("message--own")) {
        shown.classList.add("message--own");
        renderMessage(shown, { ...message, own: true, status: null });
      }
      return;
    }
    if (item === undefined) {
      this.addMessages([{ ...message, own: true }]);
      return;
    }
    this.#change(false, () => {
      item.remove();
      item.className = "message message--own";
      delete item.dataset.clientId;
      delete item.dataset.from;
      delete item.dataset.state;
      item.dataset.id = message.id;
      renderMessage(item, { ...message, own: true, status: null });
      this.#place(insertionIndex(this.#ids, message.id), message.id, item);
      return 1;
    });
  }

  /** Take a pending message off the log. */
  removePending(clientId) {
    this.#pending.get(clientId)?.remove();
    this.#pending.delete(clientId);
  }

  /** The "load earlier messages" control: "hidden", "ready", "loading" or "offline". */
  showEarlier(state) {
    const button = this.#earlier;
    button.hidden = state === "hidden";
    button.disabled = state !== "ready";
    button.textContent = state === "loading" ? "Loading earlier messages…" : "Load earlier messages";
    button.title = state === "offline" ? "Not connected: earlier messages load once reconnected." : "";
  }

  clear() {
    this.#list.replaceChildren(this.#earlier);
    this.#actions.reset();
    this.#dividerId = null;
    this.#ids = [];
    this.#byId.clear();
    this.#pending.clear();
    this.#jump.hidden = true;
    this.showEarlier("hidden");
  }

  #showPendingState(item, entry, status) {
    item.dataset.state = entry.state;
    item.classList.toggle("message--failed", entry.state === "failed");
    renderMessage(item, { from: item.dataset.from, text: entry.text, own: true, status });
  }

  /** Put `item` (message `id`) at `index` of the ordered messages, above the pending ones. */
  #place(index, id, item) {
    let next = index < this.#ids.length ? this.#byId.get(this.#ids[index]) : this.#firstPending();
    if (next !== null && next.dataset.id === this.#dividerId && next.previousElementSibling === this.#divider) {
      next = this.#divider;
    }
    this.#list.insertBefore(item, next);
    this.#ids.splice(index, 0, id);
    this.#byId.set(id, item);
  }

  #firstPending() {
    return this.#pending.values().next().value ?? null;
  }

  /**
   * Run `change` (which adds items and returns how many), then scroll: follow the
   * bottom if the reader was there; for older messages prepended, keep what the
   * reader sees in place; otherwise offer the "new messages" button.
   */
  #change(prepend, change) {
    const list = this.#list;
    // Decide before adding: the new items themselves would push the reader "up".
    const follow = this.#atBottom();
    const fromBottom = list.scrollHeight - list.scrollTop;
    if (change() === 0) return 0;
    if (follow) {
      // Never trim right after prepending: that would drop what was just loaded.
      if (!prepend) this.#trim();
      this.#scrollToBottom();
    } else if (prepend) {
      list.scrollTop = list.scrollHeight - fromBottom;
    } else {
      this.#jump.hidden = false;
    }
    return 1;
  }

  /**
   * Drop the oldest items beyond MAX_ITEMS (never a message still being sent).
   * Only called while the reader follows the bottom: removing what they are
   * reading would move it under their eyes.
   */
  #trim() {
    const trimmed = [];
    // The "load earlier" button is the first child and is not an item.
    while (this.#list.childElementCount - 1 > MAX_ITEMS) {
      const oldest = this.#earlier.nextElementSibling;
      if (oldest === null || oldest.dataset.clientId !== undefined) break;
      const id = oldest.dataset.id;
      if (id !== undefined) {
        this.#byId.delete(id);
        this.#ids.splice(insertionIndex(this.#ids, id), 1);
        trimmed.push(id);
        if (id === this.#dividerId) this.#dividerId = null;
      }
      oldest.remove();
    }
    if (trimmed.length > 0) this.#onTrimmed(trimmed);
  }

  #atBottom() {
    const list = this.#list;
    return list.scrollHeight - list.scrollTop - list.clientHeight <= BOTTOM_SLACK_PX;
  }

  #scrollToBottom() {
    this.#list.scrollTop = this.#list.scrollHeight;
    this.#jump.hidden = true;
  }
}

/** The visible connection state. */
export function showStatus(statusElement, textElement, state, words) {
  statusElement.dataset.state = state;
  textElement.textContent = words;
}
