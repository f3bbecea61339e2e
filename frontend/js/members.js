// The member count in the header and the member list panel.
//
// Every name goes into the DOM through textContent. The panel is a disclosure:
// a button in the header with aria-expanded shows and hides it. Opening it
// moves the focus to its heading (the panel comes later in the document than
// the button, and on a phone it covers the log), so Tab goes on to its
// controls; Escape inside closes it and gives the focus back to the button. Desktop widths
// start with it open beside the log, phones with it closed (it then covers the
// top of the log).

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

  /**
   * @param {{toggle: HTMLButtonElement, count: HTMLElement, panel: HTMLElement, heading: HTMLElement,
   *   list: HTMLUListElement, note: HTMLElement, refresh: HTMLButtonElement}} elements
   * @param {{onOpen: () => void, onRefresh: () => void}} handlers `onOpen`: the reader opened the panel
   */
  constructor({ toggle, count, panel, heading, list, note, refresh }, { onOpen, onRefresh }) {
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
    this.#count.textContent = count === null ? "–" : String(count);
    const now = new Date();
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
        if (member.since !== null) {
          const time = element("time", "member__since", sinceWords(member.since, now));
          time.dateTime = member.since.toISOString();
          time.title = fullFormat.format(member.since);
          item.append(time);
        }
        return item;
      }),
    );
    const partial = !complete && count !== null;
    this.#note.hidden = !partial;
    if (partial) this.#note.textContent = `The list is partial: ${members.length} of ${count} shown.`;
  }

  #show(open) {
    this.#toggle.setAttribute("aria-expanded", String(open));
    this.#panel.hidden = !open;
  }
}
