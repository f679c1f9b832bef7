// SPDX-License-Identifier: AGPL-3.0-or-later
//
// customers.js -- the support pages: #/customers?q= finds a customer (GET
// /v1/admin/customers?q=, by id, the bank's reference or e-mail), and
// #/customers/<id> shows one (GET /v1/admin/customers/{id}): lockout,
// credentials, passkeys, phones, latest sign-in attempts and payments.
// From there support unlocks (a comment is required) and revokes a
// credential or passkey (a reason is required); the server audits both.
//
// Roles support and admin (the server refuses the others: the page then
// shows "not allowed").  Nothing is written with innerHTML.

import { api, ApiError, paths } from "./api.js";
import { $, announce, clearFieldErrors, current, handleError, setBusy, setFieldError,
         showNotice, showView } from "./frame.js";
import { el, formatNumber, hasText, raw, setText, t, timeEl } from "./text.js";
import { code, fillFacts } from "./widgets.js";

let goTo = null;
let shown = null;        // the customer view drawn now
let revoking = null;     // { kind: "credential" | "passkey", id }

function cell (labelKey, ...content) {
  const td = document.createElement("td");
  td.setAttribute("data-label", t(labelKey));
  td.append(...content);
  return td;
}

function known (prefix, value) {
  const key = `${prefix}.${value}`;
  return value && hasText(key) ? el("span", null, key) : raw("span", null, value || "—");
}

function forbidden (e, opts) {
  if (e instanceof ApiError && e.status === 403 && !/csrf/i.test(e.code)) {
    showView("forbidden", opts);
    return true;
  }
  return false;
}

// ------------------------------------------------------------ search

function customerLink (c) {
  const a = document.createElement("a");
  a.href = `#/customers/${encodeURIComponent(c.customer_id)}`;
  a.dataset.testid = "customer-link";
  a.textContent = c.ref ? `${c.ref}` : c.customer_id;
  const wrap = document.createElement("span");
  wrap.append(a);
  if (c.ref)
    wrap.append(document.createElement("br"), code(c.customer_id));
  return wrap;
}

function lockBadge (locked) {
  const s = el("span", locked ? "lock--locked" : "lock--free",
               locked ? "customers.locked" : "customers.free");
  return s;
}

function drawResults (q, list) {
  const rows = list.map((c) => {
    const tr = document.createElement("tr");
    tr.dataset.testid = "customer-row";
    tr.dataset.id = c.customer_id;
    tr.append(cell("customers.col_customer", customerLink(c)),
              cell("customers.col_email", raw("span", null, c.email || "—")),
              cell("customers.col_lock", lockBadge(c.locked)),
              cell("customers.col_credentials", raw("span", null, formatNumber(c.active_credentials))),
              cell("customers.col_created", timeEl(c.created_at)));
    return tr;
  });
  $("customers-body").replaceChildren(...rows);
  $("customers-table").hidden = rows.length === 0;
  if (rows.length)
    setText($("customers-summary"), "customers.found", { n: rows.length, q });
  else
    setText($("customers-summary"), "customers.none");
}

export async function showCustomers (query, opts = {}) {
  const seq = current.seq;
  const q = (query.get("q") || "").trim();
  const form = $("customers-search");
  clearFieldErrors(form);
  $("customers-q").value = q;
  showView("customers", opts);
  $("customers-table").hidden = true;
  $("customers-body").replaceChildren();
  setText($("customers-summary"), "");
  current.redraw = null;
  if (!q)
    return;
  setText($("customers-summary"), "customers.searching");
  try {
    const data = await api("GET", paths.customers({ q }));
    if (seq !== current.seq)
      return;
    const list = (data && Array.isArray(data.customers)) ? data.customers : [];
    // Exactly one: straight to the customer.
    if (list.length === 1 && query.get("pick") !== "0") {
      goTo(`#/customers/${encodeURIComponent(list[0].customer_id)}`, { replace: true });
      return;
    }
    drawResults(q, list);
    current.redraw = () => drawResults(q, list);
    announce(list.length ? "customers.found" : "customers.none", { n: list.length, q });
  } catch (e) {
    if (seq !== current.seq)
      return;
    if (!forbidden(e, opts))
      handleError(e);
  }
}

function onSearch (ev) {
  ev.preventDefault();
  const form = $("customers-search");
  clearFieldErrors(form);
  const q = $("customers-q").value.trim();
  if (!q) {
    setFieldError("customers-q", "customers.err.q");
    $("customers-q").focus();
    return;
  }
  goTo(`#/customers?q=${encodeURIComponent(q)}`, { focus: false });
}

// ------------------------------------------------------------ one customer

function revokeButton (kind, id) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "btn btn--secondary btn--small";
  b.dataset.testid = `revoke-${kind}`;
  b.dataset.id = id;
  setText(b, "customer.revoke");
  b.addEventListener("click", () => openRevoke(kind, id, b.closest("tr")));
  return b;
}

function credentialDetails (c) {
  const bits = [];
  if (c.otp_type)
    bits.push(`${String(c.otp_type).toUpperCase()} ${c.algorithm || ""} · ${c.digits || "?"}`);
  const span = raw("span", "details", bits.join(""));
  if (c.token_serial) {
    span.append(" · ");
    span.append(el("span", null, "customer.token", { serial: c.token_serial }));
  }
  if (c.revoke_reason) {
    span.append(document.createElement("br"));
    span.append(el("span", null, "customer.revoked_reason", { reason: c.revoke_reason }));
  }
  return span;
}

function credentialRow (c) {
  const tr = document.createElement("tr");
  tr.dataset.testid = "credential-row";
  tr.dataset.id = c.id;
  tr.dataset.state = c.state || "";
  const kind = known("customer.kind", c.kind);
  kind.append(document.createElement("br"), code(c.id));
  tr.append(cell("customer.col_kind", kind),
            cell("customer.col_state", known("cred_state", c.state)),
            cell("customer.col_details", credentialDetails(c)),
            cell("customer.col_created", timeEl(c.created_at)),
            cell("customer.col_used", c.last_used_at ? timeEl(c.last_used_at) : raw("span", null, "—")),
            cell("customer.col_action", c.state === "active"
              ? revokeButton("credential", c.id) : raw("span", null, "")));
  return tr;
}

function passkeyRow (p) {
  const tr = document.createElement("tr");
  tr.dataset.testid = "passkey-row";
  tr.dataset.id = p.id;
  tr.dataset.state = p.status || "";
  const details = raw("span", "details", [p.algorithm, p.attestation].filter(Boolean).join(" · "));
  if (p.revoke_reason || p.flag_reason) {
    details.append(document.createElement("br"));
    details.append(raw("span", null, p.revoke_reason || p.flag_reason));
  }
  tr.append(cell("customer.col_passkey", code(p.id)),
            cell("customer.col_state", known("cred_state", p.status)),
            cell("customer.col_details", details),
            cell("customer.col_created", timeEl(p.created_at)),
            cell("customer.col_used", p.last_used_at ? timeEl(p.last_used_at) : raw("span", null, "—")),
            cell("customer.col_action", p.status === "active" || p.status === "flagged"
              ? revokeButton("passkey", p.id) : raw("span", null, "")));
  return tr;
}

function deviceRow (d) {
  const tr = document.createElement("tr");
  tr.dataset.testid = "device-row";
  tr.dataset.id = d.id;
  const what = raw("span", null, [d.platform, d.model].filter(Boolean).join(" · ") || "—");
  what.append(document.createElement("br"), code(d.id));
  tr.append(cell("customer.col_device", what),
            cell("customer.col_state", known("cred_state", d.status)),
            cell("customer.col_created", timeEl(d.created_at)));
  return tr;
}

function attemptRow (a) {
  const tr = document.createElement("tr");
  tr.dataset.testid = "attempt-row";
  tr.dataset.outcome = a.outcome || "";
  const out = known("outcome", a.outcome);
  out.className = a.outcome === "accepted" ? "outcome--accepted" : "outcome--failed";
  if (a.action === "resync") {
    out.append(" (");
    out.append(el("span", null, "attempt.resync"));
    out.append(")");
  }
  tr.append(cell("customer.col_when", timeEl(a.at)),
            cell("customer.col_outcome", out),
            cell("customer.col_from", raw("span", null,
              [a.relying_party, a.client_addr].filter(Boolean).join(" · ") || "—")));
  return tr;
}

function txRow (x) {
  const tr = document.createElement("tr");
  tr.dataset.testid = "tx-row";
  tr.append(cell("customer.col_when", timeEl(x.created_at)),
            cell("customer.col_payee", raw("span", null, x.payee_name || "—")),
            cell("customer.col_amount", raw("span", null,
              `${x.amount !== undefined ? x.amount : "?"} ${x.currency || ""}`)),
            cell("customer.col_state", known("tx_status", x.status)));
  return tr;
}

// ------------------------------------------------------------ the tables

// The customer view's tables, each built once from <template
// id="table-part"> into index.html's <section data-table-part="NAME">:
// its heading, its columns' text keys (NUM: right-aligned; ACTION: for
// screen readers only) and the line shown when it is empty.
const NUM = "num";
const ACTION = "action";
const TABLE_PARTS = {
  credentials: { heading: "customer.credentials", none: "customer.none",
                 cols: ["customer.col_kind", "customer.col_state", "customer.col_details",
                        "customer.col_created", "customer.col_used",
                        ["customer.col_action", ACTION]] },
  passkeys: { heading: "customer.passkeys", none: "customer.none",
              cols: ["customer.col_passkey", "customer.col_state", "customer.col_details",
                     "customer.col_created", "customer.col_used",
                     ["customer.col_action", ACTION]] },
  devices: { heading: "customer.devices", none: "customer.no_devices",
             cols: ["customer.col_device", "customer.col_state", "customer.col_created"] },
  attempts: { heading: "customer.attempts", none: "customer.no_attempts",
              cols: ["customer.col_when", "customer.col_outcome", "customer.col_from"] },
  txs: { heading: "customer.transactions", none: "customer.no_transactions",
         cols: ["customer.col_when", "customer.col_payee", ["customer.col_amount", NUM],
                "customer.col_state"] },
};

function headerCell (col) {
  const [key, kind] = Array.isArray(col) ? col : [col];
  const th = document.createElement("th");
  th.scope = "col";
  if (kind === ACTION)
    th.append(el("span", "visually-hidden", key));
  else
    setText(th, key);
  if (kind === NUM)
    th.className = "num";
  return th;
}

function buildTablePart (section) {
  const name = section.dataset.tablePart;
  const spec = TABLE_PARTS[name];
  const part = $("table-part").content.cloneNode(true);
  const heading = part.querySelector("h2");
  const tbl = part.querySelector("table");
  const none = part.querySelector(".note");
  heading.id = `${name}-heading`;
  setText(heading, spec.heading);
  tbl.id = `${name}-table`;
  tbl.dataset.testid = `${name}-table`;
  tbl.setAttribute("aria-labelledby", heading.id);
  part.querySelector("thead tr").append(...spec.cols.map(headerCell));
  part.querySelector("tbody").id = `${name}-body`;
  none.id = `${name}-none`;
  setText(none, spec.none);
  section.setAttribute("aria-labelledby", heading.id);
  section.dataset.testid = `${name}-part`;
  section.append(part);
}

function table (bodyId, noneId, items, row) {
  const list = Array.isArray(items) ? items : [];
  $(bodyId).replaceChildren(...list.map(row));
  $(bodyId).closest("table").hidden = list.length === 0;
  $(noneId).hidden = list.length > 0;
}

function drawLock (v) {
  const p = $("lock-state");
  p.classList.remove("decision--reject", "decision--pass", "decision--review");
  if (v.locked && v.locked_until) {
    setText(p, "customer.lock.locked_until", { until: timeEl(v.locked_until).textContent,
                                               n: v.failed_attempts, k: v.lockouts || 1 });
    p.classList.add("decision--reject");
  } else if (v.locked) {
    setText(p, "customer.lock.locked_forever", { n: v.failed_attempts });
    p.classList.add("decision--reject");
  } else if (v.failed_attempts > 0) {
    setText(p, "customer.lock.failures", { n: v.failed_attempts });
    p.classList.add("decision--review");
  } else {
    setText(p, "customer.lock.free");
    p.classList.add("decision--pass");
  }
  p.dataset.locked = String(Boolean(v.locked));
  $("unlock-form").hidden = !(v.locked || v.failed_attempts > 0);
}

function drawCustomer (v) {
  if (v.ref)
    setText($("customer-heading"), "customer.heading", { ref: v.ref });
  else
    setText($("customer-heading"), "customer.heading_noref");
  const contact = v.contact || {};
  let assurance;
  if (contact.assurance_code_set) {
    const by = contact.assurance_code_set_by;
    assurance = t("customer.assurance_set", {
      at: timeEl(contact.assurance_code_set_at).textContent,
      by: hasText(`customer.set_by.${by}`) ? t(`customer.set_by.${by}`) : by || "?" });
  } else if (contact.email !== undefined) {
    assurance = t("customer.assurance_unset");
  }
  fillFacts($("customer-facts"), [
    ["customer.id", code(v.customer_id)],
    ["customer.ref", v.ref || "—"],
    ["customer.created", timeEl(v.created_at)],
    ["customer.email", contact.email !== undefined ? contact.email || "—" : undefined],
    ["customer.lang", contact.lang ? contact.lang.toUpperCase() : undefined],
    ["customer.assurance", assurance],
  ]);
  drawLock(v);
  table("credentials-body", "credentials-none", v.credentials, credentialRow);
  table("passkeys-body", "passkeys-none", v.passkeys, passkeyRow);
  table("devices-body", "devices-none", v.devices, deviceRow);
  table("attempts-body", "attempts-none", v.verify_attempts, attemptRow);
  table("txs-body", "txs-none", v.transactions, txRow);
  if (revoking)
    drawRevokeHeading();
}

async function loadCustomer (id, opts = {}) {
  const seq = current.seq;
  try {
    const v = await api("GET", paths.customer(id));
    if (seq !== current.seq)
      return;
    shown = v;
    drawCustomer(v);
    current.redraw = () => shown && drawCustomer(shown);
    showView("customer", opts);
  } catch (e) {
    if (seq !== current.seq)
      return;
    if (forbidden(e, opts))
      return;
    if (e instanceof ApiError && e.status === 404) {
      setText($("notfound-heading"), "notfound.heading");
      setText($("notfound-text"), "notfound.text");
      showView("notfound", opts);
      return;
    }
    handleError(e);
  }
}

export function showCustomer (id, opts = {}) {
  shown = null;
  closeRevoke();
  clearFieldErrors($("unlock-form"));
  $("unlock-comment").value = "";
  return loadCustomer(id, opts);
}

// ------------------------------------------------------------ unlock

async function onUnlock (ev) {
  ev.preventDefault();
  const form = $("unlock-form");
  const btn = $("unlock-submit");
  if (!shown || btn.getAttribute("aria-disabled") === "true")
    return;
  clearFieldErrors(form);
  const comment = $("unlock-comment").value;
  if (!comment.trim()) {
    setFieldError("unlock-comment", "customer.err.comment");
    $("unlock-comment").focus();
    return;
  }
  setBusy(btn, $("unlock-submit-label"), true, "customer.unlock", "customer.unlocking");
  try {
    await api("POST", paths.unlock(shown.customer_id), { comment });
    $("unlock-comment").value = "";
    showNotice("customer.unlocked", null, { focus: true });
    await loadCustomer(shown.customer_id, { focus: false });
  } catch (e) {
    if (e instanceof ApiError && e.status === 400 && e.field === "comment")
      setFieldError("unlock-comment", "customer.err.comment");
    else
      handleError(e);
  } finally {
    setBusy(btn, $("unlock-submit-label"), false, "customer.unlock", "customer.unlocking");
  }
}

// ------------------------------------------------------------ revoke

function drawRevokeHeading () {
  setText($("revoke-heading"), revoking.kind === "passkey"
    ? "customer.revoke_passkey" : "customer.revoke_credential", { id: revoking.id });
}

function openRevoke (kind, id, row) {
  revoking = { kind, id };
  const form = $("revoke-form");
  clearFieldErrors(form);
  $("revoke-reason").value = "";
  drawRevokeHeading();
  // Right under the section of the row, so it reads as about that row.
  const part = row ? row.closest(".part") : null;
  if (part)
    part.after(form);
  form.hidden = false;
  $("revoke-reason").focus();
}

function closeRevoke () {
  revoking = null;
  $("revoke-form").hidden = true;
}

async function onRevoke (ev) {
  ev.preventDefault();
  const form = $("revoke-form");
  const btn = $("revoke-submit");
  if (!revoking || !shown || btn.getAttribute("aria-disabled") === "true")
    return;
  clearFieldErrors(form);
  const reason = $("revoke-reason").value;
  if (!reason.trim() || [...reason].length > 200) {
    setFieldError("revoke-reason", "customer.err.reason");
    $("revoke-reason").focus();
    return;
  }
  const { kind, id } = revoking;
  setBusy(btn, $("revoke-submit-label"), true, "customer.revoke_confirm", "customer.revoking");
  try {
    await api("POST", kind === "passkey" ? paths.revokePasskey(id) : paths.revokeCredential(id),
              { reason });
    closeRevoke();
    showNotice("customer.revoked", { id }, { focus: true });
    await loadCustomer(shown.customer_id, { focus: false });
  } catch (e) {
    if (e instanceof ApiError && e.status === 400 && e.field === "reason") {
      setFieldError("revoke-reason", "customer.err.reason");
    } else if (e instanceof ApiError && e.status === 409) {
      closeRevoke();
      showNotice("customer.revoked_already", null, { focus: true });
      await loadCustomer(shown.customer_id, { focus: false });
    } else {
      handleError(e);
    }
  } finally {
    setBusy(btn, $("revoke-submit-label"), false, "customer.revoke_confirm", "customer.revoking");
  }
}

export function initCustomers (go) {
  goTo = go;
  for (const section of document.querySelectorAll("[data-table-part]"))
    buildTablePart(section);
  $("customers-search").addEventListener("submit", onSearch);
  $("unlock-form").addEventListener("submit", onUnlock);
  $("revoke-form").addEventListener("submit", onRevoke);
  $("revoke-cancel").addEventListener("click", closeRevoke);
}
