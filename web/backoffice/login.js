// SPDX-License-Identifier: AGPL-3.0-or-later
//
// login.js -- #/login: username, password and the current code of the
// admin's authenticator app (TOTP).  The answer's csrf_token is kept for
// this tab (api.js); the session itself is an HttpOnly cookie.
//
// The server never says which of the three was wrong, and neither does
// this page: "authentication_failed" is one message.  What can be checked
// before sending (a field left empty, a code that is not 6 to 8 digits) is
// said next to the field.

import { api, paths, setCsrfToken } from "./api.js";
import { $, announce, clearFieldErrors, handleError, hideBanner, setBusy, setFieldError,
         showView } from "./frame.js";
import { clearText, setText } from "./text.js";

let submitting = false;
let onSignedIn = () => {};

// Shows the login view.  notice: an i18n key to show above the form
// ("your session expired", "you are signed out"), or null.
export function showLogin (notice, opts = {}) {
  const n = $("login-notice");
  if (notice) {
    setText(n, notice);
    n.hidden = false;
    announce(notice);
  } else {
    clearText(n);
    n.hidden = true;
  }
  hideFormError();
  showView("login", opts);
  const user = $("login-username");
  if (opts.focus !== false)
    (user.value ? $("login-password") : user).focus();
}

function readForm () {
  const username = $("login-username").value.trim();
  const password = $("login-password").value;
  const otp = $("login-otp").value.replace(/[\s-]/g, "");
  const errors = [];
  if (!username)
    errors.push(["login-username", "err.required"]);
  if (!password)
    errors.push(["login-password", "err.required"]);
  if (!otp)
    errors.push(["login-otp", "err.required"]);
  else if (!/^\d{6,8}$/.test(otp))
    errors.push(["login-otp", "err.otp_format"]);
  return { body: { username, password, otp }, errors };
}

async function onSubmit (ev) {
  ev.preventDefault();
  if (submitting)
    return;
  const form = $("login-form");
  hideBanner();
  clearFieldErrors(form);
  hideFormError();
  const { body, errors } = readForm();
  if (errors.length) {
    for (const [id, key] of errors)
      setFieldError(id, key);
    $(errors[0][0]).focus();
    return;
  }
  submitting = true;
  setBusy($("login-submit"), $("login-submit-label"), true, "login.submit", "login.sending");
  try {
    const r = await api("POST", paths.login, body);
    setCsrfToken(r && r.csrf_token);
    $("login-password").value = "";
    $("login-otp").value = "";
    $("login-notice").hidden = true;
    onSignedIn({ username: (r && r.username) || body.username, role: r && r.role });
  } catch (e) {
    // A code is good once: whatever happened, ask for the next one.
    $("login-otp").value = "";
    loginError(e);
  } finally {
    submitting = false;
    setBusy($("login-submit"), $("login-submit-label"), false, "login.submit", "login.sending");
  }
}

// Not about one field (the server does not say which was wrong): said
// right above the button, as an alert.
function showFormError (key) {
  const p = $("login-error");
  setText(p, key);
  p.hidden = false;
}

function hideFormError () {
  const p = $("login-error");
  clearText(p);
  p.hidden = true;
}

function loginError (e) {
  switch (e.status) {
  case 401:
    $("login-password").value = "";
    showFormError("login.failed");
    $("login-password").focus();
    return;
  case 423:
    showFormError("login.locked");
    return;
  case 400:
    if (e.field && $("login-" + e.field)) {
      setFieldError("login-" + e.field, "err.invalid");
      $("login-" + e.field).focus();
      return;
    }
    break;
  default:
    break;
  }
  handleError(e);
}

export function initLogin (signedIn) {
  onSignedIn = signedIn;
  $("login-form").addEventListener("submit", onSubmit);
}
