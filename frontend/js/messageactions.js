// What a reader does to a shown message: the menu of their own (edit, delete),
// the inline editor, and reactions (the chips and the picker). a
// moderator's menu on every message (delete it; mute, kick or ban its author,
// moderationmenu.js).
//
// The DOM side only: what an action means is the page's (onEdit, onDelete,
// onReact); view.js renders the parts this module opens and closes. Keyboard:
// every control is a button; a menu or the picker opens on Enter or Space
// with focus on its first item, arrows move, Escape closes it, and focus
// returns to the button that opened it. User text only ever goes in through
// textContent or a textarea's value.

import { PICKER } from "./reactions.js";
import { charCount, textProblem } from "./inputchecks.js";
import { handlePrompts, moderationItems, openPrompt } from "./moderationmenu.js";

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(className, text, action) {
  const node = element("button", className, text);
  node.type = "button";
  node.dataset.action = action;
  return node;
}

/**
 * The parts under a delivered message's text: its reactions (a chip per
 * emoji, pressed when the reader's) and the button that opens the picker.
 * @param {Array<{emoji: string, count: number, mine: boolean}>} reactions
 */
export function reactionsRow(reactions) {
  const row = element("div", "reactions");
  for (const { emoji, count, mine } of reactions) {
    const chip = button("reaction", "", "react");
    chip.dataset.emoji = emoji;
    chip.setAttribute("aria-pressed", String(Boolean(mine)));
    chip.append(element("span", "reaction__emoji", emoji), element("span", "reaction__count", String(count)));
    const people = count === 1 ? "1 person" : `${count} people`;
    chip.title = mine ? `${people} reacted ${emoji}, you among them: click to take yours back` : `${people} reacted ${emoji}`;
    chip.setAttribute("aria-label", `${emoji} ${count}${mine ? ", yours" : ""}`);
    row.append(chip);
  }
  const add = button("reaction reaction--add", "", "picker");
  add.append(element("span", "reaction__emoji", "☺"), element("span", "reaction__plus", "+"));
  add.setAttribute("aria-label", "Add a reaction");
  add.title = "Add a reaction";
  add.setAttribute("aria-haspopup", "menu");
  add.setAttribute("aria-expanded", "false");
  row.append(add);
  return row;
}

/**
 * The menu button of an own message, or (`moderation`) of another's, which
 * the log shows only while the reader is a moderator.
 */
export function menuButton(moderation = false) {
  const node = button(moderation ? "message__menu message__menu--moderation" : "message__menu", "⋯", "menu");
  node.setAttribute("aria-label", moderation ? "Moderate this message" : "Message options");
  node.title = moderation ? "Delete, or mute, kick or ban its author" : "Edit or delete";
  node.setAttribute("aria-haspopup", "menu");
  node.setAttribute("aria-expanded", "false");
  return node;
}

export class MessageActions {
  #list;
  #handlers;
  #maxChars;
  /** The open menu or picker: {popup, opener, id}, or null. */
  #open = null;
  /** The message being edited: {id, draft}, or null. */
  #editing = null;

  /**
   * @param {HTMLElement} list the log
   * @param {{onEdit: (id: string, text: string) => void, onDelete: (id: string) => void,
   *   onReact: (id: string, emoji: string) => void,
   *   onModerate: (action: string, name: string, seconds?: number) => void,
   *   isModerator: () => boolean}} handlers
   * @param {number} maxChars the longest text the backend takes
   */
  constructor(list, handlers, maxChars) {
    this.#list = list;
    this.#handlers = handlers;
    this.#maxChars = maxChars;
    list.addEventListener("click", (event) => this.#clicked(event));
    list.addEventListener("keydown", (event) => this.#key(event));
    handlePrompts(list, {
      onModerate: handlers.onModerate,
      refocus: (item) => item?.querySelector("button[data-action=menu]")?.focus(),
    });
    // A click anywhere else closes an open menu, as menus do.
    document.addEventListener("click", (event) => {
      if (this.#open !== null && !this.#open.popup.parentElement?.contains(event.target)) this.#closePopup(false);
    });
  }

  /** Whether message `id` is being edited. */
  isEditing(id) {
    return this.#editing?.id === id;
  }

  /**
   * Message `id` was rendered again (a newer state): put back the editor with
   * its draft, unless the message can no longer be edited.
   */
  rerendered(item, editable) {
    const id = item.dataset.id;
    if (this.#open?.id === id) this.#open = null; // its popup went with the old children
    if (!this.isEditing(id)) return;
    if (editable) this.#showEditor(item, this.#editing.draft, false);
    else this.#editing = null;
  }

  /** Stop editing and close any menu (the log is cleared). */
  reset() {
    this.#open = null;
    this.#editing = null;
  }

  #clicked(event) {
    const target = event.target.closest?.("button[data-action]");
    const item = target?.closest(".message[data-id]");
    if (!target || !item) return;
    const id = item.dataset.id;
    switch (target.dataset.action) {
      case "menu":
        this.#toggle(target, id, () => this.#menu(item));
        break;
      case "moderate":
        this.#closePopup(false);
        openPrompt(item, item.querySelector(".message__text"), target.dataset.moderation, target.dataset.name);
        break;
      case "picker":
        this.#toggle(target, id, () => this.#picker());
        break;
      case "react":
      case "pick":
        this.#closePopup(target.dataset.action === "pick");
        this.#handlers.onReact(id, target.dataset.emoji);
        break;
      case "edit-message":
        this.#closePopup(false);
        this.#editing = { id, draft: item.querySelector(".message__text")?.textContent ?? "" };
        this.#showEditor(item, this.#editing.draft, true);
        break;
      case "delete-message":
        this.#closePopup(false);
        this.#confirmDelete(item);
        break;
      case "delete-confirmed":
        this.#handlers.onDelete(id);
        this.#endConfirm(item);
        break;
      case "delete-cancelled":
        this.#endConfirm(item);
        break;
      case "edit-cancelled":
        this.#stopEditing(item);
        break;
      default:
        return;
    }
    event.stopPropagation();
  }

  #key(event) {
    const editor = event.target.closest?.(".editor");
    if (editor !== null && editor !== undefined) {
      const item = editor.closest(".message");
      if (event.key === "Escape") {
        event.preventDefault();
        this.#stopEditing(item);
      } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.target.tagName === "TEXTAREA") {
        event.preventDefault();
        editor.requestSubmit();
      }
      return;
    }
    const confirm = event.target.closest?.(".message__confirm");
    if (confirm && event.key === "Escape") {
      event.preventDefault();
      this.#endConfirm(confirm.closest(".message"));
      return;
    }
    if (this.#open === null || !this.#open.popup.contains(event.target)) return;
    const items = [...this.#open.popup.querySelectorAll("button")];
    const index = items.indexOf(event.target);
    const step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
    if (event.key === "Escape") {
      event.preventDefault();
      this.#closePopup(true);
    } else if (event.key === "Tab") {
      this.#closePopup(false);
    } else if (step !== undefined) {
      event.preventDefault();
      items[(index + step + items.length) % items.length].focus();
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      items.at(event.key === "Home" ? 0 : -1).focus();
    }
  }

  #toggle(opener, id, build) {
    const wasOpen = this.#open?.opener === opener;
    this.#closePopup(false);
    if (wasOpen) return;
    const popup = build();
    opener.after(popup);
    opener.setAttribute("aria-expanded", "true");
    this.#open = { popup, opener, id };
    popup.querySelector("button").focus();
  }

  /** Close the open menu or picker; `refocus`: back to the button that opened it. */
  #closePopup(refocus) {
    const open = this.#open;
    if (open === null) return;
    this.#open = null;
    open.popup.remove();
    open.opener.setAttribute("aria-expanded", "false");
    if (refocus && open.opener.isConnected) open.opener.focus();
  }

  /** The menu of `message`: Edit and Delete on the reader's own; a moderator's actions on another's. */
  #menu(message) {
    const menu = element("div", "popup menu");
    menu.setAttribute("role", "menu");
    menu.setAttribute("aria-label", "Message options");
    const own = message.querySelector("button[data-action=menu]:not(.message__menu--moderation)") !== null;
    const deleted = message.classList.contains("message--deleted");
    const entries = own ? [["Edit", "edit-message"], ["Delete", "delete-message"]] : deleted ? [] : [["Delete", "delete-message"]];
    for (const [words, action] of entries) {
      const item = button("menu__item", words, action);
      item.setAttribute("role", "menuitem");
      menu.append(item);
    }
    if (!own && this.#handlers.isModerator()) menu.append(...moderationItems(message.dataset.from));
    return menu;
  }

  #picker() {
    const picker = element("div", "popup picker");
    picker.setAttribute("role", "menu");
    picker.setAttribute("aria-label", "Add a reaction");
    for (const emoji of PICKER) {
      const item = button("picker__emoji", emoji, "pick");
      item.dataset.emoji = emoji;
      item.setAttribute("role", "menuitem");
      picker.append(item);
    }
    return picker;
  }

  #showEditor(item, draft, focus) {
    const text = item.querySelector(".message__text");
    if (text === null) return;
    const id = item.dataset.id;
    const form = element("form", "editor");
    const label = element("label", "visually-hidden", "Edit your message");
    const area = element("textarea", "editor__text");
    area.id = `edit-${id}`;
    label.htmlFor = area.id;
    area.value = draft;
    area.rows = 2;
    const problem = element("p", "editor__problem");
    problem.setAttribute("role", "alert");
    const hint = element("p", "editor__hint", "Enter saves · Escape cancels");
    const save = element("button", "editor__save", "Save");
    save.type = "submit";
    const cancel = button("editor__cancel", "Cancel", "edit-cancelled");
    const check = () => {
      this.#editing.draft = area.value;
      const trimmed = area.value.trim();
      const count = charCount(trimmed);
      const words =
        textProblem(area.value) ??
        (count > this.#maxChars ? `Messages can be at most ${this.#maxChars} characters.` : null);
      problem.textContent = words ?? "";
      problem.hidden = words === null;
      save.disabled = words !== null || count === 0;
      return !save.disabled;
    };
    area.addEventListener("input", check);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!check()) return;
      const newText = area.value.toWellFormed().trim();
      const unchanged = newText === text.textContent;
      this.#stopEditing(item);
      if (!unchanged) this.#handlers.onEdit(id, newText);
    });
    form.append(label, area, problem, hint, save, cancel);
    text.hidden = true;
    item.querySelector(".editor")?.remove();
    text.after(form);
    check();
    if (focus) {
      area.focus();
      area.setSelectionRange(area.value.length, area.value.length);
    }
  }

  #stopEditing(item) {
    this.#editing = null;
    item.querySelector(".editor")?.remove();
    const text = item.querySelector(".message__text");
    if (text !== null) text.hidden = false;
    item.querySelector("button[data-action=menu]")?.focus();
  }

  #confirmDelete(item) {
    const confirm = element("p", "message__confirm", "Delete this message for everyone? ");
    const yes = button("message__action message__action--danger", "Delete", "delete-confirmed");
    const no = button("message__action message__action--quiet", "Cancel", "delete-cancelled");
    confirm.append(yes, " ", no);
    item.querySelector(".message__confirm")?.remove();
    item.querySelector(".message__text").after(confirm);
    no.focus();
  }

  #endConfirm(item) {
    item.querySelector(".message__confirm")?.remove();
    item.querySelector("button[data-action=menu]")?.focus();
  }
}
