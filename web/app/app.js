// SPDX-License-Identifier: AGPL-3.0-or-later
//
// app.js -- the Guichet app's screens: accounts with their current codes,
// adding this phone to an account, the payments waiting for approval, a
// scanned payment's offline code, removing an account.
//
// What the app holds and how: store.js (IndexedDB, non-extractable
// CryptoKeys), crypto.js (WebCrypto), api.js (the bank's own origin only),
// scan.js (camera and QR decoder).  What it never does: put a secret in
// localStorage, a URL sent to a server or a log; sign anything the
// customer has not been shown in full and confirmed; talk to an origin
// other than the one that served it.  An activation link's payload
// arrives in the fragment (/app/#guichet://activate?...), which no
// browser sends to a server; it is taken out of the address bar and the
// history at once.  Every text goes through t() and textContent.

import { commonError } from "../common/errors.js";
import { makeText } from "../common/text_core.js";
import * as api from "./api.js";
import { activationBody, deriveSeedKeys, newDeviceKeys, otpParams, publicPoint, b64u,
         totp, txResponseCode, txSignature, unb64u } from "./crypto.js";
import { LANGS, MESSAGES } from "./i18n.js";
import { assuranceCode, checkTx, formatAmount, groupIban, kindOf, parseActivation,
         parseTx } from "./payload.js";
import { scan, ScanError } from "./scan.js";
import * as store from "./store.js";
import { scriptUrl } from "./tt.js";

export const APP_VERSION = "1.0.0";

const { getLang, chooseLang, t, setText, clearText, translateDom } = makeText(LANGS, MESSAGES);
const $ = (id) => document.getElementById(id);

const MAX_WAIT_S = 25;             // the longest hold the server grants
const BUSY_POLL_MS = 5000;         // payments waiting: look again this often
const REVIEW_POLL_MS = 15000;      // a phone under review: ask this often
const ENROL_POLL_MS = 5000;        // enrolment not completed yet: this often
const SKEW_WARN_S = 60;

let accounts = [];                 // from store.listAccounts()
const pendingBy = new Map();       // deviceId -> [checked payment]
const pollers = new Map();         // deviceId -> AbortController
let scanning = null;               // AbortController of the camera
let activation = null;             // {parsed, origin} being confirmed
let payment = null;                // {tx, account|null, offline}
let removing = null;               // deviceId
let busy = false;                  // a button's request in flight
let installPrompt = null;

// ---------------------------------------------------------------- showing

function show (id, focus) {
  for (const v of document.querySelectorAll("[data-view]"))
    v.hidden = v.id !== id;
  document.body.dataset.screen = id;
  if (focus)
    $(focus).focus();
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

function say (node, key, params) {
  if (key)
    setText(node, key, params);
  else
    clearText(node);
}

function errorKey (e) {
  if (e instanceof ScanError)
    return [`scan.${e.code}`];
  switch (e.code) {
  case "payload_invalid": return ["error.payload"];
  case "payload_version": return ["error.payload_version"];
  case "challenge_expired": case "expired": return ["error.expired"];
  case "challenge_used": case "reused": return ["error.used"];
  case "storage": return ["error.storage"];
  case "crypto": return ["error.crypto"];
  default: break;
  }
  if (e.status === 410)
    return ["error.expired"];
  if (e.status === 409)
    return ["error.used"];
  if (e.status === 401)
    return ["error.proof"];
  if (e.status === 423)
    return ["error.locked"];
  return commonError(e);
}

function showError (e) {
  const [key, params] = errorKey(e);
  banner(key, params);
}

function clockCheck () {
  const s = api.clockSkew();
  const c = $("clock");
  if (Math.abs(s) >= SKEW_WARN_S) {
    setText(c, "account.clock", { m: Math.max(1, Math.round(Math.abs(s) / 60)) });
    c.hidden = false;
  } else {
    c.hidden = true;
  }
}

function accountName (a) {
  const n = accounts.findIndex((x) => x.deviceId === a.deviceId) + 1;
  return t("account.name", { host: new URL(a.origin).host, n: n || 1 });
}

// ---------------------------------------------------------------- home

function renderHome () {
  $("empty").hidden = accounts.length > 0;
  $("home-heading").hidden = accounts.length === 0;
  const list = $("accounts");
  list.replaceChildren(...accounts.map(accountCard));
  const active = accounts.some((a) => a.status === "active");
  $("scan-payment").hidden = !active;
  $("scan-payment-hint").hidden = !active;
  renderPayments();
  tick().catch(() => {});
}

function accountCard (a) {
  const li = document.createElement("li");
  li.className = "card account";
  li.dataset.device = a.deviceId;
  li.dataset.status = a.status;
  const h = document.createElement("h3");
  h.className = "account__name";
  h.textContent = accountName(a);
  li.append(h);
  if (a.status === "active") {
    const label = document.createElement("p");
    label.className = "account__label";
    label.id = `code-label-${a.deviceId}`;
    setText(label, "account.code");
    const code = document.createElement("p");
    code.className = "account__code";
    code.dataset.testid = "code";
    code.dataset.device = a.deviceId;
    code.setAttribute("aria-labelledby", label.id);
    const timer = document.createElement("p");
    timer.className = "account__timer";
    timer.dataset.role = "timer";
    const bar = document.createElement("progress");
    bar.className = "account__bar";
    bar.max = a.otp.period;
    bar.setAttribute("aria-hidden", "true");
    li.append(label, code, timer, bar);
  } else {
    const p = document.createElement("p");
    p.className = `account__state account__state--${a.status}`;
    setText(p, a.status === "pending_review" ? "account.review"
      : a.status === "denied" ? "account.denied" : "account.revoked");
    li.append(p);
  }
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "btn btn--link account__remove";
  remove.dataset.testid = "remove";
  setText(remove, "account.remove");
  remove.addEventListener("click", () => askRemove(a.deviceId));
  li.append(remove);
  return li;
}

// The codes and their countdowns, every second.
const shown = new Map();           // deviceId -> step shown
async function tick () {
  const now = Date.now() / 1000;
  for (const a of accounts) {
    if (a.status !== "active")
      continue;
    const card = document.querySelector(`.account[data-device="${CSS.escape(a.deviceId)}"]`);
    if (!card)
      continue;
    const step = Math.floor(now / a.otp.period);
    const code = card.querySelector(".account__code");
    if (shown.get(a.deviceId) !== step || !code.dataset.code) {
      shown.set(a.deviceId, step);
      const r = await totp(a.totpKey, now, a.otp);
      code.dataset.code = r.code;
      const half = Math.ceil(r.code.length / 2);
      code.textContent = `${r.code.slice(0, half)} ${r.code.slice(half)}`;
    }
    const left = Math.max(1, Math.ceil((step + 1) * a.otp.period - now));
    const timer = card.querySelector(".account__timer");
    setText(timer, "account.valid_for", { s: left });
    card.querySelector(".account__bar").value = left;
  }
  const p = payment;
  if (p && p.tx.expires_at && !$("view-payment").hidden) {
    const left = Math.max(0, Math.round((Date.parse(p.tx.expires_at) - Date.now()) / 1000 - api.clockSkew()));
    const mm = String(Math.floor(left / 60)).padStart(2, "0");
    setText($("pay-expires"), "pay.expires", { t: `${mm}:${String(left % 60).padStart(2, "0")}` });
    $("pay-expires").hidden = false;
  }
}

function renderPayments () {
  const items = [];
  for (const a of accounts)
    for (const tx of pendingBy.get(a.deviceId) || [])
      items.push({ a, tx });
  $("payments").hidden = items.length === 0;
  $("payment-list").replaceChildren(...items.map(({ a, tx }) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "btn btn--secondary payment-item";
    b.dataset.testid = "payment-item";
    b.dataset.tx = tx.id;
    const what = document.createElement("span");
    setText(what, "payments.open", { amount: formatAmount(tx.amount, tx.currency, getLang()),
                                     payee: tx.payee_name });
    // the customer's assurance code, so a look-alike stands out already
    // in the list (API.md: every pending transaction carries it)
    const code = document.createElement("span");
    code.className = "payment-item__code";
    code.dataset.testid = "payment-item-code";
    if (tx.assurance_code) {
      code.dataset.code = tx.assurance_code;
      setText(code, "payments.code", { code: tx.assurance_code });
    } else {
      code.classList.add("payment-item__code--missing");
      setText(code, "payments.no_code");
    }
    b.append(what, code);
    b.addEventListener("click", () => openPayment(tx, a, false));
    li.append(b);
    return li;
  }));
}

async function reload () {
  accounts = await store.listAccounts();
  renderHome();
  startPollers();
}

function goHome () {
  stopScan();
  activation = null;
  payment = null;
  removing = null;
  show("view-home");
  renderHome();
}

// ---------------------------------------------------------------- polling

// One long poll per active account while the app is visible.  Until its
// enrolment is completed (no customer yet) a phone has no payments to
// answer -- the list would be refused -- so it asks for its own status
// now and then instead, as does a phone under review.
function startPollers () {
  const want = document.visibilityState === "visible"
    ? new Set(accounts.filter((a) => a.status === "active" || a.status === "pending_review")
      .map((a) => a.deviceId))
    : new Set();
  for (const [id, ctl] of pollers)
    if (!want.has(id)) {
      ctl.abort();
      pollers.delete(id);
    }
  for (const id of want)
    if (!pollers.has(id)) {
      const ctl = new AbortController();
      pollers.set(id, ctl);
      poll(id, ctl.signal).catch(() => {}).finally(() => {
        if (pollers.get(id) === ctl)
          pollers.delete(id);
      });
    }
}

const sleep = (ms, signal) => new Promise((resolve) => {
  const timer = setTimeout(resolve, ms);
  if (signal)
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
});

function account (id) {
  return accounts.find((a) => a.deviceId === id) || null;
}

async function poll (id, signal) {
  for (let failures = 0; !signal.aborted;) {
    const a = account(id);
    if (!a)
      return;
    try {
      if (a.status === "pending_review" || !a.customerId) {
        const r = await api.deviceInfo(a, signal);
        const d = r.data || {};
        failures = 0;
        clockCheck();
        if (typeof d.status === "string" && d.status !== a.status)
          return statusChanged(a, { status: d.status });
        if (typeof d.customer_id === "string" && d.customer_id && d.status === "active") {
          await store.updateAccount(id, { customerId: d.customer_id });
          accounts = await store.listAccounts();
          continue;
        }
        await sleep(a.status === "pending_review" ? REVIEW_POLL_MS : ENROL_POLL_MS, signal);
        continue;
      }
      const had = (pendingBy.get(id) || []).length;
      const r = await api.pending(a, had ? 0 : MAX_WAIT_S, signal);
      failures = 0;
      const list = [];
      for (const item of (r.data && r.data.transactions) || []) {
        try {
          list.push({ ...checkTx(item), expires_at: String(item.expires_at || ""),
                      relying_party: typeof item.relying_party === "string" ? item.relying_party : "",
                      assurance_code: assuranceCode(item.assurance_code) });
        } catch (e) {
          // a payment the app cannot show as it would be signed is not shown
        }
      }
      pendingBy.set(id, list);
      renderPayments();
      clockCheck();
      if (list.length)
        await sleep(BUSY_POLL_MS, signal);
    } catch (e) {
      if (signal.aborted)
        return;
      if (e.status === 403)
        return statusChanged(a, { status: "revoked" });
      clockCheck();
      await sleep([2000, 5000, 15000, 30000][Math.min(failures++, 3)], signal);
    }
  }
}

async function statusChanged (a, patch) {
  await store.updateAccount(a.deviceId, patch);
  pollers.delete(a.deviceId);
  pendingBy.delete(a.deviceId);
  accounts = await store.listAccounts();
  if (!$("view-home").hidden)
    renderHome();
  startPollers();
}

// ---------------------------------------------------------------- scanning

function stopScan () {
  if (scanning) {
    scanning.abort();
    scanning = null;
  }
}

async function startScan (kind) {
  stopScan();
  banner(null);
  const ctl = new AbortController();
  scanning = ctl;
  setText($("scan-heading"), kind === "activate" ? "scan.add_heading" : "scan.pay_heading");
  setText($("scan-hint"), kind === "activate" ? "scan.add_hint" : "scan.pay_hint");
  setText($("scan-status"), "scan.starting");
  $("view-scan").dataset.kind = kind;
  show("view-scan", "scan-heading");
  let text;
  try {
    text = await scan($("camera"), {
      signal: ctl.signal,
      accept: (s) => kindOf(s) === kind,
      onWrong: () => setText($("scan-status"), kind === "activate" ? "scan.wrong_add" : "scan.wrong_pay"),
      onLooking: () => setText($("scan-status"), "scan.looking"),
    });
  } catch (e) {
    if (scanning === ctl)
      scanning = null;
    if (e.code === "aborted")
      return;
    setText($("scan-status"), `scan.${e.code}`);
    return;
  }
  if (scanning === ctl)
    scanning = null;
  if (kind === "activate")
    openActivation(text);
  else
    openScannedPayment(text);
}

// ---------------------------------------------------------------- adding

function deviceSignals (installId) {
  // Only what a browser can honestly say: no OS version or model (user
  // agent strings are frozen and forgeable), no SIM, no integrity flags
  // (a web app cannot tell whether the phone is rooted): left out, the
  // server treats them as unknown (docs/risk.md).
  const d = { platform: "web", app_version: APP_VERSION, install_id: installId };
  const locale = navigator.language;
  if (typeof locale === "string" && /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(locale) && locale.length <= 35)
    d.locale = locale;
  let tz = null;
  try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { tz = null; }
  if (typeof tz === "string" && /^[A-Za-z0-9_+\-/]{1,64}$/.test(tz))
    d.timezone = tz;
  return d;
}

async function openActivation (text) {
  banner(null);
  let parsed;
  try {
    parsed = parseActivation(text);
  } catch (e) {
    show("view-home");
    renderHome();
    showError(e);
    return;
  }
  if (parsed.origin !== location.origin) {
    parsed.secret.fill(0);
    show("view-home");
    renderHome();
    banner("activate.other_origin", { origin: parsed.origin });
    return;
  }
  let id;
  try {
    id = await store.installId();
  } catch (e) {
    parsed.secret.fill(0);
    show("view-home");
    renderHome();
    showError({ code: "storage" });
    return;
  }
  activation = { parsed, device: deviceSignals(id) };
  $("activate-origin").textContent = parsed.baseUrl;
  $("sig-app-version").textContent = APP_VERSION;
  $("sig-locale").textContent = activation.device.locale || "–";
  $("sig-timezone").textContent = activation.device.timezone || "–";
  $("sig-install-id").textContent = id;
  say($("activate-status"), null);
  $("activate-confirm").removeAttribute("aria-disabled");
  show("view-activate", "activate-heading");
}

async function confirmActivation () {
  const act = activation;
  if (!act || busy)
    return;
  busy = true;
  banner(null);
  $("activate-confirm").setAttribute("aria-disabled", "true");
  setText($("activate-status"), "activate.working");
  try {
    const { parsed, device } = act;
    let keys;
    try {
      keys = await newDeviceKeys();
    } catch (e) {
      throw Object.assign(new Error("crypto"), { code: "crypto" });
    }
    const body = await activationBody(parsed.challengeId, parsed.secret, keys, device);
    const res = await api.activate(parsed.baseUrl, body);
    const d = res.data || {};
    const status = d.status;
    if (status === "denied" || !["active", "pending_review"].includes(status)) {
      finishAdding("denied");
      return;
    }
    const otp = otpParams(d.otp);
    const server = unb64u(d.server_ecdh_public_key);
    if (!otp || !server || typeof d.device_id !== "string" || !/^[\x21-\x7e]{1,64}$/.test(d.device_id))
      throw Object.assign(new Error("bad answer"), { code: "bad_server_answer" });
    const { totpKey, txKey } = await deriveSeedKeys(keys.ecdh.privateKey, server, parsed.secret,
                                                    d.device_id, { algorithm: otp.algorithm });
    await store.putAccount({
      deviceId: d.device_id, origin: parsed.origin, baseUrl: parsed.baseUrl, status, otp,
      signKey: keys.sign.privateKey, publicKey: b64u(await publicPoint(keys.sign.publicKey)),
      totpKey, txKey, addedAt: Date.now(), lastTs: 0,
    });
    keepStorage();
    finishAdding(status);
  } catch (e) {
    say($("activate-status"), null);
    $("activate-confirm").removeAttribute("aria-disabled");
    // A used, expired or refused code cannot be tried again.
    if (e.status === 409 || e.status === 410 || e.status === 401) {
      act.parsed.secret.fill(0);
      activation = null;
      goHome();
    }
    showError(e);
  } finally {
    busy = false;
  }
}

function finishAdding (status) {
  if (activation)
    activation.parsed.secret.fill(0);
  activation = null;
  const key = status === "active" ? "active" : status === "pending_review" ? "review" : "denied";
  setText($("added-heading"), `added.${key}_heading`);
  setText($("added-text"), `added.${key}_text`);
  $("added-heading").dataset.status = status;
  show("view-added", "added-heading");
  reload().catch(showError);
}

// Asks the browser not to clear the app's storage under pressure (granted
// to installed apps and sites in use); says so on the home page if not.
async function keepStorage () {
  try {
    const kept = navigator.storage && (await navigator.storage.persisted()
                                      || await navigator.storage.persist());
    $("storage-note").hidden = Boolean(kept) || accounts.length === 0;
  } catch (e) {
    $("storage-note").hidden = accounts.length === 0;
  }
}

// ---------------------------------------------------------------- payments

function openPayment (tx, a, offline) {
  banner(null);
  payment = { tx, account: a, offline };
  setText($("payment-heading"), offline ? "pay.offline_heading" : "pay.heading");
  $("pay-from").hidden = offline || !tx.relying_party;
  $("pay-rp").textContent = tx.relying_party || "";
  const amount = $("pay-amount");
  amount.textContent = formatAmount(tx.amount, tx.currency, getLang());
  amount.dataset.amount = tx.amount;
  amount.dataset.currency = tx.currency;
  $("pay-payee").textContent = tx.payee_name;
  $("pay-iban").textContent = groupIban(tx.payee_iban);
  $("pay-account-row").hidden = offline;
  $("pay-account-name").textContent = a ? accountName(a) : "";
  // The customer's assurance code from the pending list; a payment from
  // the list without one is said not to be approved.  A scanned QR code
  // carries none: nothing is said about it offline.
  const code = offline ? null : tx.assurance_code;
  $("pay-assurance").hidden = !code;
  $("pay-no-assurance").hidden = offline || Boolean(code);
  const shown = $("pay-assurance-code");
  shown.textContent = code || "";
  if (code)
    shown.dataset.code = code;
  else
    delete shown.dataset.code;
  $("pay-expires").hidden = true;
  $("pay-online").hidden = offline;
  $("pay-offline").hidden = !offline;
  $("pay-code-box").hidden = true;
  clearText($("pay-code"));
  delete $("pay-code").dataset.code;
  say($("pay-status"), null);
  for (const b of ["pay-approve", "pay-decline", "pay-show-code"])
    $(b).removeAttribute("aria-disabled");
  if (offline) {
    const active = accounts.filter((x) => x.status === "active");
    const sel = $("pay-account");
    sel.replaceChildren(...active.map((x) => {
      const o = document.createElement("option");
      o.value = x.deviceId;
      o.textContent = accountName(x);
      return o;
    }));
    $("pay-account-field").hidden = active.length < 2;
  }
  show("view-payment", "payment-heading");
  tick().catch(() => {});
}

function openScannedPayment (text) {
  let tx;
  try {
    tx = parseTx(text);
  } catch (e) {
    goHome();
    showError(e);
    return;
  }
  openPayment(tx, null, true);
}

async function showCode () {
  const p = payment;
  if (!p || !p.offline)
    return;
  const a = account($("pay-account").value) || accounts.find((x) => x.status === "active");
  if (!a)
    return;
  const code = await txResponseCode(a.txKey, p.tx);
  const box = $("pay-code");
  box.dataset.code = code;
  box.textContent = `${code.slice(0, 4)} ${code.slice(4)}`;
  $("pay-code-box").hidden = false;
  $("pay-code").focus();
}

async function answer (approve) {
  const p = payment;
  if (!p || p.offline || busy)
    return;
  busy = true;
  banner(null);
  const btn = $(approve ? "pay-approve" : "pay-decline");
  btn.setAttribute("aria-disabled", "true");
  setText($("pay-status"), approve ? "pay.approving" : "pay.declining");
  try {
    if (approve)
      await api.approve(p.account, p.tx.id, await txSignature(p.account.signKey, p.tx));
    else
      await api.decline(p.account, p.tx.id);
    dropPayment(p);
    $("pay-online").hidden = true;
    setText($("pay-status"), approve ? "pay.approved" : "pay.declined");
    $("pay-status").dataset.outcome = approve ? "approved" : "declined";
  } catch (e) {
    say($("pay-status"), null);
    btn.removeAttribute("aria-disabled");
    if (e.status === 409 || e.status === 410) {
      dropPayment(p);
      $("pay-online").hidden = true;
      setText($("pay-status"), "pay.gone");
    } else if (e.status === 403) {
      $("pay-online").hidden = true;
      setText($("pay-status"), "pay.forbidden");
      statusChanged(p.account, { status: "revoked" });
    } else if (e.status === 401) {
      clockCheck();
      banner("error.signature");
    } else {
      showError(e);
    }
  } finally {
    busy = false;
  }
}

function dropPayment (p) {
  const id = p.account.deviceId;
  pendingBy.set(id, (pendingBy.get(id) || []).filter((x) => x.id !== p.tx.id));
}

// ---------------------------------------------------------------- removing

function askRemove (deviceId) {
  const a = account(deviceId);
  if (!a)
    return;
  removing = deviceId;
  $("remove-name").textContent = accountName(a);
  show("view-remove", "remove-heading");
}

async function confirmRemove () {
  const id = removing;
  removing = null;
  if (!id)
    return goHome();
  const ctl = pollers.get(id);
  if (ctl)
    ctl.abort();
  pollers.delete(id);
  pendingBy.delete(id);
  await store.deleteAccount(id);
  accounts = await store.listAccounts();
  goHome();
  setText($("announce"), "remove.done");
}

// ---------------------------------------------------------------- language

function setLang () {
  for (const b of document.querySelectorAll(".lang__btn"))
    b.setAttribute("aria-pressed", String(b.dataset.lang === getLang()));
  translateDom();
  document.title = t("app.title");
  if (!$("view-home").hidden)
    renderHome();
  if (payment && !$("view-payment").hidden)
    $("pay-amount").textContent = formatAmount(payment.tx.amount, payment.tx.currency, getLang());
}

// ---------------------------------------------------------------- start

// The fragment: an activation link from the enrolment page on this phone,
// or a payment's link.  Read once, then removed from the address bar and
// the history entry, so a reload or a shared screenshot shows no secret.
function takeFragment () {
  const raw = location.hash.slice(1);
  if (!raw)
    return null;
  history.replaceState(null, "", location.pathname + location.search);
  let text = raw;
  if (!kindOf(text)) {
    try { text = decodeURIComponent(raw); } catch (e) { return null; }
  }
  return kindOf(text) ? text : null;
}

function registerWorker () {
  if (!("serviceWorker" in navigator))
    return;
  navigator.serviceWorker.register(scriptUrl("sw.js"), { scope: "./" }).catch(() => {});
}

function wire () {
  for (const b of document.querySelectorAll(".lang__btn"))
    b.addEventListener("click", () => {
      if (chooseLang(b.dataset.lang))
        setLang();
    });
  $("add-account").addEventListener("click", () => startScan("activate"));
  $("scan-payment").addEventListener("click", () => startScan("tx"));
  $("scan-cancel").addEventListener("click", goHome);
  $("activate-confirm").addEventListener("click", confirmActivation);
  $("activate-cancel").addEventListener("click", () => {
    if (activation)
      activation.parsed.secret.fill(0);
    goHome();
  });
  $("added-done").addEventListener("click", goHome);
  $("pay-approve").addEventListener("click", () => answer(true));
  $("pay-decline").addEventListener("click", () => answer(false));
  $("pay-show-code").addEventListener("click", showCode);
  $("pay-back").addEventListener("click", goHome);
  $("remove-confirm").addEventListener("click", confirmRemove);
  $("remove-cancel").addEventListener("click", goHome);
  $("install").addEventListener("click", async () => {
    const p = installPrompt;
    installPrompt = null;
    $("install").hidden = true;
    if (p)
      await p.prompt();
  });
  window.addEventListener("beforeinstallprompt", (e) => {
    e.preventDefault();
    installPrompt = e;
    $("install").hidden = false;
  });
  window.addEventListener("hashchange", () => {
    const text = takeFragment();
    if (text)
      route(text);
  });
  document.addEventListener("visibilitychange", startPollers);
  setInterval(() => { tick().catch(() => {}); }, 1000);
}

function route (text) {
  if (kindOf(text) === "activate")
    openActivation(text);
  else if (kindOf(text) === "tx")
    openScannedPayment(text);
}

async function main () {
  const fragment = takeFragment();
  wire();
  setLang();
  // WebCrypto, service workers and the camera exist only in a secure
  // context (https://, or localhost while developing).
  if (!window.isSecureContext || !globalThis.crypto || !crypto.subtle) {
    show("view-home");
    $("add-account").hidden = true;
    banner("error.insecure");
    return;
  }
  registerWorker();
  try {
    accounts = await store.listAccounts();
  } catch (e) {
    show("view-home");
    renderHome();
    showError({ code: "storage" });
    return;
  }
  show("view-home");
  renderHome();
  startPollers();
  if (accounts.length)
    keepStorage();
  if (fragment)
    route(fragment);
}

main();
