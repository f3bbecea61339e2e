// Reactions: the picker's emoji, and which of a message's reactions are the reader's.
//
// Sans-I/O. docs/protocol.md, "Message state": a `history` or `changes` page
// (read for this reader) says of each reaction whether it is `mine`; a live
// `message` frame is the same for the whole room, so it cannot, and says
// instead who toggled which emoji (`reacted`). The page keeps its own "mine"
// from those.

/** The picker's fixed set: the reactions people reach for most. */
export const PICKER = Object.freeze(["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀"]);

/**
 * The reader's reactions on a message once `message` is its state.
 * @param {Set<string> | undefined} previous the reader's reactions on its previous state
 * @param {{reactions: Array<{emoji: string, count: number, mine?: boolean}>,
 *   reacted?: {name: string, emoji: string, on: boolean}}} message
 * @param {string} me the reader's name
 * @returns {Set<string>}
 */
export function mineAfter(previous, message, me) {
  const present = new Set(message.reactions.map((reaction) => reaction.emoji));
  if (message.reactions.some((reaction) => reaction.mine !== undefined)) {
    return new Set(message.reactions.filter((reaction) => reaction.mine).map((reaction) => reaction.emoji));
  }
  const mine = new Set(previous ?? []);
  // Another tab or device of the same name toggles the reader's own reactions too.
  if (message.reacted !== undefined && message.reacted.name === me) {
    if (message.reacted.on) mine.add(message.reacted.emoji);
    else mine.delete(message.reacted.emoji);
  }
  // An emoji nobody has any more is nobody's.
  for (const emoji of mine) if (!present.has(emoji)) mine.delete(emoji);
  return mine;
}
