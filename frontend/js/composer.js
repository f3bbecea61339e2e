// The composer: the message box, its counter and its problems, and sending.
//
// Enter sends, Shift+Enter is a new line. A text the backend would refuse
// (too long, invisible characters) stays in the box with its problem shown;
// what is sent goes to `onSend` (the chat session queues it, so sending works
// offline too).

import { charCount, textProblem } from "./inputchecks.js";

export class Composer {
  #ui;
  #maxChars;
  #isOpen;
  #onSend;
  /** the line shown while a moderator has muted the reader, or null. */
  #muted = null;

  /**
   * @param {{form: HTMLFormElement, text: HTMLTextAreaElement, counter: HTMLElement,
   *   error: HTMLElement, send: HTMLButtonElement, muted: HTMLElement}} ui
   * @param {{maxChars: number, isOpen: () => boolean, onSend: (text: string) => void}} options
   */
  constructor(ui, { maxChars, isOpen, onSend }) {
    this.#ui = ui;
    this.#maxChars = maxChars;
    this.#isOpen = isOpen;
    this.#onSend = onSend;
    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#send();
    });
    ui.text.addEventListener("keydown", (event) => {
      // Enter sends, Shift+Enter is a new line; never interrupt an IME composition.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.#send();
      }
    });
    ui.text.addEventListener("input", () => this.update());
  }

  /** Show the count and any problem, and whether sending is possible (and where it goes). */
  update() {
    const ui = this.#ui;
    const maxChars = this.#maxChars;
    const count = charCount(ui.text.value.trim());
    const over = count > maxChars;
    const problem = textProblem(ui.text.value);
    ui.error.textContent = problem ?? "";
    ui.error.hidden = problem === null;
    const excess = count - maxChars;
    ui.counter.textContent = over
      ? `${excess} ${excess === 1 ? "character" : "characters"} too many`
      : `${count} / ${maxChars}`;
    ui.counter.classList.toggle("counter--over", over);
    ui.counter.classList.toggle("counter--near", !over && count > maxChars * 0.9);
    ui.text.setAttribute("aria-invalid", String(over || problem !== null));
    // Offline, a message is queued and sent once reconnected: sending stays possible.
    // Muted, the box keeps a draft but nothing is sent until the mute ends (the line says when).
    ui.send.disabled = over || count === 0 || problem !== null || this.#muted !== null;
    ui.send.title = this.#isOpen() ? "" : "Not connected: your message will be sent once reconnected.";
  }

  /** muted (the words under the box, with until when) or not (null). */
  setMuted(line) {
    this.#muted = line;
    this.#ui.muted.textContent = line ?? "";
    this.#ui.muted.hidden = line === null;
    this.update();
  }

  /** Put a refused message's text back in the box to change it. */
  takeBack(text) {
    const ui = this.#ui;
    // Never overwrite a draft: the refused text goes above it.
    ui.text.value = ui.text.value.trim() === "" ? text : `${text}\n${ui.text.value}`;
    this.update();
    ui.text.focus();
  }

  #send() {
    const ui = this.#ui;
    // A lone surrogate (a half-pasted emoji) is refused by the backend: mend it here.
    const text = ui.text.value.toWellFormed().trim();
    // A refused text stays in the box, with its problem shown (update).
    if (ui.send.disabled || text === "") return;
    this.#onSend(text);
    ui.text.value = "";
    this.update();
  }
}
