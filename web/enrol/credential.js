// SPDX-License-Identifier: AGPL-3.0-or-later
//
// credential.js -- the last step (state "credential") and the end (state
// "completed").
//
// State "credential": the applicant chooses how they will confirm it is
// them from now on (API.md, POST .../credential):
//   - "device": the phone and Guichet app just registered; one click;
//   - "otpauth": another authenticator app.  The server answers a fresh
//     seed as an otpauth:// URI and its QR code (SVG) -- shown once: asking
//     again replaces it.  The page shows the SVG as an <img> from a data:
//     URL (never as markup in the page), the key grouped by 4 for typing by
//     hand with a "copy" button, and takes the app's first code
//     (POST .../otp-confirm), which completes the enrolment;
//   - "hardware": a token from the bank, by its serial and a current code.
// Wrong codes count toward the enrolment's lockout: the attempts left are
// said next to the field; 423 locks the step.
//
// The seed lives only in this module's memory and in the DOM while its
// panel shows (never in storage, never in a log); leaving the panel wipes
// it.  A reload therefore shows the choice again, and choosing the app
// again makes a new key (the unconfirmed one is replaced by the server).
//
// Both states offer "Also use this computer" (passkey.js).
//
// State "completed": the customer reference (ten digits, with a copy
// button; the internal customer_id only as a technical identifier), what to use
// to sign in, and the assurance code once (assurance.js).  GET
// .../enrolments/{id} does not repeat the customer id, so
// the completing answer's reference and kind are kept in sessionStorage for
// this tab (an identifier, not a secret) to survive a reload.

import { api, ApiError, paths } from "./api.js";
import { forgetAssurance, keepAnswerCode, readAssuranceCode, renderAssuranceDone,
         sendAssuranceCode } from "./assurance.js";
import { renderPasskey, setupPasskey } from "./passkey.js";
import { clearText, setText } from "./text.js";

const $ = (id) => document.getElementById(id);
const STORE_DONE = "guichet.completed";
const KINDS = ["device", "otpauth", "hardware"];

// The otpauth answer being shown ({id, uri, svg, secret}) or null; the
// enrolment whose step is locked, or null.
let shown = null;
let lockedFor = null;
let ctx = null;

// ------------------------------------------------------------ fields

function setError (inputId, key, params) {
  const box = $(inputId + "-error");
  setText(box, key, params);
  const input = $(inputId);
  input.setAttribute("aria-invalid", "true");
  const field = input.closest(".field");
  if (field)
    field.classList.add("field--error");
}

function clearError (inputId) {
  clearText($(inputId + "-error"));
  const input = $(inputId);
  input.removeAttribute("aria-invalid");
  const field = input.closest(".field");
  if (field)
    field.classList.remove("field--error");
}

function setKindError (key) {
  setText($("kind-error"), key);
  $("kind-group").classList.add("field--error");
}

function clearKindError () {
  clearText($("kind-error"));
  $("kind-group").classList.remove("field--error");
}

function setBusy (form, labelId, busy, idle, sending) {
  const btn = form.querySelector("button[type=submit]");
  btn.setAttribute("aria-disabled", String(busy));
  form.setAttribute("aria-busy", String(busy));
  setText($(labelId), busy ? sending : idle);
}

const digitsOnly = (s) => s.replace(/[\s-]/g, "");

function chosenKind () {
  const r = document.querySelector("#credential-form input[name=kind]:checked");
  return r ? r.value : null;
}

// The wrong-code message, with the attempts left when the server says.
function invalidCodeKey (e, base) {
  const n = e.body && Number.isInteger(e.body.attempts_remaining) ? e.body.attempts_remaining : null;
  if (n === null)
    return [base, undefined];
  return n === 1 ? [base + "_one", undefined] : [base + "_n", { n }];
}

// ------------------------------------------------------------ completion

function rememberDone (id, answer) {
  const c = Array.isArray(answer.credentials) && answer.credentials[0] ? answer.credentials[0] : {};
  const done = {
    id,
    customer_id: typeof answer.customer_id === "string" ? answer.customer_id : null,
    customer_reference: typeof answer.customer_reference === "string" ? answer.customer_reference : null,
    kind: KINDS.includes(c.kind) ? c.kind : null,
    serial: typeof c.serial === "string" ? c.serial : null,
  };
  try { sessionStorage.setItem(STORE_DONE, JSON.stringify(done)); } catch (e) { /* private mode */ }
}

function recalledDone (id) {
  try {
    const d = JSON.parse(sessionStorage.getItem(STORE_DONE) || "null");
    return d && d.id === id ? d : null;
  } catch (e) {
    return null;
  }
}

export function forgetDone () {
  forgetAssurance();
  try { sessionStorage.removeItem(STORE_DONE); } catch (e) { /* private mode */ }
}

function completed (id, answer) {
  rememberDone(id, answer || {});
  keepAnswerCode(id, answer);
  wipeShown();
  ctx.done();
}

// "1234567890" -> "123 456 789 0": short groups people read out and type.
export function groupReference (digits) {
  const d = String(digits);
  return [d.slice(0, 3), d.slice(3, 6), d.slice(6, 9), d.slice(9)].filter(Boolean).join(" ");
}

// Copies the reference (its digits, which any form accepts) and says so.
async function copyReference () {
  const digits = $("customer-reference").dataset.digits;
  if (!digits)
    return;
  try {
    await navigator.clipboard.writeText(digits);
    setText($("copy-status"), "done.copied");
  } catch (e) {
    // No clipboard (an http page, a refusal): select it for the keyboard.
    const range = document.createRange();
    range.selectNodeContents($("customer-reference"));
    const sel = getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    setText($("copy-status"), "done.copy_select");
  }
}

// Draws state "completed" (the caller shows the view).
export function renderCompleted (enrolment) {
  const done = recalledDone(enrolment.id);
  // The reference for people (ten digits, grouped), from the enrolment the
  // server answered or the completion answer; the internal id only behind
  // "technical identifier".
  const ref = enrolment.customer_reference || (done && done.customer_reference) || null;
  const internal = enrolment.customer_id || (done && done.customer_id) || "";
  $("customer-reference").textContent = ref ? groupReference(ref) : "";
  $("customer-reference").dataset.digits = ref || "";
  $("customer-id").textContent = internal;
  $("completed-reference").hidden = !ref;
  $("completed-no-reference").hidden = Boolean(ref);
  clearText($("copy-status"));
  const code = $("completed-code");
  if (done && done.kind === "hardware" && done.serial)
    setText(code, "done.code.hardware_serial", { serial: done.serial });
  else
    setText(code, "done.code." + (done && done.kind ? done.kind : "unknown"));
  renderAssuranceDone(enrolment.id);
  renderPasskey("done", enrolment.id);
}

// ------------------------------------------------------------ panels

function showPanel (which, opts = {}) {
  const otp = which === "otpauth";
  $("credential-choose").hidden = otp;
  $("otpauth-panel").hidden = !otp;
  $("view-credential").setAttribute("aria-labelledby", otp ? "otpauth-heading" : "credential-heading");
  if (opts.focus)
    $(otp ? "otpauth-heading" : "credential-heading").focus();
}

function showLocked (id) {
  lockedFor = id;
  wipeShown();
  $("credential-choose").hidden = true;
  $("otpauth-panel").hidden = true;
  $("credential-locked").hidden = false;
}

function syncHardware () {
  $("hw-fields").hidden = chosenKind() !== "hardware";
}

// Forgets the key on screen: image, text, link.
function wipeShown () {
  shown = null;
  const img = $("otpauth-qr-img");
  img.removeAttribute("src");
  $("otpauth-secret").textContent = "";
  $("otpauth-link").setAttribute("href", "#otpauth-panel");
  clearText($("otpauth-copy-status"));
  $("otpauth-code").value = "";
  clearError("otpauth-code");
}

// Draws state "credential" for the enrolment (the caller shows the view).
// A language switch calls it again: the key on screen stays.
export function renderCredential (enrolment, opts = {}) {
  const id = enrolment.id;
  renderPasskey("cred", id);
  if (lockedFor === id) {
    showLocked(id);
    return;
  }
  $("credential-locked").hidden = true;
  if (shown && shown.id === id) {
    showPanel("otpauth", opts);
    return;
  }
  wipeShown();
  syncHardware();
  showPanel("choose", opts);
}

// Puts the server's otpauth answer on screen.
function showOtpauth (id, d) {
  const uri = typeof d.otpauth_uri === "string" && d.otpauth_uri.startsWith("otpauth://totp/")
    ? d.otpauth_uri : null;
  const svg = typeof d.qr_svg === "string" && /^\s*(<\?xml|<svg)/.test(d.qr_svg) ? d.qr_svg : null;
  let secret = null;
  try { secret = uri && new URL(uri).searchParams.get("secret"); } catch (e) { secret = null; }
  if (!uri || !svg || !secret)
    throw new ApiError(0, "bad_answer", null, "unusable otpauth answer");
  shown = { id, uri, svg, secret };
  // An image, not markup: the SVG never becomes part of the page.
  $("otpauth-qr-img").src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg);
  $("otpauth-secret").textContent = secret.match(/.{1,4}/g).join(" ");
  $("otpauth-link").setAttribute("href", uri);
  clearText($("otpauth-copy-status"));
  $("otpauth-code").value = "";
  clearError("otpauth-code");
  showPanel("otpauth", { focus: true });
}

// ------------------------------------------------------------ choose

let sending = false;

async function onChoose (ev) {
  ev.preventDefault();
  if (sending)
    return;
  const id = ctx.id();
  const kind = chosenKind();
  clearKindError();
  clearError("hw-serial");
  clearError("hw-code");
  ctx.hideBanner();
  if (!kind) {
    setKindError("cred.err.kind");
    $("kind-device").focus();
    return;
  }
  const body = { kind };
  if (kind === "hardware") {
    const serial = $("hw-serial").value.trim();
    const code = digitsOnly($("hw-code").value);
    let first = null;
    if (!serial) {
      setError("hw-serial", "cred.hw.err.serial_required");
      first = first || "hw-serial";
    }
    if (!/^[0-9]{6,8}$/.test(code)) {
      setError("hw-code", code ? "cred.hw.err.code_format" : "cred.hw.err.code_required");
      first = first || "hw-code";
    }
    if (first) {
      $(first).focus();
      return;
    }
    body.serial = serial;
    body.otp = code;
  }
  const assurance = readAssuranceCode();
  if (assurance === null) {
    $("assurance-code").focus();
    return;
  }
  sending = true;
  setBusy($("credential-form"), "credential-submit-label", true, "cred.submit", "cred.sending");
  try {
    if (!await sendAssuranceCode(id, assurance))
      return;
    const r = await api("POST", paths.credential(id), body);
    if (kind === "otpauth")
      showOtpauth(id, r.data || {});
    else
      completed(id, r.data);
  } catch (e) {
    chooseFailed(e, id, kind);
  } finally {
    sending = false;
    setBusy($("credential-form"), "credential-submit-label", false, "cred.submit", "cred.sending");
  }
}

function chooseFailed (e, id, kind) {
  if (!(e instanceof ApiError)) {
    ctx.error(e);
    return;
  }
  if (e.status === 423) {
    showLocked(id);
    return;
  }
  if (kind === "hardware") {
    // The server answers every refused token alike (unknown serial, a
    // token taken, lost or out of date, a wrong code): it does not tell a
    // stranger which serials exist.  So the page says one thing, about
    // both fields, and empties the code (a token shows a new one).
    if (e.status === 422) {
      $("hw-code").value = "";
      const [key, params] = invalidCodeKey(e, "cred.hw.err.invalid");
      setError("hw-code", key, params);
      $("hw-code").focus();
      return;
    }
    if (e.status === 400 && (e.field === "serial" || e.field === "otp")) {
      const f = e.field === "serial" ? "hw-serial" : "hw-code";
      setError(f, e.field === "serial" ? "cred.hw.err.serial_required" : "cred.hw.err.code_format");
      $(f).focus();
      return;
    }
  }
  ctx.error(e);
}

// ------------------------------------------------------------ otpauth

let confirming = false;

async function onConfirm (ev) {
  ev.preventDefault();
  if (confirming)
    return;
  const id = ctx.id();
  const otp = digitsOnly($("otpauth-code").value);
  clearError("otpauth-code");
  ctx.hideBanner();
  if (!/^[0-9]{6}$/.test(otp)) {
    setError("otpauth-code", otp ? "otpauth.err.format" : "otpauth.err.required");
    $("otpauth-code").focus();
    return;
  }
  confirming = true;
  setBusy($("otpauth-form"), "otpauth-submit-label", true, "otpauth.submit", "otpauth.sending");
  try {
    const r = await api("POST", paths.otpConfirm(id), { otp });
    completed(id, r.data);
  } catch (e) {
    $("otpauth-code").value = "";
    if (e instanceof ApiError && e.status === 422) {
      const [key, params] = invalidCodeKey(e, "otpauth.err.invalid");
      setError("otpauth-code", key, params);
      $("otpauth-code").focus();
    } else if (e instanceof ApiError && e.status === 423) {
      showLocked(id);
    } else {
      // 409: no key waiting any more (another tab chose); app.js asks the
      // server where things stand.
      if (e instanceof ApiError && e.status === 409)
        wipeShown();
      ctx.error(e);
    }
  } finally {
    confirming = false;
    setBusy($("otpauth-form"), "otpauth-submit-label", false, "otpauth.submit", "otpauth.sending");
  }
}

async function onCopy () {
  const status = $("otpauth-copy-status");
  if (!shown)
    return;
  try {
    await navigator.clipboard.writeText(shown.secret);
    setText(status, "otpauth.copied");
  } catch (e) {
    // No clipboard here (not a secure context, or refused): select the
    // key so the usual copy command takes it.
    const range = document.createRange();
    range.selectNodeContents($("otpauth-secret"));
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    setText(status, "otpauth.copy_failed");
  }
}

function onBack () {
  wipeShown();
  syncHardware();
  showPanel("choose", { focus: true });
}

// ------------------------------------------------------------ setup

// c: {id() -> enrolment id, hideBanner(), error(e), done() once completed}.
export function setupCredential (c) {
  ctx = c;
  $("credential-form").addEventListener("submit", onChoose);
  $("copy-reference").addEventListener("click", copyReference);
  for (const k of KINDS)
    $("kind-" + k).addEventListener("change", () => {
      clearKindError();
      syncHardware();
    });
  $("otpauth-form").addEventListener("submit", onConfirm);
  $("otpauth-copy").addEventListener("click", onCopy);
  $("otpauth-back").addEventListener("click", onBack);
  setupPasskey(c);
}

// Leaving the step (another view, a new application): forget the key.
export function leaveCredential () {
  if (shown)
    wipeShown();
}
