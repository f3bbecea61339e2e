// Sign-in with an Amazon Cognito user pool, straight from the page (docs/protocol.md,
// "Signing in").
//
// - The page calls the user pool's public API with fetch: InitiateAuth with
//   USER_PASSWORD_AUTH (sign in), REFRESH_TOKEN_AUTH (renew), SignUp and
//   ConfirmSignUp, RespondToAuthChallenge (an admin-created user's first sign-in
//   sets their own password: NEW_PASSWORD_REQUIRED) and RevokeToken (sign-out).
//   Those need no AWS credentials, only the app client's id.
// - The session survives a reload: the refresh token is kept in localStorage
//   (the page's CSP allows no script but its own, which is what keeps it there
//   safely); the ID token lives in memory only and is renewed with the refresh
//   token shortly before it expires, and when a connect is refused.
// - Token claims are read here for display only (the name to show). The
//   authorizer, not the page, verifies the token.

import { accountName } from "./accountname.js";
import { config } from "../config.js";
import { forget, load, save } from "./storage.js";

const TARGET_PREFIX = "AWSCognitoIdentityProviderService.";
const REFRESH_KEY = "auth:refresh";
const USERNAME_KEY = "auth:username";
// After a renewal that failed for a reason other than a refused refresh token
// (the network), try again this long after.
const RETRY_RENEW_MS = 30000;
// Never renew sooner than this after the last renewal, however the token looks.
const MIN_RENEW_MS = 5000;

/** A refusal or failure of the sign-in service, with its error code (Cognito's, or OAuth's). */
export class AuthError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** What to tell a person about `error` (Cognito's own messages are written for people). */
export function describeAuthError(error) {
  if (!(error instanceof AuthError)) return "Signing in failed. Please try again.";
  switch (error.code) {
    case "NotAuthorizedException":
      // The one refusal of a right password: Cognito's words, matched, never shown as sent.
      if (/temporary password has expired/i.test(error.message)) {
        return "Your temporary password has expired. Ask the chat's administrator to send you a new one.";
      }
      return "Wrong username or password.";
    case "UserNotFoundException":
      return "Wrong username or password.";
    case "UserNotConfirmedException":
      return "This account is not confirmed yet: enter the code you were sent.";
    case "UsernameExistsException":
      return "This username is taken. Choose another, or sign in.";
    case "CodeMismatchException":
      return "That code is not right. Check it and try again.";
    case "ExpiredCodeException":
      return "That code has expired.";
    case "network":
      return "Cannot reach the sign-in service. Check your connection and try again.";
    // Choosing a new password (NEW_PASSWORD_REQUIRED): the pool's policy says what is wrong.
    case "InvalidPasswordException":
      return `This password is not allowed: ${error.message}`;
    case "passwords-differ":
      return "The two passwords are not the same. Type the new password twice.";
    case "challenge-expired":
      return "Setting your password took too long. Sign in again with your temporary password.";
    // OpenID Connect (oidc.js): the issuer's OAuth error codes, and the page's own checks.
    // Only ever fixed text here: an issuer's error_description is never shown (a crafted link
    // could carry any), and oidc.js gives its errors no message of the issuer's.
    case "access_denied":
      return "Sign-in was cancelled or refused at the sign-in service.";
    case "refused":
      return "The sign-in service could not sign you in. Please try again.";
    case "state":
      return "This sign-in answer does not belong to this page's request, so it was ignored. Please sign in again.";
    case "invalid_grant":
      return "The sign-in could not be completed (the sign-in service refused the code). Please sign in again.";
    case "login_required":
    case "consent_required":
    case "interaction_required":
      return "The sign-in service needs you to sign in again.";
    default:
      return error.message || "Signing in failed. Please try again.";
  }
}

/** The claims of a JWT, for display only (no verification: see the module comment). */
export function claimsOf(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(payload), (char) => char.codePointAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

/** The display name the authorizer gives the chat: the same claim, the same rule (accountname.js). */
export function displayName(claims) {
  if (claims === null || typeof claims !== "object") return "";
  return accountName(claims, { claim: config.auth.nameClaim, unique: config.auth.nameUnique });
}

export class CognitoSession {
  #endpoint;
  #clientId;
  #renewBeforeMs;
  #onChange;
  #idToken = null;
  #claims = null;
  #renewTimer = null;
  #renewing = null;
  #renewedAt = 0;

  /**
   * @param {{endpoint: string, clientId: string, renewBeforeMs: number,
   *   onChange: (signedIn: boolean, why?: string) => void}} options
   */
  constructor({ endpoint, clientId, renewBeforeMs, onChange }) {
    this.#endpoint = endpoint;
    this.#clientId = clientId;
    this.#renewBeforeMs = renewBeforeMs;
    this.#onChange = onChange;
  }

  get signedIn() {
    return this.#idToken !== null;
  }

  /** The current ID token (what the WebSocket offers as its second subprotocol), or null. */
  get idToken() {
    return this.#idToken;
  }

  /** The name the chat will show for this account. */
  get name() {
    return displayName(this.#claims);
  }

  /** Whether a session from an earlier visit can be resumed (a refresh token is stored). */
  get resumable() {
    return load(REFRESH_KEY) !== null;
  }

  /** The username last signed in with, to fill the form. */
  get lastUsername() {
    return load(USERNAME_KEY) ?? "";
  }

  /**
   * Sign in. Resolves null when signed in, or, for a user an administrator created (a
   * temporary password), the challenge to answer with setNewPassword().
   * @returns {Promise<null | {session: string, username: string}>}
   */
  async signIn(username, password) {
    const answer = await this.#call("InitiateAuth", {
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: this.#clientId,
      AuthParameters: { USERNAME: username, PASSWORD: password },
    });
    save(USERNAME_KEY, username);
    if (answer.ChallengeName === "NEW_PASSWORD_REQUIRED" && typeof answer.Session === "string") {
      // The answer must name the user as Cognito knows them (an alias may have signed in).
      const parameters = answer.ChallengeParameters ?? {};
      const known = parameters.USER_ID_FOR_SRP ?? parameters.USERNAME;
      return { session: answer.Session, username: typeof known === "string" && known !== "" ? known : username };
    }
    this.#acceptAnswer(answer);
    return null;
  }

  /**
   * Answer NEW_PASSWORD_REQUIRED (RespondToAuthChallenge) with the user's own password: signed
   * in when it resolves. An InvalidPasswordException (the pool's policy) leaves the challenge
   * open to try another password; an expired challenge throws "challenge-expired".
   */
  async setNewPassword(challenge, newPassword) {
    let answer;
    try {
      answer = await this.#call("RespondToAuthChallenge", {
        ChallengeName: "NEW_PASSWORD_REQUIRED",
        ClientId: this.#clientId,
        Session: challenge.session,
        ChallengeResponses: { USERNAME: challenge.username, NEW_PASSWORD: newPassword },
      });
    } catch (error) {
      // Cognito: NotAuthorizedException "Invalid session for the user, session is expired."
      // (a challenge lives 3 minutes); moto: ResourceNotFoundException for an unknown session.
      if (error instanceof AuthError && ["NotAuthorizedException", "ResourceNotFoundException"].includes(error.code)) {
        throw new AuthError("challenge-expired", error.message);
      }
      throw error;
    }
    this.#acceptAnswer(answer);
  }

  /** Create an account; true when it still needs the confirmation code. */
  async signUp(username, password, email) {
    const attributes = email ? [{ Name: "email", Value: email }] : [];
    const answer = await this.#call("SignUp", {
      ClientId: this.#clientId,
      Username: username,
      Password: password,
      UserAttributes: attributes,
    });
    save(USERNAME_KEY, username);
    return answer.UserConfirmed !== true;
  }

  async confirm(username, code) {
    await this.#call("ConfirmSignUp", { ClientId: this.#clientId, Username: username, ConfirmationCode: code });
  }

  /**
   * A fresh ID token from the stored refresh token. Resolves true when renewed;
   * false when there is no session any more (signed out, with the reason).
   * Concurrent calls share one request.
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

  /**
   * The reader signs out: forget the session here, then revoke its refresh token at Cognito
   * (RevokeToken; the access tokens made from it go too), so a copy of it is worth nothing.
   * Resolves false when the revocation was due but failed (the token then lasts its 30 days).
   */
  async signOutEverywhere(why) {
    const refreshToken = load(REFRESH_KEY);
    this.signOut(why);
    if (refreshToken === null) return true;
    try {
      await this.#call("RevokeToken", { Token: refreshToken, ClientId: this.#clientId });
      return true;
    } catch {
      return false;
    }
  }

  /** Forget the session here (the session ended, or before revoking it). */
  signOut(why = "") {
    const was = this.signedIn || this.resumable;
    clearTimeout(this.#renewTimer);
    this.#renewTimer = null;
    this.#idToken = this.#claims = null;
    forget(REFRESH_KEY);
    if (was) this.#onChange(false, why);
  }

  async #renew() {
    const refreshToken = load(REFRESH_KEY);
    if (refreshToken === null) {
      this.signOut("Please sign in.");
      return false;
    }
    try {
      const answer = await this.#call("InitiateAuth", {
        AuthFlow: "REFRESH_TOKEN_AUTH",
        ClientId: this.#clientId,
        AuthParameters: { REFRESH_TOKEN: refreshToken },
      });
      // REFRESH_TOKEN_AUTH answers no new refresh token (unless rotation is on): keep ours.
      this.#accept({ RefreshToken: refreshToken, ...answer.AuthenticationResult });
      return true;
    } catch (error) {
      if (error instanceof AuthError && error.code !== "network") {
        this.signOut("Your session has ended. Please sign in again.");
        return false;
      }
      // Offline: keep the session and try again later.
      this.#schedule(RETRY_RENEW_MS);
      return this.signedIn;
    }
  }

  /** An InitiateAuth or RespondToAuthChallenge answer: tokens, or a step this page lacks. */
  #acceptAnswer(answer) {
    if (answer.AuthenticationResult === undefined) {
      // MFA, ...: steps this page does not offer.
      throw new AuthError(
        "challenge",
        `This account needs a step this page cannot do (${answer.ChallengeName}). Ask the chat's administrator.`,
      );
    }
    this.#accept(answer.AuthenticationResult);
  }

  #accept(result) {
    const claims = claimsOf(result.IdToken);
    if (claims === null) throw new AuthError("token", "The sign-in service answered with an unreadable token.");
    const wasSignedIn = this.signedIn;
    this.#idToken = result.IdToken;
    this.#claims = claims;
    this.#renewedAt = Date.now();
    if (result.RefreshToken) save(REFRESH_KEY, result.RefreshToken);
    const expiresAtMs = typeof claims.exp === "number" ? claims.exp * 1000 : Date.now() + 3600000;
    this.#schedule(expiresAtMs - Date.now() - this.#renewBeforeMs);
    if (!wasSignedIn) this.#onChange(true);
  }

  #schedule(delayMs) {
    clearTimeout(this.#renewTimer);
    this.#renewTimer = setTimeout(() => this.renew(), Math.max(MIN_RENEW_MS, delayMs));
  }

  async #call(operation, body) {
    let response;
    try {
      response = await fetch(this.#endpoint, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-amz-json-1.1",
          "X-Amz-Target": TARGET_PREFIX + operation,
        },
        body: JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
      });
    } catch {
      throw new AuthError("network", "Cannot reach the sign-in service.");
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      // Cognito's __type may carry a namespace prefix ("...#NotAuthorizedException").
      const code = String(data.__type ?? "").split("#").pop() || `HTTP ${response.status}`;
      throw new AuthError(code, typeof data.message === "string" ? data.message : code);
    }
    return data;
  }
}
