// The message list: rendering and scrolling.
//
// Every string that came from a user or the server goes into the DOM through
// textContent (never innerHTML), so a message is always shown as text.

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

export class MessageView {
  #list;
  #jump;

  /** @param {HTMLElement} list the scrolling log @param {HTMLButtonElement} jump "new messages" button */
  constructor(list, jump) {
    this.#list = list;
    this.#jump = jump;
    jump.addEventListener("click", () => this.#scrollToBottom());
    list.addEventListener("scroll", () => {
      if (this.#atBottom()) this.#jump.hidden = true;
    });
  }

  /** @param {{id: string, from: string, text: string, sentAt: Date, own: boolean}} message */
  addMessage({ id, from, text, sentAt, own }) {
    const item = element("article", own ? "message message--own" : "message");
    item.dataset.id = id;
    const avatar = element("span", `avatar ${hueClass(from)}`, [...from][0]?.toUpperCase() ?? "?");
    avatar.setAttribute("aria-hidden", "true");
    const body = element("div", "message__body");
    const meta = element("p", "message__meta");
    meta.append(element("span", "message__from", from));
    if (own) meta.append(element("span", "message__you", "(you)"));
    const time = element("time", "message__time", timeFormat.format(sentAt));
    time.dateTime = sentAt.toISOString();
    time.title = fullFormat.format(sentAt);
    meta.append(time);
    body.append(meta, element("p", "message__text", text));
    item.append(avatar, body);
    this.#add(item, own);
  }

  /** A system line: `kind` is "info", "warning" or "error". */
  addNotice(text, kind = "info") {
    const item = element("p", `notice notice--${kind}`, text);
    this.#add(item, false);
  }

  clear() {
    this.#list.replaceChildren();
    this.#jump.hidden = true;
  }

  #add(item, forceScroll) {
    // Decide before adding: the new item itself would push the reader "up".
    const follow = forceScroll || this.#atBottom();
    this.#list.append(item);
    while (this.#list.childElementCount > MAX_ITEMS) this.#list.firstElementChild.remove();
    if (follow) this.#scrollToBottom();
    else this.#jump.hidden = false;
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
