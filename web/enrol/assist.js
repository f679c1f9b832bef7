// SPDX-License-Identifier: AGPL-3.0-or-later
//
// assist.js -- "Get help from an advisor" on the enrolment page: the
// consent (what the advisor may see, in plain words), the one-time code in
// large digits, then while an advisor follows a banner with their name and
// a Stop button, and their hints beside the step they concern.
//
// A module of its own, loaded by index.html after app.js: it follows the
// page through the status box app.js keeps up to date (#status: the
// enrolment id and data-state), and talks to the server through api.js.
// While a code waits or an advisor follows it asks GET /v1/enrolments/{id}
// every few seconds, whose "assist" member says who follows and carries
// the hints; otherwise it asks nothing.  The code is shown once and kept
// only in this page's memory.  Hints are a person's words: they go in with
// textContent, never as markup, under a reminder of what an advisor never
// asks for.

import { api, ApiError, paths } from "./api.js";
import { en, fr } from "./assist_i18n.js";
import { MESSAGES } from "./i18n.js";
import { clearText, el, getLang, raw, setText, t } from "./text.js";

Object.assign(MESSAGES.en, en);
Object.assign(MESSAGES.fr, fr);

const POLL_MS = 2000;
const SCOPES = ["progress", "identity", "device"];
// The enrolment states help can be asked in (the server says the same).
const OPEN_STATES = new Set(["identity_review", "device", "device_review", "pin_otp",
                             "credential"]);
// Where each step's hints go: the section that shows that state.
const SECTION_OF_STEP = {
  identity_review: "view-review", device: "view-device", device_review: "view-device-review",
  pin_otp: "view-pin", credential: "view-credential",
};

const $ = (id) => document.getElementById(id);
const assistPath = (id) => `${paths.enrolment(id)}/assist`;

const my = {
  id: null,            // the enrolment the page shows
  state: null,         // its state
  mode: "idle",        // idle | consent | code | following | ended | expired
  expiresAt: 0,        // the code's expiry, on the server's clock (ms)
  skew: 0,             // server clock - our clock (ms)
  advisor: null,       // the "assist" member while someone follows
  timer: null,
  busy: false,
};

// ------------------------------------------------------------ the panel

function button (id, cls, key) {
  const b = el("button", `btn ${cls}`);
  b.type = "button";
  b.id = id;
  b.dataset.testid = id;
  b.append(el("span", null, key));
  return b;
}

function build () {
  const box = el("aside", "assist card");
  box.id = "assist";
  box.dataset.testid = "assist";
  box.setAttribute("aria-labelledby", "assist-heading");
  box.hidden = true;

  const start = el("div", "assist__start");
  start.id = "assist-start";
  start.append(el("p", "hint", "assist.open_hint"),
               button("assist-open", "btn--secondary", "assist.open"));

  const consent = el("form", "assist__consent");
  consent.id = "assist-consent";
  consent.dataset.testid = "assist-consent";
  consent.noValidate = true;
  consent.hidden = true;
  const heading = el("h2", null, "assist.consent.heading");
  heading.id = "assist-heading";
  heading.tabIndex = -1;
  const fs = el("fieldset");
  fs.append(el("legend", null, "assist.consent.legend"));
  for (const s of SCOPES) {
    const row = el("div", "choice assist__scope");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.id = `assist-scope-${s}`;
    box.dataset.testid = box.id;
    box.value = s;
    box.setAttribute("aria-describedby", `${box.id}-hint`);
    if (s === "progress") {
      box.checked = true;
      box.disabled = true;
    }
    const label = el("label", null, `assist.scope.${s}`);
    label.htmlFor = box.id;
    const hint = el("p", "hint", `assist.scope.${s}_hint`);
    hint.id = `${box.id}-hint`;
    row.append(box, label, hint);
    fs.append(row);
  }
  const actions = el("div", "actions");
  const request = button("assist-request", "btn--primary", "assist.request");
  request.type = "submit";
  actions.append(request, button("assist-cancel-consent", "btn--secondary", "assist.cancel"));
  consent.append(heading, el("p", null, "assist.consent.intro"), fs,
                 el("p", "note", "assist.never"), actions);

  const code = el("div", "assist__code-panel");
  code.id = "assist-code-panel";
  code.dataset.testid = "assist-code-panel";
  code.hidden = true;
  const codeHeading = el("h2", null, "assist.code.heading");
  codeHeading.id = "assist-code-heading";
  codeHeading.tabIndex = -1;
  const digits = raw("p", "assist__code", "");
  digits.id = "assist-code";
  digits.dataset.testid = "assist-code";
  const valid = el("p", "hint");
  valid.id = "assist-code-valid";
  const waiting = el("p", "live-status", "assist.code.waiting");
  waiting.setAttribute("role", "status");
  const codeActions = el("div", "actions");
  codeActions.append(button("assist-cancel-code", "btn--secondary", "assist.cancel"));
  code.append(codeHeading, el("p", null, "assist.code.text"), digits, valid, waiting,
              el("p", "note", "assist.never"), codeActions);

  const following = el("div", "assist__following banner banner--info");
  following.id = "assist-banner";
  following.dataset.testid = "assist-banner";
  following.hidden = true;
  const who = el("p", "assist__who");
  who.id = "assist-who";
  who.dataset.testid = "assist-who";
  who.setAttribute("role", "status");
  const sees = el("p", "assist__sees");
  sees.id = "assist-sees";
  following.append(who, sees, el("p", "note", "assist.hints.warning"),
                   button("assist-stop", "btn--primary", "assist.stop"));

  const note = el("p", "assist__note");
  note.id = "assist-note";
  note.dataset.testid = "assist-note";
  note.setAttribute("role", "status");
  note.tabIndex = -1;
  note.hidden = true;

  const error = el("p", "banner banner--error");
  error.id = "assist-error";
  error.dataset.testid = "assist-error";
  error.setAttribute("role", "alert");
  error.hidden = true;

  box.append(following, note, error, start, consent, code);
  ($("status") || $("banner")).after(box);

  $("assist-open").addEventListener("click", openConsent);
  consent.addEventListener("submit", (ev) => { ev.preventDefault(); requestCode(); });
  $("assist-cancel-consent").addEventListener("click", () => setMode("idle", { focus: "assist-open" }));
  $("assist-cancel-code").addEventListener("click", () => stop("idle"));
  $("assist-stop").addEventListener("click", () => stop("ended"));
}

// ------------------------------------------------------------ drawing

function showError (e) {
  const box = $("assist-error");
  if (!e) {
    clearText(box);
    box.hidden = true;
    return;
  }
  setText(box, "assist.error", { code: e instanceof ApiError ? e.code : "page" });
  box.hidden = false;
}

function setMode (mode, opts = {}) {
  my.mode = mode;
  draw();
  if (opts.focus && $(opts.focus))
    $(opts.focus).focus();
}

function draw () {
  const open = Boolean(my.id) && OPEN_STATES.has(my.state);
  const followed = my.mode === "following" && my.advisor;
  $("assist").hidden = !open && !followed && my.mode !== "ended";
  $("assist-start").hidden = !open || !["idle", "ended", "expired"].includes(my.mode);
  $("assist-consent").hidden = my.mode !== "consent";
  $("assist-code-panel").hidden = my.mode !== "code";
  $("assist-banner").hidden = !followed;
  if (followed) {
    setText($("assist-who"), "assist.following", { name: my.advisor.advisor });
    const words = (my.advisor.scopes || []).filter((s) => SCOPES.includes(s))
      .map((s) => t(`assist.scope_word.${s}`)).join(", ");
    setText($("assist-sees"), "assist.following_scopes", { scopes: words });
  }
  const note = $("assist-note");
  if (my.mode === "ended" || my.mode === "expired") {
    setText(note, my.mode === "ended" ? "assist.ended" : "assist.code.expired");
    note.hidden = false;
  } else {
    clearText(note);
    note.hidden = true;
  }
  drawHints(my.advisor ? my.advisor.hints : null);
}

// One list of hints per step, first in that step's section.
function drawHints (hints) {
  if (!hints)
    return;              // no session (any more): the last hints stay
  const byStep = new Map();
  for (const h of hints) {
    if (!h || typeof h.text !== "string" || !SECTION_OF_STEP[h.step])
      continue;
    if (!byStep.has(h.step))
      byStep.set(h.step, []);
    byStep.get(h.step).push(h);
  }
  for (const [step, sectionId] of Object.entries(SECTION_OF_STEP)) {
    const section = $(sectionId);
    let aside = section && section.querySelector(":scope > .assist-hints");
    const list = byStep.get(step);
    if (!list) {
      if (aside)
        aside.remove();
      continue;
    }
    if (!aside) {
      aside = el("aside", "assist-hints");
      aside.dataset.testid = `assist-hints-${step}`;
      aside.setAttribute("aria-live", "polite");
      aside.append(el("h3", null, "assist.hints.heading"), el("ul", "assist-hints__list"),
                   el("p", "note", "assist.hints.warning"));
      section.prepend(aside);
    }
    const ul = aside.querySelector("ul");
    ul.replaceChildren(...list.map((h) => {
      const li = raw("li", "assist-hints__item", h.text);
      li.dataset.testid = "assist-hint";
      return li;
    }));
  }
}

function timeText (ms) {
  return new Intl.DateTimeFormat(getLang() === "fr" ? "fr-FR" : "en-GB",
                                 { timeStyle: "short" }).format(new Date(ms - my.skew));
}

function showCode (code, expiresAt) {
  const digits = $("assist-code");
  digits.textContent = `${code.slice(0, 3)} ${code.slice(3)}`;
  digits.setAttribute("aria-label", t("assist.code.label", { spelled: code.split("").join(" ") }));
  my.expiresAt = Date.parse(expiresAt) || 0;
  setText($("assist-code-valid"), "assist.code.valid", { time: timeText(my.expiresAt) });
}

function forgetCode () {
  const digits = $("assist-code");
  digits.textContent = "";
  digits.removeAttribute("aria-label");
}

// ------------------------------------------------------------ actions

function openConsent () {
  showError(null);
  for (const s of SCOPES)
    if (s !== "progress")
      $(`assist-scope-${s}`).checked = false;
  setMode("consent", { focus: "assist-heading" });
}

async function requestCode () {
  if (my.busy || !my.id)
    return;
  const scopes = SCOPES.filter((s) => $(`assist-scope-${s}`).checked);
  my.busy = true;
  showError(null);
  try {
    const r = await api("POST", assistPath(my.id), { scopes });
    if (Number.isFinite(r.date))
      my.skew = r.date - Date.now();
    my.advisor = null;
    showCode(r.data.code, r.data.expires_at);
    setMode("code", { focus: "assist-code-heading" });
    schedule();
  } catch (e) {
    failed(e);
  } finally {
    my.busy = false;
  }
}

// Stop (an advisor follows) or Cancel (a code waits): both end it at once.
async function stop (next) {
  if (!my.id)
    return;
  try {
    await api("DELETE", assistPath(my.id));
  } catch (e) {
    failed(e);
    return;
  }
  forgetCode();
  my.advisor = null;
  unschedule();
  setMode(next, { focus: next === "ended" ? "assist-note" : "assist-open" });
}

function failed (e) {
  // The session or the enrolment is gone: app.js says so on its next call.
  if (e instanceof ApiError && [401, 404, 410].includes(e.status)) {
    unschedule();
    my.mode = "idle";
    draw();
    return;
  }
  showError(e);
}

// ------------------------------------------------------------ watching

function unschedule () {
  clearTimeout(my.timer);
  my.timer = null;
}

function schedule () {
  unschedule();
  if (my.mode === "code" || my.mode === "following")
    my.timer = setTimeout(poll, POLL_MS);
}

// Where does help stand?  The enrolment's "assist" member says who follows.
async function poll () {
  my.timer = null;
  const id = my.id;
  if (!id)
    return;
  let data;
  try {
    data = (await api("GET", paths.enrolment(id))).data;
  } catch (e) {
    if (id === my.id)
      failed(e);
    return;
  }
  if (id !== my.id)
    return;
  learn(data);
  schedule();
}

function learn (enrolment) {
  const assist = enrolment && enrolment.assist;
  if (assist && typeof assist.advisor === "string") {
    if (my.mode !== "following")
      forgetCode();
    my.advisor = assist;
    my.mode = "following";
  } else if (my.mode === "following") {
    my.advisor = null;
    my.mode = "ended";
  } else if (my.mode === "code" && Date.now() + my.skew > my.expiresAt) {
    forgetCode();
    my.mode = "expired";
  }
  draw();
}

// After a reload, or another enrolment: is someone following already?
async function probe (id) {
  let data;
  try {
    data = (await api("GET", paths.enrolment(id))).data;
  } catch (e) {
    return;                  // app.js deals with a lost session
  }
  if (id !== my.id || my.mode !== "idle" || !data || !data.assist)
    return;
  learn(data);
  schedule();
}

// app.js keeps #status up to date: the enrolment id and its state.
function followStatus () {
  const box = $("status");
  const id = box && !box.hidden ? ($("status-id").textContent || "").trim() || null : null;
  const state = id ? box.dataset.state || null : null;
  if (id !== my.id) {
    unschedule();
    forgetCode();
    showError(null);
    Object.assign(my, { id, state, mode: "idle", advisor: null });
    draw();
    if (id && OPEN_STATES.has(state))
      probe(id);
    return;
  }
  if (state !== my.state) {
    my.state = state;
    draw();
  }
}

function start () {
  build();
  const box = $("status");
  if (box) {
    new MutationObserver(followStatus).observe(box, {
      attributes: true, attributeFilter: ["hidden", "data-state"],
      subtree: true, childList: true, characterData: true,
    });
  }
  followStatus();
}

start();
