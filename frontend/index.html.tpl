<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <!-- Rendered from index.html.tpl: connect-src names the WebSocket origin this page may use, and the sign-in service's when sign-in is on. -->
  <meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src ${websocket_origin} ${auth_origin}; base-uri 'none'; form-action 'none'">
  <meta name="referrer" content="no-referrer">
  <meta name="color-scheme" content="light dark">
  <title>awsome-chat</title>
  <link rel="icon" href="favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="css/style.css">
  <script type="module" src="js/app.js"></script>
</head>
<body>
  <div class="app">
    <header class="topbar">
      <div class="brand">
        <img class="brand__logo" src="favicon.svg" alt="" width="32" height="32">
        <div>
          <h1 class="brand__name">awsome-chat</h1>
          <p class="brand__room">Room <span id="room-name">lobby</span></p>
        </div>
      </div>
      <div class="topbar__side">
        <button id="members-toggle" class="members-toggle" type="button" aria-expanded="false" aria-controls="members-panel">
          <svg class="members-toggle__icon" aria-hidden="true" viewBox="0 0 24 24" width="18" height="18"><circle cx="9" cy="8" r="3.5"/><path d="M2 20c0-3.9 3.1-6.5 7-6.5s7 2.6 7 6.5z"/><circle cx="17" cy="9" r="2.8"/><path d="M17.5 13.6c2.7.3 4.5 2.5 4.5 6.4h-4.3c0-2.6-.8-4.8-2.3-6.2.6-.2 1.3-.2 2.1-.2z"/></svg>
          <span id="member-count">–</span><span class="members-toggle__label"> online</span>
        </button>
        <p id="account" class="account" hidden>
          <span class="account__label">Signed in as</span> <span id="account-name" class="account__name"></span>
          <button id="sign-out" class="account__out" type="button">Sign out</button>
        </p>
        <p id="moderator-badge" class="moderator-badge" title="The server says you moderate this room" hidden>Moderator</p>
        <p id="status" class="status" data-state="connecting">
          <span class="status__dot" aria-hidden="true"></span>
          <span id="status-text">Connecting…</span>
        </p>
      </div>
    </header>

    <section id="auth" class="auth" aria-labelledby="auth-heading" hidden>
      <h2 id="auth-heading" class="auth__title" tabindex="-1">Sign in to chat</h2>
      <p id="auth-note" class="auth__note" role="status" hidden></p>
      <form id="sign-in-form" class="auth__form" novalidate>
        <div class="field">
          <label for="sign-in-username">Username</label>
          <input id="sign-in-username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required>
        </div>
        <div class="field">
          <label for="sign-in-password">Password</label>
          <input id="sign-in-password" name="password" type="password" autocomplete="current-password" required>
        </div>
        <button type="submit" class="button">Sign in</button>
      </form>
      <p id="oidc-sign-in" class="auth__form" hidden>
        <button id="oidc-sign-in-button" class="button" type="button">Sign in</button>
      </p>
      <form id="sign-up-form" class="auth__form" novalidate hidden>
        <div class="field">
          <label for="sign-up-username">Username</label>
          <input id="sign-up-username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required>
        </div>
        <div class="field">
          <label for="sign-up-email">Email</label>
          <input id="sign-up-email" name="email" type="email" autocomplete="email" required>
        </div>
        <div class="field">
          <label for="sign-up-password">Password</label>
          <input id="sign-up-password" name="password" type="password" autocomplete="new-password" required>
        </div>
        <button type="submit" class="button">Create account</button>
      </form>
      <form id="confirm-form" class="auth__form" novalidate hidden>
        <div class="field">
          <label for="confirm-code">Confirmation code</label>
          <input id="confirm-code" name="code" autocomplete="one-time-code" inputmode="numeric" spellcheck="false" required>
        </div>
        <button type="submit" class="button">Confirm</button>
      </form>
      <form id="new-password-form" class="auth__form" novalidate hidden>
        <div class="field">
          <label for="new-password">New password</label>
          <input id="new-password" name="new-password" type="password" autocomplete="new-password" required aria-describedby="auth-note auth-error">
        </div>
        <div class="field">
          <label for="new-password-again">New password again</label>
          <input id="new-password-again" name="new-password-again" type="password" autocomplete="new-password" required aria-describedby="auth-error">
        </div>
        <button type="submit" class="button">Set password and sign in</button>
        <button id="new-password-cancel" type="button" class="auth__link">Cancel</button>
      </form>
      <p id="auth-error" class="auth__error" role="alert" hidden></p>
      <p class="auth__switch">
        <button id="show-sign-up" class="auth__link" type="button" hidden>Create an account</button>
        <button id="show-sign-in" class="auth__link" type="button" hidden>I already have an account</button>
      </p>
    </section>

    <form id="join-form" class="join" novalidate>
      <div id="name-field" class="field">
        <label for="name">Nickname</label>
        <input id="name" name="name" autocomplete="nickname" spellcheck="false" maxlength="64" required aria-describedby="join-error">
      </div>
      <div class="field">
        <label for="room">Room</label>
        <input id="room" name="room" autocomplete="off" autocapitalize="none" spellcheck="false" maxlength="64" required aria-describedby="join-error">
      </div>
      <button type="submit" class="button button--quiet">Join</button>
      <p id="join-error" class="join__error" role="alert" hidden></p>
    </form>

    <details id="moderator-sign-in" class="moderator" hidden>
      <summary>Moderator sign-in</summary>
      <form id="moderator-form" class="moderator__form" novalidate>
        <label for="moderator-secret">Moderator secret</label>
        <input id="moderator-secret" name="moderator-secret" type="password" autocomplete="off" spellcheck="false" maxlength="256" required>
        <button type="submit" class="button button--quiet">Moderate</button>
      </form>
    </details>

    <main id="chat" class="chat">
      <div class="chat__log">
        <div id="messages" class="messages" role="log" aria-live="polite" aria-label="Messages" tabindex="0">
          <button id="earlier" class="earlier" type="button" hidden>Load earlier messages</button>
        </div>
        <button id="jump" class="jump" type="button" hidden>New messages ↓</button>
      </div>
      <aside id="members-panel" class="members" aria-labelledby="members-heading" hidden>
        <div class="members__head">
          <h2 id="members-heading" class="members__title" tabindex="-1">In this room</h2>
          <button id="members-refresh" class="members__refresh" type="button" aria-label="Refresh the member list">Refresh</button>
        </div>
        <p id="members-note" class="members__note" hidden></p>
        <ul id="members-list" class="members__list"></ul>
      </aside>
    </main>

    <form id="send-form" class="composer">
      <p id="typing" class="typing" aria-live="polite"></p>
      <label for="text" class="visually-hidden">Message</label>
      <textarea id="text" name="text" rows="1" placeholder="Write a message…" enterkeyhint="send" aria-describedby="composer-error counter composer-hint"></textarea>
      <button id="send" type="submit" class="button" disabled>Send</button>
      <p id="composer-error" class="composer__error" role="alert" hidden></p>
      <p id="composer-muted" class="composer__muted" role="status" hidden></p>
      <p id="counter" class="counter">0</p>
      <p id="composer-hint" class="visually-hidden">Enter sends, Shift+Enter starts a new line.</p>
    </form>
  </div>
</body>
</html>
