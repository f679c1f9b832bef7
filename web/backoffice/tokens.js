// SPDX-License-Identifier: AGPL-3.0-or-later
//
// tokens.js -- #/tokens?state=&serial=&offset= : the hardware token
// inventory (GET /v1/admin/tokens), by state and serial number, 50 at a
// time, and importing a vendor's PSKC file (POST /v1/admin/tokens/import,
// the file as the body; its pre-shared key or password in the
// Guichet-PSKC-Key / Guichet-PSKC-Password headers, kept in the form only
// until the answer comes and then cleared).
//
// Roles support and admin.  No secret is ever shown: the server sends none.

import { api, ApiError, paths } from "./api.js";
import { $, announce, clearFieldErrors, current, handleError, setBusy, setFieldError,
         showView } from "./frame.js";
import { el, hasText, raw, setText, t, timeEl } from "./text.js";
import { code } from "./widgets.js";

const PAGE = 50;
const STATES = ["in_stock", "assigned", "active", "lost", "revoked"];
let goTo = null;
let lastQuery = null;

function cell (labelKey, ...content) {
  const td = document.createElement("td");
  td.setAttribute("data-label", t(labelKey));
  td.append(...content);
  return td;
}

function tokenRow (k) {
  const tr = document.createElement("tr");
  tr.dataset.testid = "token-row";
  tr.dataset.serial = k.serial;
  tr.dataset.state = k.state;
  const serial = raw("strong", null, k.serial);
  const type = raw("span", null, `${String(k.type || "").toUpperCase()} ${k.algorithm || ""}`
                   + ` · ${k.digits || "?"}${k.period ? ` · ${k.period} s` : ""}`);
  let who = raw("span", null, "—");
  if (k.customer_id) {
    who = document.createElement("a");
    who.href = `#/customers/${encodeURIComponent(k.customer_id)}`;
    who.append(code(k.customer_id));
  }
  const st = hasText(`token_state.${k.state}`) ? el("span", `state state--${k.state}`, `token_state.${k.state}`)
    : raw("span", null, k.state);
  const manuf = k.manufacturer ? raw("span", "details", ` (${k.manufacturer})`) : "";
  tr.append(cell("tokens.serial", serial, manuf),
            cell("tokens.col_type", type),
            cell("tokens.state", st),
            cell("tokens.col_customer", who),
            cell("tokens.col_imported", timeEl(k.imported_at)));
  return tr;
}

function hashFor (state, serial, offset) {
  const q = new URLSearchParams();
  if (serial)
    q.set("serial", serial);
  if (state)
    q.set("state", state);
  if (offset)
    q.set("offset", String(offset));
  const s = q.toString();
  return "#/tokens" + (s ? "?" + s : "");
}

function draw (state, serial, offset, data) {
  const list = Array.isArray(data.tokens) ? data.tokens : [];
  const total = Number(data.total) || 0;
  $("tokens-body").replaceChildren(...list.map(tokenRow));
  $("tokens-table").hidden = list.length === 0;
  $("tokens-empty").hidden = list.length > 0;
  if (list.length)
    setText($("tokens-summary"), "tokens.summary", { shown: list.length, total, from: offset + 1 });
  else
    setText($("tokens-summary"), "");
  const prev = $("tokens-prev");
  const next = $("tokens-next");
  prev.hidden = offset === 0;
  prev.href = hashFor(state, serial, Math.max(0, offset - PAGE));
  next.hidden = offset + list.length >= total;
  next.href = hashFor(state, serial, offset + PAGE);
}

export async function showTokens (query, opts = {}) {
  const seq = current.seq;
  const state = STATES.includes(query.get("state")) ? query.get("state") : "";
  const serial = (query.get("serial") || "").trim();
  const offset = Math.max(0, parseInt(query.get("offset") || "0", 10) || 0);
  lastQuery = { state, serial, offset };
  $("tokens-state").value = state;
  $("tokens-serial").value = serial;
  showView("tokens", opts);
  setText($("tokens-summary"), "tokens.loading");
  current.redraw = null;
  try {
    const data = await api("GET", paths.tokens({ state, serial, offset, limit: PAGE }));
    if (seq !== current.seq)
      return;
    draw(state, serial, offset, data || {});
    current.redraw = () => draw(state, serial, offset, data || {});
    announce("tokens.summary", { shown: (data.tokens || []).length, total: data.total || 0,
                                 from: offset + 1 });
  } catch (e) {
    if (seq !== current.seq)
      return;
    if (e instanceof ApiError && e.status === 403 && !/csrf/i.test(e.code)) {
      showView("forbidden", opts);
      return;
    }
    handleError(e);
  }
}

function onFilter (ev) {
  ev.preventDefault();
  goTo(hashFor($("tokens-state").value, $("tokens-serial").value.trim(), 0), { focus: false });
}

// ------------------------------------------------------------ import

function refusedText (e) {
  const body = e.body || {};
  const err = body.error || {};
  const reasons = err.reasons || body.reasons || [];
  const why = reasons.length && hasText(`pskc.${reasons[0]}`) ? t(`pskc.${reasons[0]}`)
    : (err.message || e.code);
  const rejected = err.rejected || body.rejected || [];
  let text = t("tokens.refused", { why });
  if (rejected.length) {
    const list = rejected.slice(0, 10).map((r) => `${r.serial || "#" + r.key_package}: ${r.reason}`)
      .join(", ");
    text += " " + t("tokens.refused_keys", { list: list + (rejected.length > 10 ? ", …" : "") });
  }
  return text;
}

async function onImport (ev) {
  ev.preventDefault();
  const form = $("import-form");
  const btn = $("import-submit");
  if (btn.getAttribute("aria-disabled") === "true")
    return;
  clearFieldErrors(form);
  $("import-error").hidden = true;
  $("import-result").hidden = true;
  const file = $("import-file").files[0];
  const key = $("import-key").value.trim();
  const password = $("import-password").value;
  if (!file) {
    setFieldError("import-file", "tokens.err.file");
    $("import-file").focus();
    return;
  }
  if (key && password) {
    setFieldError("import-key", "tokens.err.key_and_password");
    $("import-key").focus();
    return;
  }
  if (key && !/^([0-9a-fA-F]{32}|[0-9a-fA-F]{48}|[0-9a-fA-F]{64})$/.test(key)) {
    setFieldError("import-key", "tokens.err.bad_key");
    $("import-key").focus();
    return;
  }
  const headers = {};
  if (key)
    headers["Guichet-PSKC-Key"] = key;
  if (password)
    headers["Guichet-PSKC-Password"] = password;
  setBusy(btn, $("import-submit-label"), true, "tokens.import", "tokens.importing");
  try {
    const body = await file.arrayBuffer();
    const partial = $("import-partial").checked ? 1 : undefined;
    const r = await api("POST", paths.tokensImport({ partial }), body,
                        { raw: true, contentType: "application/pskc+xml", headers });
    const res = $("import-result");
    setText(res, "tokens.imported", { imported: r.imported, duplicates: r.duplicates,
                                      rejected: (r.rejected || []).length });
    res.hidden = false;
    form.reset();
    const q = lastQuery || { state: "", serial: "", offset: 0 };
    await showTokens(new URLSearchParams(hashFor(q.state, q.serial, q.offset).split("?")[1] || ""),
                     { focus: false });
    res.hidden = false;
    res.focus?.();
  } catch (e) {
    if (e instanceof ApiError && (e.status === 400 || e.status === 422) && e.body) {
      const p = $("import-error");
      p.textContent = refusedText(e);
      p.hidden = false;
    } else {
      handleError(e);
    }
  } finally {
    // The key and password go no further than this one request.
    $("import-key").value = "";
    $("import-password").value = "";
    setBusy(btn, $("import-submit-label"), false, "tokens.import", "tokens.importing");
  }
}

export function initTokens (go) {
  goTo = go;
  $("tokens-filters").addEventListener("submit", onFilter);
  $("import-form").addEventListener("submit", onImport);
}
