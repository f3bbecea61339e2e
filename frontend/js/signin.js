// The sign-in screens: Cognito's forms (sign in, sign up, confirm, the first
// password of an admin-created user) and OpenID Connect's one button, shown
// instead of the chat until the reader is signed in (docs/protocol.md,
// "Signing in"). The session objects (auth.js, oidc.js) talk to the sign-in
// service; this module only shows their steps and errors. The page (app.js)
// is told of a sign-in or sign-out by the session's own onChange.

import { AuthError, describeAuthError } from "./auth.js";
import { showStatus } from "./view.js";

/**
 * @param {Record<string, HTMLElement>} ui the page's elements (app.js)
 * @param {import("./auth.js").CognitoSession | import("./oidc.js").OidcSession} auth
 * @param {{mode: "cognito" | "oidc", signUp: boolean,
 *   returned: object | null}} options `returned`: the issuer's answer in the address (oidc.js)
 */
export function signInScreens(ui, auth, { mode, signUp, returned }) {
  /** Show the chat (signed in, or no sign-in at all) or the sign-in forms. */
  function showChat(visible) {
    ui.auth.hidden = visible;
    for (const part of [ui.chat, ui.sendForm, ui.joinForm, ui.membersToggle]) part.hidden = !visible;
    ui.account.hidden = !visible;
  }

  /** Which of the sign-in forms is shown. */
  function showAuthForm(which, note = "") {
    ui.signInForm.hidden = which !== "sign-in";
    ui.signUpForm.hidden = which !== "sign-up";
    ui.confirmForm.hidden = which !== "confirm";
    ui.newPasswordForm.hidden = which !== "new-password";
    ui.showSignUp.hidden = which !== "sign-in" || !signUp;
    // The new-password form has its own way back (Cancel): "I already have an account" is off.
    ui.showSignIn.hidden = which === "sign-in" || which === "new-password";
    ui.authHeading.textContent =
      which === "sign-up"
        ? "Create an account"
        : which === "confirm"
          ? "Confirm your account"
          : which === "new-password"
            ? "Choose your password"
            : "Sign in to chat";
    ui.authNote.textContent = note;
    ui.authNote.hidden = note === "";
    showAuthError(null);
  }

  function showAuthError(error) {
    ui.authError.textContent = error === null ? "" : describeAuthError(error);
    ui.authError.hidden = error === null;
  }

  /** Signed in (or the session resumed): the chat replaces the forms. */
  function signedIn() {
    ui.accountName.textContent = auth.name;
    showChat(true);
  }

  /** Signed out (the chat already left): offer sign-in again. */
  function signedOut(why) {
    showChat(false);
    if (mode === "oidc") {
      showOidcSignIn(why ?? "");
    } else {
      showAuthForm("sign-in", why ?? "");
      ui.signInUsername.value = auth.lastUsername;
    }
    showStatus(ui.status, ui.statusText, "closed", "Signed out");
    ui.authHeading.focus();
  }

  /** Run one sign-in step with its form's button disabled; errors are shown on the form. */
  async function attempt(form, step) {
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    showAuthError(null);
    try {
      await step();
    } catch (error) {
      showAuthError(error);
      return false;
    } finally {
      button.disabled = false;
    }
    return true;
  }

  // Kept in memory between sign-up and confirmation only, to sign in right after.
  let pending = { username: "", password: "" };
  // An admin-created user's first sign-in (NEW_PASSWORD_REQUIRED), until their password is set.
  let challenge = null;

  /** Back to the sign-in form, the challenge dropped (expired, or the reader cancelled). */
  function leaveNewPassword(note = "") {
    challenge = null;
    ui.newPassword.value = ui.newPasswordAgain.value = "";
    showAuthForm("sign-in", note);
    ui.signInPassword.focus();
  }

  function wireSignIn() {
    ui.signInForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const username = ui.signInUsername.value.trim();
      const password = ui.signInPassword.value;
      if (username === "" || password === "") {
        ui.authError.textContent = "Enter your username and password.";
        ui.authError.hidden = false;
        return;
      }
      await attempt(ui.signInForm, async () => {
        try {
          challenge = await auth.signIn(username, password);
        } catch (error) {
          if (error.code === "UserNotConfirmedException" && signUp) {
            pending = { username, password };
            showAuthForm("confirm", "Enter the code you were sent to confirm your account.");
          }
          throw error;
        }
        if (challenge !== null) {
          showAuthForm("new-password", "This is your first sign-in: choose your own password to replace the one you were sent.");
          ui.newPassword.focus();
        }
      });
      ui.signInPassword.value = "";
    });
    ui.newPasswordForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const password = ui.newPassword.value;
      if (password === "" || password !== ui.newPasswordAgain.value) {
        showAuthError(new AuthError("passwords-differ", ""));
        ui.newPassword.focus();
        return;
      }
      let expired = false;
      const done = await attempt(ui.newPasswordForm, async () => {
        try {
          await auth.setNewPassword(challenge, password);
        } catch (error) {
          expired = error.code === "challenge-expired";
          throw error;
        }
      });
      if (done) {
        challenge = null;
        ui.newPassword.value = ui.newPasswordAgain.value = "";
      } else if (expired) {
        leaveNewPassword(describeAuthError(new AuthError("challenge-expired", "")));
      } else {
        ui.newPassword.focus(); // the policy's refusal is shown: try another password
      }
    });
    ui.newPasswordCancel.addEventListener("click", () => leaveNewPassword());
    ui.signUpForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const username = ui.signUpUsername.value.trim();
      const password = ui.signUpPassword.value;
      const email = ui.signUpEmail.value.trim();
      await attempt(ui.signUpForm, async () => {
        const needsCode = await auth.signUp(username, password, email);
        pending = { username, password };
        if (needsCode) showAuthForm("confirm", "We sent you a confirmation code. Enter it to finish.");
        else await auth.signIn(username, password);
      });
    });
    ui.confirmForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const { username, password } = pending;
      await attempt(ui.confirmForm, async () => {
        await auth.confirm(username, ui.confirmCode.value.trim());
        pending = { username: "", password: "" };
        ui.confirmCode.value = "";
        await auth.signIn(username, password);
      });
    });
    ui.showSignUp.addEventListener("click", () => showAuthForm("sign-up"));
    ui.showSignIn.addEventListener("click", () => showAuthForm("sign-in"));
    ui.signOut.addEventListener("click", signOutEverywhere);
  }

  /** The reader signs out: here at once, then the session is revoked at the sign-in service. */
  async function signOutEverywhere() {
    const revoked = await auth.signOutEverywhere("You signed out.");
    if (!revoked && !ui.auth.hidden) {
      ui.authNote.textContent =
        "You signed out here, but the sign-in service could not be reached to end your session there.";
      ui.authNote.hidden = false;
    }
  }

  /** OpenID Connect: the one button that goes to the issuer (it owns sign-up too). */
  function showOidcSignIn(note = "", button = true) {
    showAuthForm("none", note);
    ui.showSignIn.hidden = true;
    ui.oidcSignIn.hidden = !button;
  }

  function wireOidcSignIn() {
    const host = auth.issuerHost;
    if (host !== "") ui.oidcSignInButton.textContent = `Sign in at ${host}`;
    ui.oidcSignInButton.addEventListener("click", async () => {
      ui.oidcSignInButton.disabled = true;
      showAuthError(null);
      try {
        await auth.signIn(); // leaves the page
      } catch (error) {
        showAuthError(error);
        ui.oidcSignInButton.disabled = false;
      }
    });
    ui.signOut.addEventListener("click", signOutEverywhere);
  }

  /** OpenID Connect at load: finish a sign-in coming back from the issuer, or resume one. */
  function startOidc() {
    wireOidcSignIn();
    if (returned !== null) {
      showOidcSignIn("Signing in…", false);
      auth
        .complete(returned)
        .then((signedIn) => {
          if (!signedIn) showOidcSignIn(); // an ?error= of no sign-in of this tab: ignored
        })
        .catch((error) => {
          showOidcSignIn();
          showAuthError(error);
        });
    } else if (auth.resumable) {
      showOidcSignIn("Signing in…", false);
      auth
        .resume()
        .then((resumed) => {
          if (resumed) return;
          // Offline: the session is kept and renewal tried again (oidc.js); say so meanwhile.
          if (auth.resumable) showOidcSignIn("Cannot reach the sign-in service. Trying again…", false);
        })
        .catch((error) => {
          showOidcSignIn();
          showAuthError(error);
        });
    } else {
      showOidcSignIn();
    }
  }

  /** Cognito at load: resume an earlier visit's session, or show the sign-in form. */
  function startCognito() {
    wireSignIn();
    if (auth.resumable) {
      // A session from an earlier visit: renew its ID token (signedIn() follows), or ask again.
      showChat(false);
      ui.signInForm.hidden = true;
      ui.authNote.textContent = "Signing in…";
      ui.authNote.hidden = false;
      auth.renew().then((renewed) => {
        // Offline: the session is kept and renewal tried again (auth.js); say so meanwhile.
        if (!renewed && auth.resumable) ui.authNote.textContent = "Cannot reach the sign-in service. Trying again…";
      });
    } else {
      showChat(false);
      showAuthForm("sign-in");
      ui.signInUsername.value = auth.lastUsername;
    }
  }

  return {
    signedIn,
    signedOut,
    /** Show the forms (or a resumed session's progress) at load. */
    start() {
      if (mode === "oidc") {
        showChat(false);
        showStatus(ui.status, ui.statusText, "closed", "Signed out");
        startOidc();
      } else {
        startCognito();
        showStatus(ui.status, ui.statusText, "closed", "Signed out");
      }
    },
  };
}
