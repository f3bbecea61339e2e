// Sign-in with an OpenID Connect issuer (docs/protocol.md, "Signing in"): the OAuth 2.0
// Authorization Code flow with PKCE (RFC 7636, S256) for a public client, no secret.
//
// - signIn() sends the browser to the issuer's authorization endpoint with a fresh
//   code verifier, `state` and `nonce`, kept in sessionStorage (this tab only) until
//   the issuer sends the browser back to this page with ?code=...&state=... .
// - takeReturn() (at page load, before anything reads the address) takes the code, the
//   state or the issuer's ?error=... out of the address bar; complete() checks the state,
//   exchanges the code at the token endpoint (fetch, form-encoded, the verifier as proof)
//   and checks the ID token's nonce, aud, iss and exp. Its signature is not checked here:
//   a page cannot keep a check from being skipped, so the authorizer verifies it against
//   the issuer's keys on every connect. An ?error= counts only with the state of a sign-in
//   this tab started (anyone can send a link with one), and is told in the page's own words:
//   the issuer's error_description is never shown.
// - The session survives a reload as in Cognito mode: the refresh token (when the issuer
//   gives one) in localStorage (the page's CSP allows no script but its own). The ID token
//   is kept in memory only, never in storage: a reload renews it with the refresh token,
//   and without one (no offline_access) a reload asks the user to sign in again.
// - The endpoints come from config.js, else from the issuer's discovery document
//   ({issuer}/.well-known/openid-configuration), which also gives the revocation endpoint
//   (RFC 7009) where sign-out revokes the refresh token, and the end-session endpoint that
//   sign-out then visits, when it names them.

import { AuthError, claimsOf, displayName } from "./auth.js";
import { base64url } from "./namekey.js";
import { forget, load, save } from "./storage.js";

const SCOPE = "openid profile email";
const REFRESH_KEY = "auth:refresh";
// Where an earlier version kept the ID token: removed at start (the ID token is memory only).
const OLD_ID_TOKEN_KEY = "auth:id";
// sessionStorage: the sign-in under way in this tab (state, nonce, verifier).
const PENDING_KEY = "awsome-chat:oidc:pending";
const RETRY_RENEW_MS = 30000;
const MIN_RENEW_MS = 5000;
// Sign-out waits this long at most for the revocation before going to the end-session endpoint.
const REVOKE_TIMEOUT_MS = 3000;
// The issuer's ?error= codes the page has words for (describeAuthError); any other is "refused".
const KNOWN_ERRORS = new Set(["access_denied", "login_required", "consent_required", "interaction_required"]);

function randomString(byteCount = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(byteCount)));
}

/** The S256 code challenge of `verifier` (RFC 7636, 4.2). */
export async function codeChallenge(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** This page's address as the redirect URI: no query, no fragment, "/" for "/index.html". */
export function redirectUri(location = window.location) {
  return location.origin + location.pathname.replace(/index\.html$/, "");
}

/**
 * Why `claims` are not an ID token for this page (the nonce only when one is expected),
 * or null. The signature is the authorizer's to verify (see the module comment).
 */
export function tokenProblem(claims, { issuer, clientId, nonce, nowMs = Date.now() }) {
  if (claims === null || typeof claims !== "object") return "it cannot be read";
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(clientId)) return "it is meant for another application (aud)";
  if (claims.iss !== issuer) return "it comes from another issuer (iss)";
  if (typeof claims.exp !== "number" || claims.exp * 1000 <= nowMs) return "it has expired (exp)";
  if (nonce !== undefined && claims.nonce !== nonce) return "it answers another sign-in (nonce)";
  return null;
}

/**
 * Why the discovered token endpoint cannot be called, or null. Without a configured one, the
 * page's CSP (connect-src) admits the issuer's origin only: a token endpoint elsewhere (a
 * Cognito pool's domain) would be blocked unseen, so the page says what the deployment lacks.
 */
export function discoveredTokenEndpointProblem(tokenEndpoint, issuer) {
  let url;
  try {
    url = new URL(tokenEndpoint);
  } catch {
    return "The sign-in service's discovery document names no token endpoint.";
  }
  if (url.origin === new URL(issuer).origin) return null;
  return `The sign-in service's token endpoint is on ${url.host}, another host than its issuer, which this page may not call: the deployment must set oidc_token_endpoint.`;
}

function readPending() {
  try {
    const text = window.sessionStorage.getItem(PENDING_KEY);
    window.sessionStorage.removeItem(PENDING_KEY);
    return text === null ? null : JSON.parse(text);
  } catch {
    return null;
  }
}

export class OidcSession {
  #issuer;
  #clientId;
  #configured;
  #scope;
  #renewBeforeMs;
  #onChange;
  #discovered = null;
  #idToken = null;
  #claims = null;
  #timer = null;
  #renewing = null;
  #renewedAt = 0;

  /**
   * @param {{issuer: string, clientId: string, authorizationEndpoint: string,
   *   tokenEndpoint: string, offlineAccess: boolean, renewBeforeMs: number,
   *   onChange: (signedIn: boolean, why?: string) => void}} options
   */
  constructor({ issuer, clientId, authorizationEndpoint, tokenEndpoint, offlineAccess, renewBeforeMs, onChange }) {
    this.#issuer = issuer;
    this.#clientId = clientId;
    this.#configured = { authorization: authorizationEndpoint, token: tokenEndpoint };
    this.#scope = offlineAccess ? `${SCOPE} offline_access` : SCOPE;
    this.#renewBeforeMs = renewBeforeMs;
    this.#onChange = onChange;
    forget(OLD_ID_TOKEN_KEY);
  }

  /**
   * The issuer's answer, if this load is one: the code (or error) and state taken out of
   * the address bar, which gets back the query the page had before signing in. Call it
   * before anything reads the address. Null on an ordinary load.
   */
  static takeReturn() {
    const params = new URLSearchParams(window.location.search);
    if (!params.has("code") && !params.has("error")) return null;
    const pending = readPending();
    const search = typeof pending?.search === "string" ? pending.search : "";
    window.history.replaceState(null, "", window.location.pathname + search + window.location.hash);
    return {
      code: params.get("code"),
      state: params.get("state"),
      error: params.get("error"),
      pending,
    };
  }

  get signedIn() {
    return this.#idToken !== null;
  }

  get idToken() {
    return this.#idToken;
  }

  get name() {
    return displayName(this.#claims);
  }

  /** The issuer's host, to name it on the sign-in button. */
  get issuerHost() {
    try {
      return new URL(this.#issuer).host;
    } catch {
      return "";
    }
  }

  /** Whether an earlier visit left a session to resume (a refresh token). */
  get resumable() {
    return load(REFRESH_KEY) !== null;
  }

  /** Go to the issuer to sign in (the page is left; complete() runs when it comes back). */
  async signIn() {
    // crypto.subtle (the PKCE challenge) exists in secure contexts only: https, or loopback.
    if (!window.isSecureContext) {
      throw new AuthError("insecure", "Signing in needs this page to be served over HTTPS.");
    }
    const { authorization } = await this.#endpoints();
    const pending = {
      state: randomString(),
      nonce: randomString(),
      verifier: randomString(48),
      redirectUri: redirectUri(),
      search: window.location.search,
    };
    try {
      window.sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
    } catch {
      throw new AuthError("storage", "This browser keeps no session storage, which signing in needs.");
    }
    const url = new URL(authorization);
    const params = {
      response_type: "code",
      client_id: this.#clientId,
      redirect_uri: pending.redirectUri,
      scope: this.#scope,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await codeChallenge(pending.verifier),
      code_challenge_method: "S256",
    };
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    window.location.assign(url.href);
  }

  /**
   * Finish the sign-in takeReturn() found: check the state, exchange the code, check the
   * token. Resolves false for an ?error= that answers no sign-in of this tab (ignored: a
   * crafted link must not put words on this page); throws the issuer's refusal as a code only.
   */
  async complete(returned) {
    const pending = returned.pending;
    const ours = pending !== null && typeof pending.state === "string" && pending.state === returned.state;
    if (returned.error !== null) {
      if (!ours) return false;
      throw new AuthError(KNOWN_ERRORS.has(returned.error) ? returned.error : "refused", "");
    }
    if (!ours) {
      throw new AuthError("state", "The answer does not match this page's sign-in request.");
    }
    const tokens = await this.#tokenCall({
      grant_type: "authorization_code",
      code: returned.code ?? "",
      redirect_uri: pending.redirectUri,
      client_id: this.#clientId,
      code_verifier: pending.verifier,
    });
    this.#accept(tokens, pending.nonce);
    return true;
  }

  /** Resume an earlier visit's session: a new ID token from the stored refresh token. */
  resume() {
    return this.renew();
  }

  /**
   * A fresh ID token from the refresh token: true when renewed (or still good), false when
   * the session is over (signed out, with the reason). Concurrent calls share one request.
   */
  renew() {
    if (this.#renewing === null) {
      this.#renewing = this.#renew().finally(() => {
        this.#renewing = null;
      });
    }
    return this.#renewing;
  }

  /** Renew unless that was done moments ago (a refused connect asks on every attempt). */
  renewIfStale() {
    if (Date.now() - this.#renewedAt < MIN_RENEW_MS * 6) return Promise.resolve(this.signedIn);
    return this.renew();
  }

  /** Forget the session in this browser. */
  signOut(why = "") {
    const was = this.signedIn || this.resumable;
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#idToken = this.#claims = null;
    forget(REFRESH_KEY);
    if (was) this.#onChange(false, why);
  }

  /**
   * Sign out here, revoke the refresh token at the issuer's revocation endpoint (discovery),
   * then end the issuer's session at its end-session endpoint (discovery), when it names them.
   * Resolves false when a revocation was due but failed (the end-session visit still follows).
   */
  async signOutEverywhere(why) {
    const hint = this.#idToken;
    const refreshToken = load(REFRESH_KEY);
    this.signOut(why);
    let endpoints;
    try {
      endpoints = await this.#endpoints();
    } catch {
      return refreshToken === null; // signed out here; the issuer's session ends on its own
    }
    let revoked = true;
    if (refreshToken !== null && typeof endpoints.revocation === "string" && endpoints.revocation !== "") {
      revoked = await this.#revoke(endpoints.revocation, refreshToken);
    }
    const endSession = endpoints.endSession;
    if (typeof endSession !== "string" || endSession === "") return revoked;
    const url = new URL(endSession);
    url.searchParams.set("client_id", this.#clientId);
    url.searchParams.set("post_logout_redirect_uri", redirectUri());
    if (hint !== null) url.searchParams.set("id_token_hint", hint);
    window.location.assign(url.href);
    return revoked;
  }

  /** RFC 7009: revoke `token` (a refresh token) as a public client; true when the issuer took it. */
  async #revoke(endpoint, token) {
    try {
      await this.#fetchJson(endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token, token_type_hint: "refresh_token", client_id: this.#clientId }),
        cache: "no-store",
        signal: AbortSignal.timeout(REVOKE_TIMEOUT_MS),
      });
      return true;
    } catch {
      return false;
    }
  }

  async #renew() {
    const refreshToken = load(REFRESH_KEY);
    if (refreshToken === null) {
      // No refresh token: the ID token is good until it expires, and then the user signs in.
      if (this.signedIn && this.#claims.exp * 1000 > Date.now()) return true;
      this.signOut("Your sign-in has expired. Please sign in again.");
      return false;
    }
    try {
      const tokens = await this.#tokenCall({
        grant_type: "refresh_token",
        refresh_token: refreshToken,
        client_id: this.#clientId,
      });
      // A renewed ID token carries no nonce to check (nothing asked for one).
      this.#accept(tokens);
      return true;
    } catch (error) {
      if (error instanceof AuthError && error.code !== "network") {
        this.signOut("Your session has ended. Please sign in again.");
        return false;
      }
      this.#schedule(() => this.renew(), RETRY_RENEW_MS);
      return this.signedIn;
    }
  }

  #accept(tokens, nonce = undefined) {
    const token = tokens.id_token;
    const claims = typeof token === "string" ? claimsOf(token) : null;
    const problem = tokenProblem(claims, { issuer: this.#issuer, clientId: this.#clientId, nonce });
    if (problem !== null) throw new AuthError("token", `The sign-in service's token was refused: ${problem}.`);
    const wasSignedIn = this.signedIn;
    this.#idToken = token;
    this.#claims = claims;
    this.#renewedAt = Date.now();
    // Rotation: a new refresh token replaces the old; none keeps the old one.
    if (typeof tokens.refresh_token === "string") save(REFRESH_KEY, tokens.refresh_token);
    const untilExpiry = claims.exp * 1000 - Date.now();
    if (load(REFRESH_KEY) !== null) this.#schedule(() => this.renew(), untilExpiry - this.#renewBeforeMs);
    else this.#schedule(() => this.#renew(), untilExpiry);
    if (!wasSignedIn) this.#onChange(true);
  }

  #schedule(action, delayMs) {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(action, Math.max(MIN_RENEW_MS, delayMs));
  }

  /** The endpoints: config.js's, else discovery's (fetched once). */
  async #endpoints() {
    const { authorization, token } = this.#configured;
    if (authorization !== "" && token !== "") return { authorization, token, endSession: null, revocation: null };
    if (this.#discovered === null) {
      const url = `${this.#issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
      const document = await this.#fetchJson(url, { cache: "no-cache" });
      // OpenID Connect Discovery 1.0, 4.3: the document must name the issuer it was fetched for.
      if (document.issuer !== this.#issuer) {
        throw new AuthError("discovery", "The sign-in service's discovery document names another issuer.");
      }
      // docs/deploy.md, "Sign-in": connect-src admits the issuer's origin, not the endpoint's.
      const problem = token === "" ? discoveredTokenEndpointProblem(document.token_endpoint, this.#issuer) : null;
      if (problem !== null) throw new AuthError("discovery", problem);
      this.#discovered = document;
    }
    return {
      authorization: authorization || this.#discovered.authorization_endpoint,
      token: token || this.#discovered.token_endpoint,
      endSession: this.#discovered.end_session_endpoint ?? null,
      revocation: this.#discovered.revocation_endpoint ?? null,
    };
  }

  async #tokenCall(form) {
    const { token } = await this.#endpoints();
    return this.#fetchJson(token, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form),
      cache: "no-store",
    });
  }

  async #fetchJson(url, init) {
    let response;
    try {
      response = await fetch(url, { ...init, credentials: "omit" });
    } catch {
      throw new AuthError("network", "Cannot reach the sign-in service.");
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      // RFC 6749, 5.2: {"error": "invalid_grant", "error_description": "..."}.
      // The code only: the page never shows an issuer's error_description (describeAuthError).
      const code = typeof data.error === "string" ? data.error : `HTTP ${response.status}`;
      throw new AuthError(code, "");
    }
    return data;
  }
}
