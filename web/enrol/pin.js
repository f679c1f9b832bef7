// SPDX-License-Identifier: AGPL-3.0-or-later
//
// pin.js -- state "pin_otp": the PIN form, then the first code from the
// Guichet app.
//
// The server judges the PIN (API.md: 422 policy_refused with "reasons");
// the page explains the policy up front and each refusal next to the field,
// and checks only that something was typed and typed the same twice.  Both
// PIN fields are type=password with autocomplete=new-password, so nothing
// is kept by the browser's form history; they are emptied after every
// answer.  The PIN is never stored by the page.
//
// The server does not say whether the PIN was already set (it may be
// chosen again until the first code is confirmed), so the page remembers it
// in sessionStorage to show the code form after a reload; a code sent
// before any PIN answers 409, and the page asks for the PIN again.

import { api, ApiError, paths } from "./api.js";
import { clearText, el, hasText, setText } from "./text.js";

const $ = (id) => document.getElementById(id);
const STORE_PIN_SET = "guichet.pin_set";

// Reason codes of API.md's PIN policy, in the order they are explained.
export const PIN_REASONS = ["too_short", "too_long", "not_digits", "repeated",
                            "sequential", "common", "birth_date"];

export function pinIsSet (id) {
  try { return sessionStorage.getItem(STORE_PIN_SET) === id; } catch (e) { return false; }
}

function rememberPinSet (id) {
  try { sessionStorage.setItem(STORE_PIN_SET, id); } catch (e) { /* private mode */ }
}

export function forgetPinSet () {
  try { sessionStorage.removeItem(STORE_PIN_SET); } catch (e) { /* private mode */ }
}

// ------------------------------------------------------------ fields

function setError (inputId, node) {
  const box = $(inputId + "-error");
  clearText(box);
  if (node)
    box.append(node);
  $(inputId).setAttribute("aria-invalid", "true");
  $(inputId).closest(".field").classList.add("field--error");
}

function setErrorText (inputId, key, params) {
  const box = $(inputId + "-error");
  box.replaceChildren();
  setText(box, key, params);
  $(inputId).setAttribute("aria-invalid", "true");
  $(inputId).closest(".field").classList.add("field--error");
}

function clearError (inputId) {
  const box = $(inputId + "-error");
  clearText(box);
  $(inputId).removeAttribute("aria-invalid");
  $(inputId).closest(".field").classList.remove("field--error");
}

function setBusy (form, labelId, busy, idle, sending) {
  const btn = form.querySelector("button[type=submit]");
  btn.setAttribute("aria-disabled", String(busy));
  form.setAttribute("aria-busy", String(busy));
  setText($(labelId), busy ? sending : idle);
}

// The refusal reasons as a list under the field, one sentence each; a code
// this page does not know is still shown, with the code as a reference.
function reasonsList (reasons) {
  const ul = el("ul", "pin-reasons");
  for (const r of reasons) {
    const code = String(r);
    const known = hasText(`pin.reason.${code}`);
    const li = el("li", null, known ? `pin.reason.${code}` : "pin.reason.unknown",
                  known ? undefined : { code });
    li.dataset.reason = code;
    li.setAttribute("data-testid", "pin-reason-" + code);
    ul.append(li);
  }
  return ul;
}

// ------------------------------------------------------------ panels

// Shows the PIN panel or the code panel of view-pin.  opts.focus moves
// focus to the panel's heading.
export function showPanel (which, opts = {}) {
  const otp = which === "otp";
  $("pin-panel").hidden = otp;
  $("otp-panel").hidden = !otp;
  $("view-pin").setAttribute("aria-labelledby", otp ? "otp-heading" : "pin-heading");
  if (opts.focus)
    $(otp ? "otp-heading" : "pin-heading").focus();
}

// Draws state pin_otp for enrolment id.
export function renderPinOtp (id, opts = {}) {
  const locked = !$("otp-locked").hidden && $("otp-locked").dataset.enrolment === id;
  if (!locked) {
    $("otp-locked").hidden = true;
    $("otp-form").hidden = false;
  }
  showPanel(pinIsSet(id) || locked ? "otp" : "pin", opts);
}

// ------------------------------------------------------------ PIN

let sendingPin = false;

// ctx: {id() -> enrolment id, done(which) after a step, error(e, extra)}.
export function setupPinOtp (ctx) {
  $("pin-form").addEventListener("submit", (ev) => onPin(ev, ctx));
  $("otp-form").addEventListener("submit", (ev) => onOtp(ev, ctx));
  $("pin-again").addEventListener("click", () => {
    forgetPinSet();
    clearError("pin");
    clearError("pin-confirm");
    showPanel("pin", { focus: true });
  });
}

async function onPin (ev, ctx) {
  ev.preventDefault();
  if (sendingPin)
    return;
  const id = ctx.id();
  const pin = $("pin").value;
  const again = $("pin-confirm").value;
  clearError("pin");
  clearError("pin-confirm");
  ctx.hideBanner();
  if (!pin) {
    setErrorText("pin", "pin.err.required");
    $("pin").focus();
    return;
  }
  if (pin !== again) {
    setErrorText("pin-confirm", again ? "pin.err.mismatch" : "pin.err.confirm");
    $("pin-confirm").value = "";
    $("pin-confirm").focus();
    return;
  }
  sendingPin = true;
  setBusy($("pin-form"), "pin-submit-label", true, "pin.submit", "pin.sending");
  try {
    await api("POST", paths.pin(id), { pin });
    rememberPinSet(id);
    $("pin").value = "";
    $("pin-confirm").value = "";
    clearError("otp");
    $("otp").value = "";
    $("otp-saved").hidden = false;
    showPanel("otp", { focus: true });
  } catch (e) {
    $("pin").value = "";
    $("pin-confirm").value = "";
    if (e instanceof ApiError && e.status === 422) {
      const reasons = e.body && Array.isArray(e.body.reasons) && e.body.reasons.length
        ? e.body.reasons : ["unknown"];
      const box = el("div");
      box.append(el("p", "pin-reasons__title", "pin.refused"));
      box.append(reasonsList(reasons));
      setError("pin", box);
      $("pin").focus();
    } else {
      ctx.error(e);
    }
  } finally {
    sendingPin = false;
    setBusy($("pin-form"), "pin-submit-label", false, "pin.submit", "pin.sending");
  }
}

// ------------------------------------------------------------ first code

let sendingOtp = false;

async function onOtp (ev, ctx) {
  ev.preventDefault();
  if (sendingOtp)
    return;
  const id = ctx.id();
  const otp = $("otp").value.replace(/[\s-]/g, "");
  clearError("otp");
  ctx.hideBanner();
  if (!/^[0-9]{6}$/.test(otp)) {
    setErrorText("otp", otp ? "otp.err.format" : "otp.err.required");
    $("otp").focus();
    return;
  }
  sendingOtp = true;
  setBusy($("otp-form"), "otp-submit-label", true, "otp.submit", "otp.sending");
  try {
    await api("POST", paths.otpConfirm(id), { otp });
    forgetPinSet();
    $("otp").value = "";
    ctx.done("otp");
  } catch (e) {
    $("otp").value = "";
    if (!(e instanceof ApiError)) {
      ctx.error(e);
    } else if (e.status === 422) {
      const n = e.body && Number.isInteger(e.body.attempts_remaining)
        ? e.body.attempts_remaining : null;
      setErrorText("otp", n === null ? "otp.err.invalid"
        : n === 1 ? "otp.err.invalid_one" : "otp.err.invalid_n", n === null ? undefined : { n });
      $("otp").focus();
    } else if (e.status === 423) {
      $("otp-form").hidden = true;
      $("otp-saved").hidden = true;
      $("otp-locked").dataset.enrolment = id;
      $("otp-locked").hidden = false;
    } else if (e.status === 409 && e.code === "wrong_state") {
      // No PIN yet (another tab, a lost answer), or the state moved on:
      // app.js asks the server and draws what it says.
      forgetPinSet();
      ctx.wrongState();
    } else {
      ctx.error(e);
    }
  } finally {
    sendingOtp = false;
    setBusy($("otp-form"), "otp-submit-label", false, "otp.submit", "otp.sending");
  }
}
