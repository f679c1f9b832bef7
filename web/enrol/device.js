// SPDX-License-Identifier: AGPL-3.0-or-later
//
// device.js -- the device step (state "device") and the wait for a
// reviewer (state "device_review").
//
// State "device": ask for a QR challenge, show its SVG and a countdown to
// expires_at, and long-poll GET .../device-challenge?wait=N until the phone
// registers.  The server holds that request while the status is "pending"
// and answers as soon as it changes; an expired code is replaced by a new
// one without anyone asking (AUTO_RENEWALS times in a row; then the page
// waits for "Show a new code", so a forgotten tab does not keep a session
// and fresh codes alive for ever).  "registered", "pending_review" and
// "denied" mean the enrolment moved on: hooks.moved() lets app.js ask the
// server where it stands and draw that.
//
// State "device_review": the server answers at once while the status is
// "pending_review", so the page asks again every REVIEW_EVERY_MS (more
// slowly after a while, and not at all after REVIEW_WATCH_MS) and moves on
// by itself when a reviewer decides.
//
// One watch runs at a time (one enrolment, one kind); stopWatching() ends
// it and cancels its request, and app.js calls it whenever another view is
// shown.  The countdown is computed from the server's own clock (the Date
// header of the challenge answer), so a wrong clock on the computer does
// not show a wrong time.  The QR's payload carries the one-time activation
// secret: it goes only into the image and the same-phone link, never into a
// log or storage.

import { api, paths } from "./api.js";
import { clearText, setText } from "./text.js";

const $ = (id) => document.getElementById(id);

const MAX_WAIT_S = 25;                 // the longest hold the server grants
const AUTO_RENEWALS = 3;               // new codes in a row nobody asked for
const REVIEW_EVERY_MS = 3000;          // first REVIEW_FAST_MS of a review wait
const REVIEW_SLOW_MS = 20000;          // after that
const REVIEW_FAST_MS = 2 * 60 * 1000;
const REVIEW_WATCH_MS = 30 * 60 * 1000;
const SAFETY_MS = 1000;                // Date has a 1 s resolution
const MIN_ROUND_MS = 1000;             // never ask twice within a second

let watch = null;

// ------------------------------------------------------------ the watch

// Ends the running watch, if any, and cancels its request in flight.
export function stopWatching () {
  const w = watch;
  if (!w)
    return;
  finish(w);
  w.abort.abort();
  w.wake();
}

function running (id, kind) {
  return watch !== null && watch.id === id && watch.kind === kind;
}

function newWatch (id, kind, hooks) {
  stopWatching();
  const w = {
    id, kind, hooks,
    stopped: false,
    abort: new AbortController(),
    ticker: null,
    wakeUp: null,
    asked: false,          // "Show a new code" was pressed
    challenge: null,       // {id, deadline (local ms), svg, payload}
  };
  // wake() ends a pause() early (stop, or a button).
  w.wake = () => {
    const f = w.wakeUp;
    w.wakeUp = null;
    if (f)
      f();
  };
  watch = w;
  return w;
}

// Waits ms (Infinity: until wake()).
function pause (w, ms) {
  if (w.stopped || ms <= 0)
    return Promise.resolve();
  return new Promise((resolve) => {
    const timer = ms === Infinity ? null : setTimeout(() => { w.wakeUp = null; resolve(); }, ms);
    w.wakeUp = () => { clearTimeout(timer); resolve(); };
  });
}

// The watch ends by itself (the enrolment moved on, or an error for
// app.js): drop it so that drawing the same state again starts afresh.
function finish (w) {
  clearInterval(w.ticker);
  w.ticker = null;
  w.stopped = true;
  if (watch === w)
    watch = null;
}

function moved (w, status) {
  finish(w);
  w.hooks.moved(status);
}

function failed (w, e) {
  finish(w);
  w.hooks.error(e);
}

// One request of this watch; a new AbortController per request so that a
// button or the countdown can cancel just the long-poll in flight (poll:
// true marks it).
async function request (w, method, path, body, poll = false) {
  const ctl = new AbortController();
  ctl.poll = poll;
  const onStop = () => ctl.abort();
  w.abort.signal.addEventListener("abort", onStop);
  w.current = ctl;
  try {
    return await api(method, path, body, undefined, { signal: ctl.signal });
  } finally {
    w.abort.signal.removeEventListener("abort", onStop);
    if (w.current === ctl)
      w.current = null;
  }
}

// Failures worth waiting out: no network, rate limit, server or database
// briefly away.  Everything else goes to app.js's handleError().
function transient (e) {
  return e.status === 0 || e.status === 429 || e.status === 502
    || e.status === 503 || e.status === 504;
}

function backoff (e, failures) {
  const ra = parseInt(e.retryAfter, 10);
  if (ra > 0)
    return Math.min(ra, 60) * 1000;
  return [2000, 4000, 8000, 15000][Math.min(failures, 3)];
}

function say (node, key, params) {
  if (key)
    setText(node, key, params);
  else
    clearText(node);
}

// ------------------------------------------------------------ device step

// Shows the device step for enrolment id and keeps it going.  Safe to call
// again (a language switch): a running watch for the same id is kept.
export function startDeviceStep (id, hooks) {
  if (running(id, "device"))
    return;
  const w = newWatch(id, "device", hooks);
  resetQr();
  say($("device-status"), null);
  deviceLoop(w).catch((e) => { if (!w.stopped) failed(w, e); });
}

function resetQr () {
  const img = $("qr-img");
  img.hidden = true;
  img.removeAttribute("src");
  delete $("qr").dataset.challenge;
  $("qr-placeholder").hidden = false;
  setText($("qr-placeholder"), "device.preparing");
  $("qr-timer").hidden = true;
  $("qr-same-phone").hidden = true;
  $("qr-link").setAttribute("href", "#device-step");
}

async function deviceLoop (w) {
  let renewals = 0;
  let why = "first";
  while (!w.stopped) {
    const c = await newChallenge(w, why);
    if (!c)
      return;
    const status = await waitForPhone(w, c);
    if (status === null)
      return;
    if (status === "asked") {
      renewals = 0;
      why = "asked";
      continue;
    }
    if (status === "expired") {
      if (++renewals > AUTO_RENEWALS) {
        showPaused(w);
        await pause(w, Infinity);        // until "Show a new code" or stop
        if (w.stopped)
          return;
        w.asked = false;
        renewals = 0;
        why = "asked";
      } else {
        why = "expired";
      }
      continue;
    }
    // registered, pending_review, denied (or a status this page does not
    // know): the enrolment moved on.
    if (status === "registered")
      say($("device-status"), "device.registered");
    moved(w, status);
    return;
  }
}

async function newChallenge (w, why) {
  for (let failures = 0; !w.stopped;) {
    let res;
    try {
      res = await request(w, "POST", paths.challenge(w.id), {});
    } catch (e) {
      if (w.stopped)
        return null;
      if (e.code === "aborted")
        continue;                        // "Show a new code" pressed meanwhile
      if (transient(e)) {
        say($("device-status"), "device.connection");
        await pause(w, backoff(e, failures++));
        continue;
      }
      if (e.status === 409)
        moved(w, "wrong_state");         // no longer in state device
      else
        failed(w, e);
      return null;
    }
    w.asked = false;
    const d = res.data || {};
    const expires = Date.parse(d.expires_at);
    const ttl = Number.isFinite(res.date) ? expires - res.date : expires - Date.now();
    const c = {
      id: String(d.challenge_id || ""),
      deadline: Date.now() + (Number.isFinite(ttl) ? ttl : 180000) - SAFETY_MS,
      svg: typeof d.qr_svg === "string" && d.qr_svg.startsWith("/v1/") ? d.qr_svg : null,
      payload: typeof d.qr_payload === "string" && d.qr_payload.startsWith("guichet://")
        ? d.qr_payload : null,
    };
    w.challenge = c;
    showQr(w, c, why);
    return c;
  }
  return null;
}

function showQr (w, c, why) {
  const img = $("qr-img");
  const fig = $("qr");
  if (c.svg) {
    // A new address for each challenge: the browser keeps decoded images
    // by address, and the server sends a new code under the same path.
    img.onload = () => {
      if (watch !== w)
        return;
      img.hidden = false;
      $("qr-placeholder").hidden = true;
    };
    img.onerror = () => {
      if (watch !== w)
        return;
      img.hidden = true;
      $("qr-placeholder").hidden = false;
      setText($("qr-placeholder"), "device.qr_error");
    };
    img.src = `${c.svg}?c=${encodeURIComponent(c.id)}`;
  }
  fig.dataset.challenge = c.id;
  if (c.payload) {
    // The Guichet web app on this phone, the payload in the fragment: no
    // browser sends a fragment to a server (docs/app.md).
    $("qr-link").setAttribute("href", `/app/#${c.payload}`);
    $("qr-same-phone").hidden = false;
  }
  $("qr-timer").hidden = false;
  startCountdown(w, c);
  say($("device-status"), why === "expired" ? "device.renewed_expired"
    : why === "asked" ? "device.renewed" : "device.waiting");
}

function showPaused (w) {
  stopCountdown(w);
  const img = $("qr-img");
  img.hidden = true;
  img.removeAttribute("src");
  delete $("qr").dataset.challenge;
  $("qr-placeholder").hidden = false;
  setText($("qr-placeholder"), "device.expired");
  $("qr-timer").hidden = true;
  $("qr-same-phone").hidden = true;
  $("qr-link").setAttribute("href", "#device-step");
  say($("device-status"), "device.paused");
}

// mm:ss left on the code, every second.  The element is a role=timer
// (not announced on every tick); the status line says what matters.
function startCountdown (w, c) {
  stopCountdown(w);
  const tick = () => {
    const left = Math.max(0, Math.ceil((c.deadline - Date.now()) / 1000));
    const mm = String(Math.floor(left / 60)).padStart(2, "0");
    const ss = String(left % 60).padStart(2, "0");
    $("qr-countdown").textContent = `${mm}:${ss}`;
    // The code ran out while the server was still holding our question:
    // stop waiting for it and get a new code now.
    if (left === 0 && w.current && w.current.poll && w.challenge === c && !w.stopped)
      w.current.abort();
  };
  tick();
  w.ticker = setInterval(tick, 1000);
}

function stopCountdown (w) {
  clearInterval(w.ticker);
  w.ticker = null;
}

// Long-polls the status while the code lives.  Returns "expired", "asked",
// the new status, or null when stopped or handed to handleError().
async function waitForPhone (w, c) {
  for (let failures = 0; !w.stopped;) {
    if (w.asked) {
      w.asked = false;
      return "asked";
    }
    const left = c.deadline - Date.now();
    if (left <= 0) {
      stopCountdown(w);
      return "expired";
    }
    const wait = Math.max(1, Math.min(MAX_WAIT_S, Math.ceil(left / 1000)));
    const started = Date.now();
    let status;
    try {
      const res = await request(w, "GET", `${paths.challenge(w.id)}?wait=${wait}`, undefined, true);
      status = res.data && res.data.status;
    } catch (e) {
      if (w.stopped)
        return null;
      if (e.code === "aborted")
        continue;                        // a button, or the code ran out
      if (transient(e)) {
        say($("device-status"), "device.connection");
        await pause(w, backoff(e, failures++));
        continue;
      }
      failed(w, e);
      return null;
    }
    if (failures > 0) {
      failures = 0;
      say($("device-status"), "device.waiting");
    }
    if (status === "pending") {
      await pause(w, MIN_ROUND_MS - (Date.now() - started));
      continue;
    }
    return status === "expired" ? "expired" : String(status || "unknown");
  }
  return null;
}

// "Show a new code".
export function askNewCode () {
  if (!watch || watch.kind !== "device")
    return;
  watch.asked = true;
  if (watch.current)
    watch.current.abort();
  watch.wake();
}

// ------------------------------------------------------------ review

// Keeps asking while the phone waits for a reviewer.  Safe to call again.
export function startReviewWatch (id, hooks) {
  if (running(id, "review"))
    return;
  const w = newWatch(id, "review", hooks);
  $("review-check").hidden = true;
  say($("review-status"), null);
  reviewLoop(w).catch((e) => { if (!w.stopped) failed(w, e); });
}

async function reviewLoop (w) {
  const since = Date.now();
  for (let failures = 0; !w.stopped;) {
    if (Date.now() - since > REVIEW_WATCH_MS) {
      finish(w);
      say($("review-status"), "review.paused");
      $("review-check").hidden = false;
      return;
    }
    const started = Date.now();
    let status;
    try {
      const res = await request(w, "GET", `${paths.challenge(w.id)}?wait=${MAX_WAIT_S}`);
      status = res.data && res.data.status;
    } catch (e) {
      if (w.stopped)
        return;
      if (e.code === "aborted")
        continue;
      if (transient(e)) {
        say($("review-status"), "review.connection");
        await pause(w, backoff(e, failures++));
        continue;
      }
      failed(w, e);
      return;
    }
    if (failures > 0) {
      failures = 0;
      say($("review-status"), null);
    }
    if (status !== "pending_review") {
      moved(w, String(status || "unknown"));
      return;
    }
    const every = Date.now() - since < REVIEW_FAST_MS ? REVIEW_EVERY_MS : REVIEW_SLOW_MS;
    await pause(w, every - (Date.now() - started));
  }
}
