// SPDX-License-Identifier: AGPL-3.0-or-later
//
// app.js -- the customer enrolment page: applicant form, identity result,
// and the steps that follow, one render function per enrolment state.
//
// The server is the only judge: this page collects what the applicant
// types, sends it, and shows the state the server answers.  It keeps only
// the enrolment id (sessionStorage), so a reload asks the server where the
// enrolment stands; the session itself is an HttpOnly cookie.  It changes
// the machine-readable zone only as the server would read it anyway
// (mrz.js: capitals, one pasted line cut into its lines), and it never
// uses innerHTML: every text goes in with textContent.
//
// Beside it: api.js (fetch, errors, Idempotency-Key), text.js (language,
// translation), form.js (the applicant form), result.js (the identity
// decision explained), device.js (the QR code, its countdown and renewal,
// the long-poll that moves the page on, the wait for a reviewer), pin.js
// (the PIN and the first code), credential.js (the choice of credential:
// this phone, another authenticator app or a hardware token, and the
// completed enrolment), i18n.js (every word, in French and English).
//
// Adding a step: write render<State>(enrolment, opts), in its own module if
// it is long, give it a <section data-view> in index.html, list it in
// STATE_RENDERERS below, and report API failures through handleError().
// A view that keeps asking the server (device.js) is stopped by showView()
// as soon as another view is shown.

import { commonError } from "/common/errors.js";
import { api, ApiError, newUuid, paths } from "./api.js";
import { forgetDone, leaveCredential, renderCompleted, renderCredential as drawCredential,
         setupCredential } from "./credential.js";
import { askNewCode, startDeviceStep, startReviewWatch, stopWatching } from "./device.js";
import { clearFieldErrors, FIELD_BY_PATH, fillCountries, readForm,
         showFieldErrors, showMismatch, updateMrzCount } from "./form.js";
import { forgetPinSet, renderPinOtp, setupPinOtp } from "./pin.js";
import { applyInfo, idleMinutes, loadInfo } from "./info.js";
import { FIXABLE_REASONS, fillIdentity } from "./result.js";
import { chooseLang, clearText, formatTime, getLang, setText, t,
         translateDom } from "./text.js";

const STORE_ID = "guichet.enrolment";

const $ = (id) => document.getElementById(id);

// What the page shows now, so a language switch can redraw it.
const current = {
  view: null,         // data-view name of the visible section
  enrolment: null,    // last enrolment the server answered
  redraw: null,       // function(opts) that draws the current view again
};

// ------------------------------------------------------------ language

function translatePage () {
  translateDom();
  applyInfo();
  for (const b of document.querySelectorAll("[data-lang]"))
    b.setAttribute("aria-pressed", String(b.dataset.lang === getLang()));
  fillCountries();
  updateTitle();
}

function setLang (l) {
  if (!chooseLang(l))
    return;
  translatePage();
  if (current.redraw)
    current.redraw({ focus: false });
  updateMrzCount();
}

function updateTitle () {
  const view = current.view && viewHeading(current.view);
  const step = view ? view.textContent : t("app.title");
  document.title = t("app.doc_title", { step });
}

// The heading of a view: its first h2 that is not in a hidden part (a view
// may have panels, like the PIN and the code).
function viewHeading (name) {
  const section = document.querySelector(`[data-view="${name}"]`);
  if (!section)
    return null;
  return [...section.querySelectorAll("h2")].find((h) => !h.closest("[hidden]"))
    || section.querySelector("h2");
}

// ------------------------------------------------------------ page frame

// Shows one section.  opts.focus moves keyboard and screen-reader focus to
// its heading (after an action; not on first load).
function showView (name, opts = {}) {
  if (name !== current.view) {
    stopWatching();
    if (current.view === "credential")
      leaveCredential();
  }
  for (const s of document.querySelectorAll("[data-view]"))
    s.hidden = s.dataset.view !== name;
  current.view = name;
  updateTitle();
  if (opts.focus) {
    const h = viewHeading(name);
    if (h)
      h.focus();
  }
}

function showBanner (key, params) {
  const b = $("banner");
  setText(b, key, params);
  b.hidden = false;
}

function hideBanner () {
  const b = $("banner");
  clearText(b);
  b.hidden = true;
}

// Which of the five progress steps a state belongs to (null: none); the
// choice of credential is a step of its own.
const STEP_OF_STATE = {
  identity: 0, identity_review: 0, rejected: 0,
  device: 1, device_review: 1,
  pin_otp: 2,
  credential: 3,
  completed: 4,
};

function setProgress (state) {
  const at = state in STEP_OF_STATE ? STEP_OF_STATE[state] : null;
  document.querySelectorAll("#progress li").forEach((li, i) => {
    if (i === at)
      li.setAttribute("aria-current", "step");
    else
      li.removeAttribute("aria-current");
    li.classList.toggle("is-done", at !== null && i < at);
  });
}

function setStatus (enrolment) {
  const box = $("status");
  if (!enrolment) {
    box.hidden = true;
    delete box.dataset.state;
    return;
  }
  box.dataset.state = enrolment.state;
  setText($("status-state"), "state." + enrolment.state);
  $("status-id").textContent = enrolment.id || "";
  const when = formatTime(enrolment.expires_at);
  $("status-expires-row").hidden = !when || enrolment.state === "expired"
    || enrolment.state === "rejected" || enrolment.state === "completed";
  $("status-expires").textContent = when || "";
  box.hidden = false;
}

// ------------------------------------------------------------ states

// One function per enrolment state.  Each gets the enrolment as the
// server answered it and opts {focus}; each must be safe to call again
// (a language switch redraws the current one).
const STATE_RENDERERS = {
  identity: renderForm,
  identity_review: renderIdentityReview,
  device: renderDevice,
  device_review: renderDeviceReview,
  pin_otp: renderPinOtpState,
  credential: renderCredential,
  completed: renderCompletedState,
  rejected: renderRejected,
  expired: renderExpired,
};

// Shows the enrolment the server just answered.
function renderEnrolment (enrolment, opts = {}) {
  if (!enrolment || typeof enrolment !== "object" || !enrolment.state) {
    showBanner("error.generic", { code: "bad_answer" });
    return;
  }
  current.enrolment = enrolment;
  if (enrolment.id)
    rememberId(enrolment.id);
  setStatus(enrolment);
  setProgress(enrolment.state);
  const render = STATE_RENDERERS[enrolment.state] || renderOther;
  current.redraw = (o) => {
    setStatus(enrolment);
    render(enrolment, o);
  };
  render(enrolment, opts);
}

function renderForm (enrolment, opts = {}) {
  showView("form", opts);
}

// What device.js calls when the enrolment moved on (the phone registered,
// went to review or was refused) or a request failed for good.
const deviceHooks = {
  moved: () => {
    const id = current.enrolment && current.enrolment.id;
    if (id)
      loadEnrolment(id, { focus: true, quiet: true });
  },
  error: (e) => handleError(e),
};

function renderDevice (enrolment, opts = {}) {
  const section = $("view-device");
  fillIdentity(section, enrolment.identity);
  showView("device", opts);
  startDeviceStep(enrolment.id, deviceHooks);
}

// "This usually takes N hours" (review_hours of the enrolment, from the
// server's configuration), or nothing when the server did not say.
function showReviewHours (node, hours) {
  const n = Number(hours);
  node.hidden = !(Number.isInteger(n) && n > 0);
  if (node.hidden)
    clearText(node);
  else if (n === 1)
    setText(node, "review.hour");
  else
    setText(node, "review.hours", { hours: n });
}

function renderDeviceReview (enrolment, opts = {}) {
  showReviewHours($("device-review-hours"), enrolment.review_hours);
  showView("device-review", opts);
  startReviewWatch(enrolment.id, deviceHooks);
}

function renderPinOtpState (enrolment, opts = {}) {
  showView("pin");
  renderPinOtp(enrolment.id, opts);
  updateTitle();
}

function renderCredential (enrolment, opts = {}) {
  showView("credential");
  drawCredential(enrolment, opts);
  updateTitle();
}

function renderCompletedState (enrolment, opts = {}) {
  renderCompleted(enrolment);
  showView("completed", opts);
}

function renderIdentityReview (enrolment, opts = {}) {
  showReviewHours($("review-hours"), enrolment.review_hours);
  fillIdentity($("view-review"), enrolment.identity);
  showView("review", opts);
}

function renderRejected (enrolment, opts = {}) {
  const identity = enrolment.identity || {};
  const reasons = Array.isArray(identity.reasons) ? identity.reasons : [];
  // An identity that passed was refused later, at the phone (risk scoring
  // or a reviewer): say so, and do not suggest retyping the form.
  const device = identity.decision === "pass";
  const fixable = !device && (reasons.length === 0 || reasons.some((r) => FIXABLE_REASONS.has(r)));
  fillIdentity($("view-rejected"), device ? null : enrolment.identity);
  $("rejected-device").hidden = !device;
  $("rejected-fixable").hidden = !fixable;
  $("restart-rejected").hidden = !fixable;
  showView("rejected", opts);
}

function renderExpired (enrolment, opts = {}) {
  showView("expired", opts);
}

function renderOther (enrolment, opts = {}) {
  showView("other", opts);
}

// ------------------------------------------------------------ the form

// One submission in flight at a time; the same body keeps the same
// Idempotency-Key until the server has answered it, so a double click or a
// retry after a lost answer cannot create a second enrolment.
let submitting = false;
let pending = null;   // {json, key}
// Typed data that differs from the document is first offered for
// correction (on_mismatch "ask"); once offered, the next submission goes
// as it is, and a person checks what still differs.
let mismatchOffered = false;

function setBusy (busy) {
  const btn = $("submit");
  btn.setAttribute("aria-disabled", String(busy));
  $("applicant-form").setAttribute("aria-busy", String(busy));
  setText($("submit-label"), busy ? "form.sending" : "form.submit");
}

async function onSubmit (ev) {
  ev.preventDefault();
  if (submitting)
    return;
  hideBanner();
  clearFieldErrors();
  const { body, errors } = readForm();
  if (errors.length) {
    showFieldErrors(errors);
    return;
  }
  body.on_mismatch = mismatchOffered ? "review" : "ask";
  const json = JSON.stringify(body);
  if (!pending || pending.json !== json)
    pending = { json, key: newUuid() };
  submitting = true;
  setBusy(true);
  try {
    const r = await api("POST", paths.enrolments, json, pending.key);
    pending = null;
    if (r.replayed) {
      // Our first answer was lost, and with it the session cookie: a
      // replay hands out no session.  Use the cookie if it did arrive,
      // else offer the e-mailed link.
      rememberId(r.data.id);
      loadEnrolment(r.data.id, { focus: true, replayed: true });
    } else {
      renderEnrolment(r.data, { focus: true });
    }
  } catch (e) {
    // An answer that is final for this body frees the key.
    if (e.status >= 400 && e.status < 500 && e.status !== 429)
      pending = null;
    handleError(e, { form: true });
  } finally {
    submitting = false;
    setBusy(false);
  }
}

// ------------------------------------------------------------ errors

// The one place an API failure becomes something the applicant sees.
// ctx: {form} the form was sent; {id} the enrolment concerned;
// {loading} the page was finding an enrolment it remembered.
function handleError (e, ctx = {}) {
  if (!(e instanceof ApiError)) {
    console.error(e);
    showBanner("error.generic", { code: "page" });
    return;
  }
  const id = ctx.id || (current.enrolment && current.enrolment.id) || storedId();
  switch (e.status) {
  case 400: {
    // Every field the server found wrong, each next to its input.
    const named = e.body && Array.isArray(e.body.fields) ? e.body.fields : [e.field];
    const fields = named.map((p) => p && FIELD_BY_PATH.get(p)).filter(Boolean);
    if (ctx.form && fields.length)
      showFieldErrors(fields.map((f) => [f, "err.field." + f.path]));
    else
      showBanner("error.bad_request");
    return;
  }
  case 401:
    showSession(id, { focus: true, replayed: ctx.replayed });
    return;
  case 422:
    if (ctx.form && e.code === "policy_refused" && e.body && e.body.document
        && showMismatch(e.body).length) {
      mismatchOffered = true;
      $("mismatch-note").hidden = false;
      return;
    }
    showBanner(...commonError(e));
    return;
  case 404:
    if (ctx.loading && id)
      showSession(id, { focus: true, replayed: ctx.replayed });
    else
      showBanner("error.not_found");
    return;
  case 409:
    showBanner("error.wrong_state");
    if (id)
      loadEnrolment(id, { keepBanner: true });
    return;
  case 410:
    setStatus(null);
    setProgress(null);
    current.redraw = (o) => renderExpired(null, o);
    renderExpired(null, { focus: true });
    return;
  case 413:
    showBanner("error.body_too_large");
    return;
  case 415:
    showBanner("error.unsupported_media_type");
    return;
  default:
    showBanner(...commonError(e));
  }
}

// ------------------------------------------------------------ session and resume

function storedId () {
  try { return sessionStorage.getItem(STORE_ID); } catch (e) { return null; }
}

function rememberId (id) {
  try { sessionStorage.setItem(STORE_ID, id); } catch (e) { /* private mode */ }
}

function forgetId () {
  try { sessionStorage.removeItem(STORE_ID); } catch (e) { /* private mode */ }
}

// The session is gone but the enrolment may live: offer the e-mailed link.
// opts.linkRefused: we came from a resume link the server refused;
// opts.replayed: the form's answer was a replay, which carries no session.
let sessionId = null;

function showSession (id, opts = {}) {
  sessionId = id;
  const why = opts.linkRefused ? "link" : opts.replayed ? "replayed" : "session";
  setStatus(null);
  setProgress(null);
  setText($("session-heading"), `view.${why}.heading`);
  setText($("session-text"), `view.${why}.text`, { minutes: idleMinutes() });
  $("send-link").hidden = !id;
  $("resume-sent").hidden = true;
  current.redraw = (o) => showView("session", o);
  showView("session", opts);
}

let sendingLink = false;

async function onSendLink () {
  if (sendingLink || !sessionId)
    return;
  sendingLink = true;
  hideBanner();
  const sent = $("resume-sent");
  try {
    await api("POST", paths.resumeLink(sessionId), {});
    setText(sent, "view.session.sent");
    sent.hidden = false;
  } catch (e) {
    sent.hidden = true;
    if (e.status === 401 || e.status === 404)
      showBanner("error.not_found");
    else
      handleError(e, { id: sessionId });
  } finally {
    sendingLink = false;
  }
}

// "#resume=<id>.<token>" from the e-mailed link: trade the token for a new
// session, then drop it from the address bar and the history.
async function resumeFromHash () {
  const raw = location.hash.slice("#resume=".length);
  let value;
  try { value = decodeURIComponent(raw); } catch (e) { value = raw; }
  const dot = value.lastIndexOf(".");
  const id = dot > 0 ? value.slice(0, dot) : null;
  const token = dot > 0 ? value.slice(dot + 1) : "";
  const dropHash = () => history.replaceState(null, "", location.pathname + location.search);
  if (!id || !token) {
    dropHash();
    showSession(null, { linkRefused: true });
    return;
  }
  showView("loading");
  try {
    const r = await api("POST", paths.resume(id), { token });
    dropHash();
    renderEnrolment(r.data, { focus: true });
  } catch (e) {
    // Keep the link for a reload only when it was not judged.
    if (!(e.status === 0 || e.status === 429 || e.status >= 500))
      dropHash();
    if (e.status === 410 && e.code === "enrolment_expired") {
      forgetId();
      handleError(e, { id });
    } else if ([400, 401, 403, 404, 409, 410].includes(e.status)) {
      showSession(id, { linkRefused: true, focus: true });
    } else {
      handleError(e, { id });
      showRetry(() => resumeFromHash());
    }
  }
}

// Asks the server where the remembered enrolment stands (after a reload,
// or when a step moved on).  opts.quiet keeps the current view on screen
// until the answer comes instead of showing "Loading".
async function loadEnrolment (id, opts = {}) {
  if (!opts.keepBanner)
    hideBanner();
  if (!opts.quiet)
    showView("loading");
  try {
    const r = await api("GET", paths.enrolment(id));
    renderEnrolment(r.data, opts);
  } catch (e) {
    if (e.status === 410)
      forgetId();
    handleError(e, { loading: true, id, replayed: opts.replayed });
    if (e.status === 0 || e.status === 429 || e.status >= 500)
      showRetry(() => loadEnrolment(id));
  }
}

// The "Try again" button of the loading view repeats what failed.
let retryAction = null;

function showRetry (again) {
  retryAction = again;
  $("retry").hidden = false;
}

function onRetry () {
  const again = retryAction;
  retryAction = null;
  $("retry").hidden = true;
  if (again)
    again();
}

function restart () {
  mismatchOffered = false;
  $("mismatch-note").hidden = true;
  forgetId();
  forgetPinSet();
  forgetDone();
  pending = null;
  current.enrolment = null;
  current.redraw = (o) => renderForm(null, o);
  hideBanner();
  clearFieldErrors();
  setStatus(null);
  setProgress("identity");
  showView("form", { focus: true });
}

// ------------------------------------------------------------ start

function start () {
  translatePage();
  loadInfo();
  for (const b of document.querySelectorAll("[data-lang]"))
    b.addEventListener("click", () => setLang(b.dataset.lang));
  $("applicant-form").addEventListener("submit", onSubmit);
  $("mrz").addEventListener("input", updateMrzCount);
  $("send-link").addEventListener("click", onSendLink);
  $("retry").addEventListener("click", onRetry);
  $("qr-renew").addEventListener("click", askNewCode);
  $("review-check").addEventListener("click", () => {
    if (current.enrolment)
      loadEnrolment(current.enrolment.id, { quiet: true });
  });
  setupPinOtp({
    id: () => current.enrolment && current.enrolment.id,
    hideBanner,
    error: (e) => handleError(e),
    done: () => loadEnrolment(current.enrolment.id, { focus: true, quiet: true }),
    // A code sent before any PIN (409): ask the server where things stand.
    wrongState: async () => {
      const id = current.enrolment.id;
      try {
        const r = await api("GET", paths.enrolment(id));
        if (r.data && r.data.state === "pin_otp")
          showBanner("error.pin_first");
        renderEnrolment(r.data, { focus: true });
      } catch (e) {
        handleError(e, { id });
      }
    },
  });
  setupCredential({
    id: () => current.enrolment && current.enrolment.id,
    hideBanner,
    error: (e) => handleError(e),
    done: () => loadEnrolment(current.enrolment.id, { focus: true, quiet: true }),
  });
  for (const b of document.querySelectorAll("[data-action=restart]"))
    b.addEventListener("click", restart);
  // A resume link opened while the page is already open changes only the
  // hash: no reload, so listen for it.
  window.addEventListener("hashchange", () => {
    if (location.hash.startsWith("#resume="))
      resumeFromHash();
  });

  if (location.hash.startsWith("#resume=")) {
    resumeFromHash();
    return;
  }
  const id = storedId();
  if (id) {
    loadEnrolment(id);
    return;
  }
  current.redraw = (o) => renderForm(null, o);
  setProgress("identity");
  showView("form");
}

start();
