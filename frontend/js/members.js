// The member count in the header and the member list panel.
//
// Every name goes into the DOM through textContent. The panel is a disclosure:
// a button in the header with aria-expanded shows and hides it. Opening it
// moves the focus to its heading (the panel comes later in the document than
// the button, and on a phone it covers the log), so Tab goes on to its
// controls; Escape inside closes it and gives the focus back to the button. Desktop widths
// start with it open beside the log, phones with it closed (it then covers the
// top of the log).
//
// for a moderator, each other member (not another moderator) has a
// "⋯" button opening a menu (Mute…, Kick, Ban…) and its confirm
// (moderationmenu.js). The menu is keyboard driven as a message's: arrows
// move, Escape closes it and returns the focus to its button.

import { handlePrompts, moderationItems, openPrompt } from "./moderationmenu.js";

const WIDE = "(min-width: 720px)";

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** "since 14:05", or with the date when it was not today. */
export function sinceWords(since, now = new Date()) {
  const sameDay = since.toDateString() === now.toDateString();
  return `since ${(sameDay ? timeFormat : dayTimeFormat).format(since)}`;
}

export class MemberPanel {
  #toggle;
  #count;
  #panel;
  #list;
  #note;
  #onOpen;
  /** whether the reader moderates, and the last roster shown (to show it again). */
  #moderator = false;
  #shown = null;
  /** The open moderation menu: {menu, opener}, or null. */
  #menu = null;

  /**
   * @param {{toggle: HTMLButtonElement, count: HTMLElement, panel: HTMLElement, heading: HTMLElement,
   *   list: HTMLUListElement, note: HTMLElement, refresh: HTMLButtonElement}} elements
   * @param {{onOpen: () => void, onRefresh: () => void,
   *   onModerate: (action: string, name: string, seconds?: number) => void}} handlers
   *   `onOpen`: the reader opened the panel
   */
  constructor({ toggle, count, panel, heading, list, note, refresh }, { onOpen, onRefresh, onModerate }) {
    this.#toggle = toggle;
    this.#count = count;
    this.#panel = panel;
    this.#list = list;
    this.#note = note;
    this.#onOpen = onOpen;
    this.#show(window.matchMedia(WIDE).matches);
    toggle.addEventListener("click", () => {
      const open = !this.isOpen;
      this.#show(open);
      if (!open) return;
      heading.focus();
      this.#onOpen();
    });
    refresh.addEventListener("click", () => onRefresh());
    handlePrompts(list, {
      onModerate,
      refocus: (item) => item?.querySelector(".member__moderate")?.focus(),
    });
    list.addEventListener("click", (event) => this.#clicked(event));
    list.addEventListener("keydown", (event) => this.#menuKey(event));
    document.addEventListener("click", (event) => {
      if (this.#menu !== null && !this.#menu.menu.parentElement?.contains(event.target)) this.#closeMenu(false);
    });
    panel.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      event.preventDefault();
      this.#show(false);
      toggle.focus();
    });
  }

  get isOpen() {
    return this.#toggle.getAttribute("aria-expanded") === "true";
  }

  /**
   * Show the roster: the count in the header, the names in the panel.
   * @param {{count: number | null, complete: boolean,
   *   members: Array<{name: string, since: Date | null, connections: number}>}} roster
   * @param {string} ownName the reader's name, marked "(you)"
   */
  render({ count, complete, members }, ownName) {
    this.#shown = { roster: { count, complete, members }, ownName };
    this.#count.textContent = count === null ? "–" : String(count);
    const now = new Date();
    // A confirm being answered survives the redraw (someone joined meanwhile), focus and all.
    const prompt = this.#list.querySelector(".moderation-prompt");
    const focused = prompt?.contains(document.activeElement) ? document.activeElement : null;
    this.#closeMenu(false);
    this.#list.replaceChildren(
      ...members.map((member) => {
        const item = element("li", "member");
        const name = element("span", "member__name", member.name);
        item.append(name);
        if (member.name === ownName) item.append(element("span", "member__you", "(you)"));
        if (member.connections > 1) {
          const times = element("span", "member__connections", `×${member.connections}`);
          times.title = `${member.connections} connections`;
          item.append(times);
        }
        if (this.#moderator && member.name !== ownName && member.moderator !== true) {
          const moderate = element("button", "member__moderate", "⋯");
          moderate.type = "button";
          moderate.dataset.name = member.name;
          moderate.setAttribute("aria-label", `Moderate ${member.name}`);
          moderate.title = `Mute, kick or ban ${member.name}`;
          moderate.setAttribute("aria-haspopup", "menu");
          moderate.setAttribute("aria-expanded", "false");
          item.append(moderate);
        }
        if (member.since !== null) {
          const time = element("time", "member__since", sinceWords(member.since, now));
          time.dateTime = member.since.toISOString();
          time.title = fullFormat.format(member.since);
          item.append(time);
        }
        return item;
      }),
    );
    if (prompt && this.#moderator) {
      const again = [...this.#list.querySelectorAll(".member__moderate")].find((node) => node.dataset.name === prompt.dataset.name);
      again?.parentElement.append(prompt);
      if (again && focused !== null) focused.focus();
    }
    const partial = !complete && count !== null;
    this.#note.hidden = !partial;
    if (partial) this.#note.textContent = `The list is partial: ${members.length} of ${count} shown.`;
  }

  /** the server says whether the reader moderates; the list shows its actions then. */
  setModerator(moderator) {
    if (moderator === this.#moderator) return;
    this.#moderator = moderator;
    if (this.#shown !== null) this.render(this.#shown.roster, this.#shown.ownName);
  }

  #clicked(event) {
    const target = event.target.closest?.("button");
    if (!target) return;
    if (target.classList.contains("member__moderate")) {
      const wasOpen = this.#menu?.opener === target;
      this.#closeMenu(false);
      if (!wasOpen) this.#openMenu(target);
    } else if (target.dataset.action === "moderate") {
      const item = target.closest(".member");
      this.#closeMenu(false);
      openPrompt(this.#list, item.lastElementChild, target.dataset.moderation, target.dataset.name);
    } else {
      return;
    }
    event.stopPropagation();
  }

  #openMenu(opener) {
    const menu = document.createElement("div");
    menu.className = "popup menu member__menu";
    menu.setAttribute("role", "menu");
    menu.setAttribute("aria-label", `Moderate ${opener.dataset.name}`);
    menu.append(...moderationItems(opener.dataset.name));
    opener.after(menu);
    opener.setAttribute("aria-expanded", "true");
    this.#menu = { menu, opener };
    menu.querySelector("button").focus();
  }

  #closeMenu(refocus) {
    const open = this.#menu;
    if (open === null) return;
    this.#menu = null;
    open.menu.remove();
    open.opener.setAttribute("aria-expanded", "false");
    if (refocus && open.opener.isConnected) open.opener.focus();
  }

  #menuKey(event) {
    if (this.#menu === null || !this.#menu.menu.contains(event.target)) return;
    const items = [...this.#menu.menu.querySelectorAll("button")];
    const index = items.indexOf(event.target);
    const step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // the menu closes, not the panel
      this.#closeMenu(true);
    } else if (event.key === "Tab") {
      this.#closeMenu(false);
    } else if (step !== undefined) {
      event.preventDefault();
      items[(index + step + items.length) % items.length].focus();
    }
  }

  #show(open) {
    this.#toggle.setAttribute("aria-expanded", String(open));
    this.#panel.hidden = !open;
  }
}
