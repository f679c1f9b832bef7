// SPDX-License-Identifier: AGPL-3.0-or-later
//
// assist.js -- #/assist: an advisor follows an applicant who asked for
// help.  Enter the code the applicant reads out, then see the enrolment as
// far as the applicant allowed, live, send short hints, and end the
// session.  When the applicant stops, or the enrolment ends, the page says
// the session ended and why.
//
// The view is long-polled (GET /v1/admin/assist/{id}?wait=25&since=…): the
// server holds the answer until something changes (PostgreSQL NOTIFY),
// so a step the applicant takes shows within a second.  The session id is
// kept in this tab's sessionStorage so a reload follows on; it is useless
// to anyone else (the server binds it to the advisor who joined).  The
// section is built here so index.html only links to it; every text goes
// in with textContent.

import { api, ApiError } from "./api.js";
import { en, fr } from "./assist_i18n.js";
import { $, announce, clearFieldErrors, current, handleError, hideBanner, setBusy,
         setFieldError, showView } from "./frame.js";
import { MESSAGES } from "./i18n.js";
import { clearText, el, formatTime, raw, setText, t } from "./text.js";
import { fillFacts, fillReasons, stateLabel } from "./widgets.js";

Object.assign(MESSAGES.en, en);
Object.assign(MESSAGES.fr, fr);

const STORE = "guichet.backoffice.assist";
const WAIT_S = 25;
const SCOPES = ["progress", "identity", "device"];
const DECLARED = ["given_names", "surname", "birth_date", "nationality", "residence_country",
                  "email", "phone"];

const paths = {
  join: "/v1/admin/assist",
  session: (id) => `/v1/admin/assist/${encodeURIComponent(id)}`,
  hints: (id) => `/v1/admin/assist/${encodeURIComponent(id)}/hints`,
};

const my = {
  aid: null,          // the session followed
  view: null,         // its last view
  ended: null,        // why it ended, once it has
  loop: 0,            // bumped to stop a long poll
  busy: false,
  lastSeen: null,     // when the view was last confirmed (ms)
  trouble: false,     // the last poll failed
};

function stored () {
  try { return sessionStorage.getItem(STORE); } catch (e) { return null; }
}

function store (aid) {
  try {
    if (aid)
      sessionStorage.setItem(STORE, aid);
    else
      sessionStorage.removeItem(STORE);
  } catch (e) { /* private mode: this page only */ }
}

// ------------------------------------------------------------ the section

function field (id, labelKey, hintKey, input) {
  const box = el("div", "field");
  const label = el("label", null, labelKey);
  label.htmlFor = id;
  input.id = id;
  input.dataset.testid = id;
  const hint = el("p", "hint", hintKey);
  hint.id = `${id}-hint`;
  const err = el("p", "field-error");
  err.id = `${id}-error`;
  input.setAttribute("aria-describedby", `${hint.id} ${err.id}`);
  box.append(label, hint, input, err);
  return box;
}

function button (id, cls, key, type = "button") {
  const b = el("button", `btn ${cls}`);
  b.type = type;
  b.id = id;
  b.dataset.testid = id;
  const label = el("span", null, key);
  label.id = `${id}-label`;
  b.append(label);
  return b;
}

function part (id, headingKey, ...children) {
  const s = el("section", "part");
  s.id = id;
  s.dataset.testid = id;
  const h = el("h2", null, headingKey);
  h.id = `${id}-heading`;
  s.setAttribute("aria-labelledby", h.id);
  s.append(h, ...children);
  return s;
}

function facts (id) {
  const dl = el("dl", "facts facts--compact");
  dl.id = id;
  dl.dataset.testid = id;
  return dl;
}

function build () {
  const sec = el("section", "card");
  sec.id = "view-assist";
  sec.dataset.view = "assist";
  sec.dataset.testid = "view-assist";
  sec.hidden = true;
  const h1 = el("h1", null, "assist.heading");
  h1.id = "assist-heading";
  h1.tabIndex = -1;
  sec.setAttribute("aria-labelledby", h1.id);

  const join = el("form", "assist-join");
  join.id = "assist-join-form";
  join.noValidate = true;
  const codeInput = document.createElement("input");
  Object.assign(codeInput, { type: "text", inputMode: "numeric", autocomplete: "off",
                             maxLength: 7, spellcheck: false, className: "input--short" });
  join.append(el("p", "note", "assist.intro"),
              field("assist-code-input", "assist.code", "assist.code_hint", codeInput),
              Object.assign(el("div", "actions"), {}));
  join.lastChild.append(button("assist-join", "btn--primary", "assist.join", "submit"));

  const live = el("div", "assist-live");
  live.id = "assist-live";
  live.dataset.testid = "assist-live";
  live.hidden = true;
  const title = raw("h2", "assist-live__title", "");
  title.id = "assist-following";
  const scopes = el("p", "note");
  scopes.id = "assist-scopes";
  const status = el("p", "summary-line");
  status.id = "assist-status";
  status.dataset.testid = "assist-status";
  status.setAttribute("role", "status");
  const ended = el("p", "banner banner--info");
  ended.id = "assist-ended";
  ended.dataset.testid = "assist-ended";
  ended.setAttribute("role", "alert");
  ended.hidden = true;
  const again = button("assist-again", "btn--secondary", "assist.again");
  again.hidden = true;
  const head = el("div", "card__head");
  head.append(title, button("assist-leave", "btn--secondary btn--small", "assist.leave"));

  const hintList = el("ul", "assist-hints");
  hintList.id = "assist-hints-sent";
  hintList.dataset.testid = "assist-hints-sent";
  const noHints = el("p", "note", "assist.no_hints");
  noHints.id = "assist-no-hints";
  const hintForm = el("form", "assist-hint-form");
  hintForm.id = "assist-hint-form";
  hintForm.noValidate = true;
  const text = document.createElement("textarea");
  Object.assign(text, { rows: 2, maxLength: 280, spellcheck: true });
  hintForm.append(field("assist-hint-text", "assist.hint", "assist.hint_hint", text),
                  el("div", "actions"));
  hintForm.lastChild.append(button("assist-hint-send", "btn--primary", "assist.send", "submit"));

  const noDevice = el("p", "note", "assist.no_device");
  noDevice.id = "assist-no-device";
  const reasonsI = el("ul", "reasons");
  reasonsI.id = "assist-identity-reasons";
  const reasonsD = el("ul", "reasons");
  reasonsD.id = "assist-device-reasons";
  live.append(head, scopes, status, ended, again,
              part("assist-progress", "assist.progress", facts("assist-progress-facts")),
              part("assist-identity", "assist.identity", facts("assist-identity-facts"), reasonsI),
              part("assist-device", "assist.device", facts("assist-device-facts"), noDevice,
                   reasonsD),
              part("assist-hints", "assist.hints", hintList, noHints, hintForm));

  sec.append(h1, join, live);
  const before = $("view-notfound");
  if (before)
    before.before(sec);
  else
    $("main").append(sec);

  join.addEventListener("submit", onJoin);
  hintForm.addEventListener("submit", onHint);
  $("assist-leave").addEventListener("click", onLeave);
  again.addEventListener("click", reset);
}

// ------------------------------------------------------------ drawing

function draw () {
  const following = Boolean(my.aid);
  $("assist-join-form").hidden = following;
  $("assist-live").hidden = !following;
  if (!following)
    return;
  const v = my.view;
  setText($("assist-following"), "assist.following",
          { id: v ? v.enrolment_id : "…" });
  if (v) {
    const words = (v.scopes || []).filter((s) => SCOPES.includes(s))
      .map((s) => t(`assist.scope.${s}`)).join(", ");
    setText($("assist-scopes"), "assist.scopes", { scopes: words });
    drawProgress(v.progress || {});
    drawIdentity(v.identity);
    drawDevice(v);
    drawHints(v.hints || []);
  }
  const status = $("assist-status");
  if (my.ended)
    clearText(status);
  else if (my.trouble)
    setText(status, "assist.reconnecting");
  else if (my.lastSeen)
    setText(status, "assist.updated", { time: formatTime(new Date(my.lastSeen).toISOString()) });
  const ended = $("assist-ended");
  ended.hidden = !my.ended;
  if (my.ended) {
    const key = `assist.ended.${my.ended}`;
    setText(ended, "assist.ended", { why: t(MESSAGES.en[key] ? key : "assist.ended.other") });
  }
  $("assist-again").hidden = !my.ended;
  $("assist-leave").hidden = Boolean(my.ended);
  $("assist-hint-form").hidden = Boolean(my.ended);
}

function drawProgress (p) {
  const state = stateLabel(p.state);
  state.dataset.testid = "assist-state";
  const pairs = [["assist.field.state", state],
                 ["assist.field.next", p.next ? t(`assist.next.${p.next}`) : undefined],
                 ["assist.field.expires_at", formatTime(p.expires_at) || p.expires_at],
                 ["assist.field.updated_at", formatTime(p.updated_at) || p.updated_at]];
  if (p.qr) {
    const q = raw("span", null, t(`assist.qr.${p.qr.status}`,
                                  { time: formatTime(p.qr.expires_at) || "" }));
    q.dataset.testid = "assist-qr";
    q.dataset.status = p.qr.status;
    pairs.push(["assist.field.qr", q]);
  }
  if (typeof p.pin_set === "boolean")
    pairs.push(["assist.field.pin_set", p.pin_set]);
  pairs.push(["assist.field.otp_failures", p.otp_failures]);
  fillFacts($("assist-progress-facts"), pairs);
}

function drawIdentity (idn) {
  $("assist-identity").hidden = !idn;
  if (!idn)
    return;
  const d = idn.declared || {};
  fillFacts($("assist-identity-facts"),
            [...DECLARED.map((k) => [`assist.field.${k}`, d[k]]),
             ["assist.field.decision", idn.decision]]);
  fillReasons($("assist-identity-reasons"), idn.reasons, false);
}

function drawDevice (v) {
  $("assist-device").hidden = !("device" in v);
  const d = v.device;
  $("assist-no-device").hidden = Boolean(d);
  $("assist-device-facts").hidden = !d;
  $("assist-device-reasons").hidden = !d;
  if (!d)
    return;
  fillFacts($("assist-device-facts"),
            [["assist.field.status", stateLabel(d.status)], ["assist.field.platform", d.platform],
             ["assist.field.model", d.model],
             ["assist.field.risk", d.risk ? d.risk.decision : undefined]]);
  fillReasons($("assist-device-reasons"), d.risk ? d.risk.reasons : [], false);
}

function drawHints (hints) {
  const ul = $("assist-hints-sent");
  ul.replaceChildren(...hints.map((h) => {
    const li = document.createElement("li");
    li.dataset.testid = "assist-hint-sent";
    li.append(raw("span", "assist-hints__at", formatTime(h.at) || h.at), " ",
              raw("span", "assist-hints__text", h.text));
    return li;
  }));
  $("assist-no-hints").hidden = hints.length > 0;
}

// ------------------------------------------------------------ following

function endedWith (reason) {
  my.loop++;
  my.ended = reason || "other";
  store(null);
  draw();
  announce("assist.ended", { why: t(`assist.ended.${my.ended}`) });
}

// Long-polls the view until the session ends or the page leaves #/assist.
async function follow () {
  const loop = ++my.loop;
  const aid = my.aid;
  let since = null;
  let pause = 1000;
  while (loop === my.loop && current.view === "assist") {
    try {
      const q = since ? `?wait=${WAIT_S}&since=${encodeURIComponent(since)}` : "";
      const v = await api("GET", paths.session(aid) + q);
      if (loop !== my.loop)
        return;
      my.view = v;
      my.lastSeen = Date.now();
      my.trouble = false;
      since = v && v.version;
      pause = 1000;
      draw();
    } catch (e) {
      if (loop !== my.loop)
        return;
      if (e instanceof ApiError && e.status === 410) {
        endedWith(e.body && e.body.reason);
        return;
      }
      if (e instanceof ApiError && [401, 403, 404].includes(e.status)) {
        my.loop++;
        if (e.status === 404)
          reset();
        handleError(e);
        return;
      }
      my.trouble = true;      // network, 5xx: the session may well live on
      draw();
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 10000);
    }
  }
}

function reset () {
  my.loop++;
  Object.assign(my, { aid: null, view: null, ended: null, lastSeen: null, trouble: false });
  store(null);
  const input = $("assist-code-input");
  input.value = "";
  clearFieldErrors($("assist-join-form"));
  draw();
  input.focus();
}

async function onJoin (ev) {
  ev.preventDefault();
  if (my.busy)
    return;
  const form = $("assist-join-form");
  hideBanner();
  clearFieldErrors(form);
  const code = $("assist-code-input").value.replace(/[\s-]/g, "");
  if (!/^\d{6}$/.test(code)) {
    setFieldError("assist-code-input", "assist.err.code_format");
    $("assist-code-input").focus();
    return;
  }
  my.busy = true;
  setBusy($("assist-join"), $("assist-join-label"), true, "assist.join", "assist.joining");
  try {
    const j = await api("POST", paths.join, { code });
    $("assist-code-input").value = "";
    Object.assign(my, { aid: j.assist_id, view: null, ended: null, trouble: false });
    store(j.assist_id);
    draw();
    $("assist-following").tabIndex = -1;
    $("assist-following").focus();
    follow();
  } catch (e) {
    if (e instanceof ApiError && e.status === 404)
      setFieldError("assist-code-input", "assist.err.code_unknown");
    else if (e instanceof ApiError && e.status === 400)
      setFieldError("assist-code-input", "assist.err.code_format");
    else if (e instanceof ApiError && e.status === 429)
      setFieldError("assist-code-input", "assist.err.rate_limited",
                    { s: parseInt(e.retryAfter, 10) || 60 });
    else
      handleError(e);
  } finally {
    my.busy = false;
    setBusy($("assist-join"), $("assist-join-label"), false, "assist.join", "assist.joining");
  }
}

async function onHint (ev) {
  ev.preventDefault();
  if (my.busy || !my.aid)
    return;
  const form = $("assist-hint-form");
  const text = $("assist-hint-text").value;
  clearFieldErrors(form);
  if (!text.trim()) {
    setFieldError("assist-hint-text", "assist.err.hint_text");
    return;
  }
  my.busy = true;
  setBusy($("assist-hint-send"), $("assist-hint-send-label"), true, "assist.send", "assist.send");
  try {
    await api("POST", paths.hints(my.aid), { text });
    $("assist-hint-text").value = "";
    announce("assist.sent");
  } catch (e) {
    if (e instanceof ApiError && e.status === 410)
      endedWith(e.body && e.body.reason);
    else if (e instanceof ApiError && e.status === 400)
      setFieldError("assist-hint-text", "assist.err.hint_text");
    else if (e instanceof ApiError && e.status === 422)
      setFieldError("assist-hint-text", "assist.err.too_many_hints");
    else
      handleError(e);
  } finally {
    my.busy = false;
    setBusy($("assist-hint-send"), $("assist-hint-send-label"), false, "assist.send",
            "assist.send");
  }
}

async function onLeave () {
  if (!my.aid || my.ended)
    return;
  try {
    await api("DELETE", paths.session(my.aid));
    endedWith("advisor");
  } catch (e) {
    if (e instanceof ApiError && e.status === 410)
      endedWith(e.body && e.body.reason);
    else
      handleError(e);
  }
}

// ------------------------------------------------------------ the route

export function showAssist (opts = {}) {
  if (!my.aid && stored())
    my.aid = stored();
  showView("assist", opts);
  current.redraw = draw;
  draw();
  if (my.aid && !my.ended)
    follow();
  else if (!my.aid && opts.focus !== false)
    $("assist-code-input").focus();
}

export function initAssist () {
  build();
}
