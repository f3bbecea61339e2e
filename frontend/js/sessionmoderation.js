// The chat session's moderation part (session.js), with no DOM: the reader's
// role (moderator or not), the moderator secret of the open chat, a
// moderator's actions in flight, the room's moderation notices, a muted
// reader, and a reader put out of the room (kicked or banned), whose page
// stops reconnecting. moderation.js holds the words and the pure states it
// uses; the session tells it what the server said and asks it what to do.

import { describeError } from "./errortext.js";
import { MuteState, Removal, mutedLine, noticeWords, removedWords } from "./moderation.js";
import { moderateFrame } from "./wire.js";

// what the page says of the moderator secret (moderateFrame).
export const SECRET_REFUSED = "That moderator secret was not accepted.";
export const NOW_MODERATOR = "You are a moderator in this room: message menus and the member list offer moderation.";

/**
 * The moderation part of a session started on the same `view` (session.js's
 * SessionView), `clock` and `connection`.
 * @param {{view: import("./session.js").SessionView, clock: import("./clock.js").Clock,
 *   connection: import("./connection.js").Connection, maxChars: number,
 *   ownName: () => string, keyPending: () => boolean, connectCurrent: () => Promise<void>}} parts
 *
 * `ownName`: the name joined as; `keyPending`: whether a name key is being
 * derived (the open socket, if any, is then the old room's); `connectCurrent`:
 * connect again as the same name in the same room (a kicked reader's "Join again").
 */
export function sessionModeration({ view: page, clock, connection, maxChars, ownName, keyPending, connectCurrent }) {
  const view = page.messages;
  // The moderator secret (open chat) lives here only, in memory, for every open.
  let moderatorSecret = null;
  let secretPending = false;
  let moderator = false;
  // Moderator actions sent and not yet answered (an absent kick target is not_found).
  let actionsPending = 0;
  const mute = new MuteState();
  let muteTimer = null;
  const removal = new Removal();
  // Each removal's "Join again" works only until the next removal (never into a later ban).
  let removals = 0;

  function setRole(isModerator) {
    const became = isModerator && !moderator;
    moderator = isModerator;
    page.showRole(moderator);
    if (became) view.addNotice(NOW_MODERATOR, "info");
  }

  /** Show whether the reader is muted (the line under the composer), and end it on time. */
  function showMute() {
    clock.clearTimeout(muteTimer);
    const now = clock.now();
    const until = mute.until(now);
    page.showMuted(until === null ? null : mutedLine(until, new Date(now)));
    if (until !== null) muteTimer = clock.setTimeout(showMute, Math.max(0, until.getTime() - now));
  }

  function onModeration(frame) {
    view.addNotice(noticeWords(frame, ownName(), new Date(clock.now())), "moderation");
    if (frame.name !== ownName()) {
      if (actionsPending > 0) actionsPending -= 1;
      return;
    }
    if (frame.event === "muted" && frame.until !== undefined) mute.muted(frame.until);
    else if (frame.event === "unmuted") mute.lifted();
    removal.notice(frame, ownName());
    showMute();
  }

  /** An error about the moderator secret or a moderator action (no message named): true if it was one. */
  function onModerationError(frame) {
    if (frame.code === "muted") {
      if (frame.until !== undefined) mute.muted(frame.until);
      showMute();
      // A refused message shows it on itself, a refused edit or reaction in a line (below).
      return frame.clientId === undefined && frame.id === undefined;
    }
    if (frame.clientId !== undefined || frame.id !== undefined) return false;
    if (frame.code === "not_allowed" && secretPending) {
      secretPending = false;
      moderatorSecret = null;
      setRole(false);
      view.addNotice(SECRET_REFUSED, "error");
      return true;
    }
    if (frame.code === "not_allowed" || (frame.code === "not_found" && actionsPending > 0)) {
      if (actionsPending > 0) actionsPending -= 1;
      view.addNotice(
        frame.code === "not_found" ? "That person is not in this room." : describeError(frame.code, maxChars),
        "error",
      );
      return true;
    }
    return false;
  }

  /** Send a moderator action; the room's notice (or an error) answers it. */
  function moderate(frame) {
    if (keyPending() || !connection.send(frame)) {
      view.addNotice("Not connected: that was not done. Try again once reconnected.", "warning");
      return;
    }
    actionsPending += 1;
  }

  /** Present the moderator secret on the open socket (and on every later open). */
  function presentSecret(send) {
    if (moderatorSecret === null) return;
    if (send(moderateFrame(moderatorSecret))) secretPending = true;
  }

  /** The reader was kicked or banned and their socket closed: stop, and say so. */
  function stopRemoved() {
    const removed = removal.removed;
    removal.clear();
    connection.close();
    page.showStatus("closed", removed.event === "banned" ? "Banned" : "Removed");
    const which = ++removals;
    // Resolves once connecting (the name key is derived first), like `reconnect`.
    const rejoin = async () => {
      if (which === removals && !connection.isOpen) await connectCurrent();
    };
    const action = removed.event === "kicked" ? { words: "Join again", onClick: rejoin } : undefined;
    view.addNotice(removedWords(removed, new Date(clock.now())), "error", action);
    page.connectionChanged();
  }

  return {
    setRole,
    onModeration,
    onModerationError,
    moderate,
    presentSecret,
    stopRemoved,
    /** A `role` frame. */
    onRole(frame) {
      // A join's own role frame (not a moderator yet) does not answer the secret; a refusal will.
      if (frame.moderator) secretPending = false;
      setRole(frame.moderator);
    },
    /** The socket closed: what was in flight on it will not be answered. */
    closed() {
      secretPending = false;
      actionsPending = 0;
    },
    /** A new join: a moderator here may be none there (the next room's answer says), and nothing holds. */
    clear() {
      setRole(false);
      removal.clear();
      mute.lifted();
      showMute();
    },
    /** Present `secret` now and on every later open (kept in memory only). */
    presentModeratorSecret(secret) {
      moderatorSecret = secret;
      presentSecret((frame) => connection.send(frame));
    },
    /** Whether the reader was kicked or banned and the page is to stop (`stopRemoved`). */
    get wasRemoved() {
      return removal.removed !== null;
    },
    get isModerator() {
      return moderator;
    },
    /** The end of the reader's mute, or null. */
    mutedUntil() {
      return mute.until(clock.now());
    },
  };
}
