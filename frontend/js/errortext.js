// The server's error codes (docs/protocol.md, "Errors") in plain words for the reader.

// Words for every error code but message_too_long (describeError): tests/test_shared_facts.py
// holds the codes to chat.errors.ErrorCode.
export const ERROR_WORDS = Object.freeze({
  // An edit, delete or reaction refused (the error names the message).
  not_found: "That message is no longer there.",
  not_yours: "Only the person who sent a message can change it.",
  message_deleted: "That message was deleted.",
  invalid_emoji: "That reaction is not an emoji the chat accepts.",
  too_many_reactions: "That message has as many reactions as it can take.",
  invalid_json: "The server could not read what this page sent. Reloading the page may help.",
  invalid_frame: "The server could not read what this page sent. Reloading the page may help.",
  unknown_action: "The server did not understand this page's request. Reloading the page may help.",
  invalid_field: "The server did not understand this page's request. Reloading the page may help.",
  empty_message: "Type something before sending.",
  payload_too_large: "That message was too large to deliver.",
  not_stored: "That message could not be saved, so nobody received it. Sending it again is safe.",
  invalid_cursor: "The server could not read this page's history request. Reloading the page may help.",
  not_connected: "The server lost track of this connection. Reconnecting…",
  internal_error: "Something went wrong on the server. Please try again.",
  rate_limited: "Sending too fast: the page waits a moment and tries again.",
  // moderation.
  not_allowed: "Only a moderator can do that, and never to themselves or another moderator.",
  muted: "A moderator muted you: your messages are refused for now. You can still read.",
  message_blocked: "That message has a word this chat does not allow: it was not sent. Edit it to send it.",
});

/** Plain words for an error code (message_too_long names the configured limit). */
export function describeError(code, maxMessageChars) {
  if (code === "message_too_long") {
    return `That message was not sent: messages can be at most ${maxMessageChars} characters.`;
  }
  return ERROR_WORDS[code] ?? "Something went wrong. Please try again.";
}
