// the DOM of a moderator's actions on a person: the menu items
// (Mute…, Kick, Ban…) a message's menu and the member list offer, and the
// confirm that follows (a duration picker for a mute or a ban, with lifting).
//
// What an action means is the page's (`onModerate`); the words are
// moderation.js's. Keyboard: every control is a button or a select; the
// confirm opens with focus on its first control, Escape or Cancel closes it
// and `refocus` gives the focus back where the reader was. Names go in
// through textContent and data attributes only.

import { MEMBER_ACTIONS, confirmWords, durationChoices } from "./moderation.js";

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const ITEM_WORDS = Object.freeze({ mute: "Mute…", kick: "Kick", ban: "Ban…" });

/** The menu items of the actions on `name`: buttons with data-action "moderate". */
export function moderationItems(name) {
  return MEMBER_ACTIONS.map((action) => {
    const item = element("button", "menu__item menu__item--moderation", ITEM_WORDS[action]);
    item.type = "button";
    item.dataset.action = "moderate";
    item.dataset.moderation = action;
    item.dataset.name = name;
    item.setAttribute("role", "menuitem");
    return item;
  });
}

/** The confirm of `action` on `name`; a mute or a ban picks its duration (or lifts it). */
export function moderationPrompt(action, name) {
  const { question, button } = confirmWords(action, name);
  const form = element("form", "moderation-prompt");
  form.dataset.moderation = action;
  form.dataset.name = name;
  form.setAttribute("aria-label", question);
  form.append(element("span", "moderation-prompt__question", question));
  if (action !== "kick") {
    const label = element("label", "moderation-prompt__label", "Duration ");
    const select = element("select", "moderation-prompt__duration");
    select.name = "seconds";
    for (const { seconds, words } of durationChoices(action)) {
      const option = element("option", "", words);
      option.value = String(seconds);
      select.append(option);
    }
    label.append(select);
    form.append(label);
  }
  const confirm = element("button", "message__action message__action--danger", button);
  confirm.type = "submit";
  const cancel = element("button", "message__action message__action--quiet", "Cancel");
  cancel.type = "button";
  cancel.dataset.action = "moderation-cancelled";
  form.append(confirm, cancel);
  return form;
}

/** Put the confirm of `action` on `name` after `anchor` (one at a time in `scope`), focused. */
export function openPrompt(scope, anchor, action, name) {
  scope.querySelector(".moderation-prompt")?.remove();
  const form = moderationPrompt(action, name);
  anchor.after(form);
  form.querySelector("select, button").focus();
  return form;
}

/**
 * Handle the confirms opened inside `container`: a confirmed one calls
 * `onModerate(action, name, seconds)` (seconds undefined for a kick); either
 * way the confirm goes and `refocus(item)` is called with the element it was in.
 * @param {HTMLElement} container
 * @param {{onModerate: (action: string, name: string, seconds?: number) => void,
 *   refocus: (item: HTMLElement | null) => void}} handlers
 */
export function handlePrompts(container, { onModerate, refocus }) {
  const close = (form) => {
    const item = form.parentElement;
    form.remove();
    refocus(item);
  };
  container.addEventListener("submit", (event) => {
    const form = event.target.closest?.(".moderation-prompt");
    if (!form) return;
    event.preventDefault();
    const { moderation: action, name } = form.dataset;
    const select = form.querySelector("select");
    close(form);
    onModerate(action, name, select === null ? undefined : Number(select.value));
  });
  container.addEventListener("click", (event) => {
    const cancel = event.target.closest?.("[data-action=moderation-cancelled]");
    if (!cancel) return;
    event.stopPropagation();
    close(cancel.closest(".moderation-prompt"));
  });
  container.addEventListener("keydown", (event) => {
    const form = event.target.closest?.(".moderation-prompt");
    if (!form || event.key !== "Escape") return;
    event.preventDefault();
    event.stopPropagation();
    close(form);
  });
}
