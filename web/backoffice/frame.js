// SPDX-License-Identifier: AGPL-3.0-or-later
//
// frame.js -- what every view of the back-office shares: showing one
// section, the error banner, the status notice, the screen-reader live
// region, errors next to fields, and turning an API failure into words.
//
// The views (login.js, queue.js, review.js, audit.js) import this; app.js
// owns the session and tells this file what to do when it is lost.

import { commonError } from "/common/errors.js";
import { ApiError } from "./api.js";
import { clearText, setText, t } from "./text.js";

export const $ = (id) => document.getElementById(id);

// What the page shows now, so a language switch can redraw it and a late
// answer for a view already left is dropped.
export const current = {
  view: null,     // data-view name of the visible section
  redraw: null,   // function() that draws the current view again
  seq: 0,         // bumped at each navigation; a view checks it after awaiting
};

export function updateTitle () {
  const h = current.view && document.querySelector(`[data-view="${current.view}"] h1`);
  const what = h && h.textContent.trim() ? h.textContent.trim() : t("app.brand");
  document.title = t("app.doc_title", { what });
}

// Shows one section.  opts.focus moves keyboard and screen-reader focus to
// its heading (after a navigation; not on first load).
export function showView (name, opts = {}) {
  for (const s of document.querySelectorAll("[data-view]"))
    s.hidden = s.dataset.view !== name;
  current.view = name;
  updateTitle();
  if (opts.focus) {
    const h = document.querySelector(`[data-view="${name}"] h1`);
    if (h)
      h.focus();
  }
}

export function showBanner (key, params) {
  const b = $("banner");
  setText(b, key, params);
  b.hidden = false;
}

export function hideBanner () {
  const b = $("banner");
  clearText(b);
  b.hidden = true;
}

// A visible confirmation (role=status).  opts.focus takes focus there so a
// screen reader reads it at once after the page changed under the user.
export function showNotice (key, params, opts = {}) {
  const n = $("notice");
  setText(n, key, params);
  n.hidden = false;
  if (opts.focus)
    n.focus();
}

export function hideNotice () {
  const n = $("notice");
  clearText(n);
  n.hidden = true;
}

// Says something to screen readers only ("12 reviews shown").
export function announce (key, params) {
  const live = $("live");
  // Cleared first so the same words said twice are announced twice.
  live.textContent = "";
  setTimeout(() => setText(live, key, params), 50);
}

// ------------------------------------------------------------ field errors

// The message sits in <p id="<input id>-error"> right under the input, which
// already names it in aria-describedby.
export function setFieldError (inputId, key, params) {
  const input = $(inputId);
  const msg = $(inputId + "-error");
  if (msg)
    setText(msg, key, params);
  if (input) {
    if (input.tagName === "FIELDSET") {
      input.classList.add("field--error");
    } else {
      input.setAttribute("aria-invalid", "true");
      const field = input.closest(".field");
      if (field)
        field.classList.add("field--error");
    }
  }
}

export function clearFieldErrors (form) {
  for (const msg of form.querySelectorAll(".field-error"))
    clearText(msg);
  for (const input of form.querySelectorAll("[aria-invalid]"))
    input.removeAttribute("aria-invalid");
  for (const f of form.querySelectorAll(".field--error"))
    f.classList.remove("field--error");
  form.classList.remove("field--error");
}

// Marks a submit button busy (aria-disabled keeps it focusable, unlike
// disabled, so keyboard users do not lose their place).
export function setBusy (button, labelNode, busy, idleKey, busyKey) {
  button.setAttribute("aria-disabled", String(busy));
  const form = button.closest("form");
  if (form)
    form.setAttribute("aria-busy", String(busy));
  setText(labelNode, busy ? busyKey : idleKey);
}

// ------------------------------------------------------------ errors

let sessionLostHook = () => {};

export function onSessionLost (fn) {
  sessionLostHook = fn;
}

// The one place an API failure becomes words.  401 means the admin
// session is gone (15 minutes idle, signed out elsewhere): app.js shows the
// login page with "your session expired".  A 403 about the CSRF token means
// this tab cannot act for the session any more: the same.
export function handleError (e) {
  if (!(e instanceof ApiError)) {
    console.error(e);
    showBanner("error.generic", { code: "page" });
    return;
  }
  switch (e.status) {
  case 400:
    showBanner("error.bad_request");
    return;
  case 401:
    sessionLostHook();
    return;
  case 403:
    if (/csrf/i.test(e.code))
      sessionLostHook();
    else
      showBanner("error.forbidden");
    return;
  case 404:
    showBanner("error.not_found");
    return;
  case 409:
    showBanner("error.conflict");
    return;
  case 423:
    showBanner("error.locked");
    return;
  default:
    showBanner(...commonError(e));
  }
}
