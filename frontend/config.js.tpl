// Rendered from config.js.tpl by Terraform's templatefile and by the local stack.
export const config = Object.freeze({
  websocketUrl: "${websocket_url}",
  maxMessageChars: Number("${max_message_chars}"),
  // docs/protocol.md, "Signing in": "none" (the open chat), "cognito" or "oidc".
  auth: Object.freeze({
    mode: "${auth_mode}",
    endpoint: "${auth_endpoint}",
    clientId: "${auth_client_id}",
    signUp: "${auth_sign_up}" === "true",
    // "oidc" only: the issuer (its iss), and its endpoints when not found by discovery.
    issuer: "${auth_issuer}",
    authorizationEndpoint: "${auth_authorization_endpoint}",
    tokenEndpoint: "${auth_token_endpoint}",
    offlineAccess: "${auth_offline_access}" === "true",
    // The claim the chat names the user by, and whether the issuer makes it unique (accountname.js).
    nameClaim: "${auth_name_claim}",
    nameUnique: "${auth_name_unique}" === "true",
  }),
  // docs/protocol.md, "Moderation": the open chat has a moderator secret (never its digest):
  // the page then offers a moderator sign-in.
  moderationSecret: "${moderation_secret}" === "true",
  // Renew the ID token this long before it expires (Cognito's last an hour), given a refresh token.
  tokenRenewBeforeMs: 300000,
  // docs/protocol.md: API Gateway closes a socket idle for 10 minutes; ping every 5.
  pingIntervalMs: 300000,
  // No frame at all this long after a ping: the socket is presumed dead.
  pongTimeoutMs: 20000,
  reconnectBaseMs: 1000,
  reconnectCapMs: 30000,
  // A socket open this long counts as healthy: the backoff starts over after it drops.
  stableAfterMs: 10000,
  // docs/protocol.md, "Catching up": catch up once more this long after every open.
  catchUpAgainMs: 3000,
  // docs/protocol.md: API Gateway closes a socket after 2 hours. Open its successor
  // (make-before-break) well before, leaving time for a slow or failed attempt.
  renewAfterMs: 6600000,
});
