// SPDX-License-Identifier: AGPL-3.0-or-later
//
// app.js -- the hosted payment approval page.
//
// The link's secret is the URL's fragment (approval_url ends in #<secret>);
// it goes to guichetd only in the Guichet-Approval header, never in a
// path, so no access log and no Referer carries it.  The page shows the
// payment as the phone will show it, the QR code (fetched as SVG and shown
// as a data: image, so the secret stays out of every URL), a field for the
// phone's 8-digit offline code, and follows the status with a long poll
// (?wait=25) that guichetd wakes when the phone answers.  Once decided it
// says so and returns to the relying party (return_to, which guichetd
// builds from a return_url on an origin registered for the relying party).
// It never approves anything itself.  Every text goes through t() and
// textContent: nothing the server sends becomes markup.

import { commonError } from "/common/errors.js";
import { makeText } from "/common/text_core.js";
import { LANGS, MESSAGES } from "./i18n.js";

const { getLang, chooseLang, t, setText, clearText, translateDom } = makeText(LANGS, MESSAGES);

const $ = (id) => document.getElementById(id);
const TOKEN = decodeURIComponent(location.hash.slice(1));
const RETURN_DELAY_S = 3;
const DONE = ["approved", "declined", "failed", "expired"];

let current = null;          // the last answer of GET /v1/approval
let deadline = 0;            // when it expires, on the browser's clock (ms)
let qrLoaded = false;
let returning = null;        // the return countdown's interval

class ApiError extends Error {
  constructor (status, code, body, retryAfter) {
    super(code);
    this.status = status;
    this.code = code;
    this.body = body || {};
    this.retryAfter = retryAfter || null;
  }
}

// One request with the link's secret; JSON answers (text for the SVG).
async function api (method, path, body, asText = false) {
  const headers = { "Guichet-Approval": TOKEN, Accept: asText ? "image/svg+xml" : "application/json" };
  const init = { method, headers, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, "network");
  }
  const text = await res.text().catch(() => "");
  if (res.ok && asText)
    return text;
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (res.ok)
    return data;
  throw new ApiError(res.status, (data && data.error && data.error.code) || `http_${res.status}`,
                     data, res.headers.get("Retry-After"));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- showing

function show (id) {
  for (const v of document.querySelectorAll("[data-view]"))
    v.hidden = v.id !== id;
}

function banner (key, params) {
  const b = $("banner");
  if (!key) {
    b.hidden = true;
    clearText(b);
    return;
  }
  setText(b, key, params);
  b.hidden = false;
}

function showError (e) {
  if (e.status === 423)
    banner("error.locked");
  else {
    const [key, params] = commonError(e);
    banner(key, params);
  }
}

// The amount as the payer's language writes it, with exactly the digits
// the phone signs (a string, not a float, goes to Intl).
function formatAmount (amount, currency) {
  const digits = (amount.split(".")[1] || "").length;
  try {
    return new Intl.NumberFormat(getLang() === "fr" ? "fr-FR" : "en-GB", {
      style: "currency", currency, currencyDisplay: "code",
      minimumFractionDigits: digits, maximumFractionDigits: digits,
    }).format(amount);
  } catch (e) {
    return `${amount} ${currency}`;
  }
}

const groupIban = (iban) => iban.replace(/(.{4})(?=.)/g, "$1 ");

function renderPayment (v) {
  $("relying-party").textContent = v.relying_party;
  $("amount").textContent = formatAmount(v.amount, v.currency);
  $("amount").dataset.amount = v.amount;
  $("amount").dataset.currency = v.currency;
  $("payee-name").textContent = v.payee_name;
  $("payee-iban").textContent = groupIban(v.payee_iban);
  $("payment-check").hidden = v.status !== "pending";
  $("payment").hidden = false;
}

function renderStatus (v) {
  const s = $("status");
  s.dataset.status = v.status;
  setText(s, `status.${v.status}`);
  document.title = t("app.doc_title", { title: t(`status.${v.status}`) });
}

async function loadQr () {
  if (qrLoaded)
    return;
  qrLoaded = true;
  try {
    const svg = await api("GET", "/v1/approval/qr.svg", undefined, true);
    const img = $("qr-img");
    img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg);
    img.hidden = false;
    $("qr-placeholder").hidden = true;
  } catch (e) {
    qrLoaded = false;
    showError(e);
  }
}

function tick () {
  const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
  const m = String(Math.floor(left / 60)).padStart(2, "0");
  $("countdown").textContent = `${m}:${String(left % 60).padStart(2, "0")}`;
}

function renderPending (v) {
  show("view-pending");
  $("app-link").href = v.qr_payload;
  deadline = Date.now() + v.seconds_left * 1000;
  tick();
  loadQr();
}

function renderDone (v) {
  const first = $("view-done").hidden;
  show("view-done");
  const h = $("outcome");
  h.className = `outcome outcome--${v.status}`;
  h.dataset.status = v.status;
  setText(h, `status.${v.status}`);
  setText($("outcome-text"), `done.${v.status}`, { payee: v.payee_name });
  const link = $("return-link");
  if (v.return_to) {
    link.href = v.return_to;
    setText(link, "done.return", { rp: v.relying_party });
    link.hidden = false;
    // A decision goes back by itself; an expired request lets the payer
    // read why first.
    if (v.status !== "expired" && !returning)
      startReturn(v);
  }
  if (first)
    h.focus();
}

function startReturn (v) {
  let left = RETURN_DELAY_S;
  const note = $("returning");
  const say = () => setText(note, "done.returning", { rp: v.relying_party, s: left });
  note.hidden = false;
  say();
  returning = setInterval(() => {
    left -= 1;
    if (left > 0) {
      say();
      return;
    }
    clearInterval(returning);
    location.assign(v.return_to);
  }, 1000);
}

function render (v) {
  current = v;
  renderPayment(v);
  renderStatus(v);
  if (v.status === "pending")
    renderPending(v);
  else
    renderDone(v);
}

function noLink () {
  $("payment").hidden = true;
  show("view-nolink");
  $("nolink-heading").focus();
}

// ---------------------------------------------------------------- following

// The status, held by the server until it changes (or 25 s pass), again
// and again until the payment is decided or expired.
async function follow () {
  let pause = 1000;
  while (current && current.status === "pending") {
    try {
      render(await api("GET", "/v1/approval?wait=25"));
      banner(null);
      pause = 1000;
    } catch (e) {
      if (e.status === 404)
        return noLink();
      showError(e);
      await sleep(pause);
      pause = Math.min(pause * 2, 15000);
    }
  }
}

async function refresh () {
  try {
    render(await api("GET", "/v1/approval"));
  } catch (e) {
    showError(e);
  }
}

// ---------------------------------------------------------------- the code

function codeError (key, params) {
  const field = $("code-field");
  const input = $("code");
  if (key) {
    setText($("code-error"), key, params);
    field.classList.add("field--error");
    input.setAttribute("aria-invalid", "true");
    input.focus();
  } else {
    clearText($("code-error"));
    field.classList.remove("field--error");
    input.removeAttribute("aria-invalid");
  }
}

async function submitCode (ev) {
  ev.preventDefault();
  const input = $("code");
  const btn = $("code-submit");
  const code = input.value.replace(/\s+/g, "");
  if (!/^[0-9]{8}$/.test(code)) {
    codeError("code.format");
    return;
  }
  if (btn.getAttribute("aria-disabled") === "true")
    return;
  btn.setAttribute("aria-disabled", "true");
  codeError(null);
  try {
    await api("POST", "/v1/approval/verify", { response: code });
    input.value = "";
    await refresh();
  } catch (e) {
    input.value = "";
    const n = e.body && e.body.attempts_remaining;
    if (e.status === 401 && n > 0)
      codeError(n === 1 ? "code.wrong_one" : "code.wrong", { n });
    else if ([401, 409, 410].includes(e.status))
      await refresh();
    else
      showError(e);
  } finally {
    btn.removeAttribute("aria-disabled");
  }
}

// ---------------------------------------------------------------- language

function setLang (l) {
  for (const b of document.querySelectorAll(".lang__btn"))
    b.setAttribute("aria-pressed", String(b.dataset.lang === getLang()));
  translateDom();
  if (current)
    render(current);
  else
    document.title = t("app.doc_title", { title: t("app.title") });
  return l;
}

// ---------------------------------------------------------------- start

async function main () {
  for (const b of document.querySelectorAll(".lang__btn"))
    b.addEventListener("click", () => {
      if (chooseLang(b.dataset.lang))
        setLang(b.dataset.lang);
    });
  $("code-form").addEventListener("submit", submitCode);
  setLang(getLang());
  setInterval(tick, 1000);
  if (!/^[A-Za-z0-9_-]{43}$/.test(TOKEN))
    return noLink();
  for (let pause = 1000; ; pause = Math.min(pause * 2, 15000)) {
    try {
      render(await api("GET", "/v1/approval"));
      break;
    } catch (e) {
      if (e.status === 404)
        return noLink();
      showError(e);
      await sleep(pause);
    }
  }
  $("view-loading").hidden = true;
  follow();
}

main();
