// "alice is typing…": who is writing, and when the page says that it is.
//
// Sans-I/O: no socket, no DOM, no timers; the clock is passed in.
// docs/protocol.md, `typing`: the server never stores it nor sends it back to
// the typer's own name, and it is lossy (rooms above a size get none), so a
// line only lasts a few seconds past the last `typing` of a name, and goes at
// once when that name's message arrives.

/** A name's line stays this long after its last `typing` frame. */
export const TYPING_SHOWN_MS = 6000;
/** The page says it is typing at most this often (the server's budget allows it). */
export const TYPING_EVERY_MS = 3000;

/** Who is typing in the room, by name, until when. */
export class TypingNames {
  /** @type {Map<string, number>} name → when its line expires (ms), in the order they began */
  #until = new Map();

  /** A `typing` frame from `name` at `now`. */
  typed(name, now) {
    this.#until.set(name, now + TYPING_SHOWN_MS);
  }

  /** `name`'s message arrived (or they left): their line goes. Whether it was shown. */
  stopped(name) {
    return this.#until.delete(name);
  }

  /** The names typing at `now`, in the order they began; expired ones are forgotten. */
  names(now) {
    for (const [name, until] of this.#until) if (until <= now) this.#until.delete(name);
    return [...this.#until.keys()];
  }

  /** When the next line expires (ms), or null when none is shown. */
  get nextExpiry() {
    return this.#until.size === 0 ? null : Math.min(...this.#until.values());
  }

  clear() {
    this.#until.clear();
  }
}

/** The typing line for `names`: "" for nobody. */
export function typingLine(names) {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return "several people are typing…";
}

/** When the reader's page sends `typing`: while the composer changes, never for an empty one. */
export class TypingSignal {
  #last = -Infinity;

  /**
   * The composer now holds `text` (a keystroke, a paste): whether to send
   * `typing` now. Call only when it can be sent (a socket is open).
   */
  changed(text, now) {
    if (text.trim() === "" || now - this.#last < TYPING_EVERY_MS) return false;
    this.#last = now;
    return true;
  }

  /** The message went: the others' line for the reader goes when it arrives, so the next keystroke says so again. */
  sent() {
    this.#last = -Infinity;
  }
}
