// SPDX-License-Identifier: AGPL-3.0-or-later
//
// audit.js -- #/audit?actor=&action=&target=&from=&to=&before_id= : the
// append-only audit log, newest first, 50 entries a page.  The action is
// chosen from a list (in words); from/to are days (UTC), sent as since =
// from 00:00 and until = the day after "to", 00:00.  "Export as CSV"
// downloads the same filters from GET /v1/admin/audit/export (the server
// audits the export).  Filters and the page are
// kept in the address, so Back returns to the newer page and a link shows
// the same entries.  Actions the page knows are named in words beside
// their code; details are shown as key: value.

import { api, paths } from "./api.js";
import { $, announce, clearFieldErrors, current, handleError, setFieldError,
         showView } from "./frame.js";
import { el, formatValue, hasText, raw, setText, t, timeEl } from "./text.js";
import { code } from "./widgets.js";

const PAGE = 50;
const FILTERS = ["actor", "action", "target", "from", "to"];
// The actions Guichet writes (docs/backoffice.md, "The audit log").
const KNOWN_ACTIONS = ["admin.login", "admin.login_failed", "admin.create", "admin.unlock",
                       "admin.password_change", "admin.password_change_failed",
                       "admin.password_reset", "review.open", "review.approve",
                       "review.reject", "review.ask", "review.assign", "review.release",
                       "blocklist.add", "credential.revoke",
                       "customer.unlock", "tokens.import", "message.retry",
                       "webhook.retry", "customer.assurance_code_change",
                       "passkey.register", "passkey.flag", "passkey.revoke",
                       "assist.offer", "assist.join", "assist.join_failed", "assist.hint",
                       "assist.end", "audit.export"];
const DAY = /^\d{4}-\d{2}-\d{2}$/;

// What the API takes for the page's filters: days become times.
function apiFilters (f) {
  const out = { actor: f.actor, action: f.action, target: f.target };
  if (f.from)
    out.since = `${f.from}T00:00:00Z`;
  if (f.to) {
    const d = new Date(`${f.to}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + 1);
    out.until = d.toISOString().replace(/\.\d{3}Z$/, "Z");
  }
  return out;
}

let last = null;   // { filters, data }

export function auditQuery (query) {
  const f = {};
  for (const k of FILTERS) {
    const v = (query.get(k) || "").trim();
    if (v && ((k !== "from" && k !== "to") || DAY.test(v)))
      f[k] = v;
  }
  const before = query.get("before_id");
  if (before && /^[A-Za-z0-9_-]{1,64}$/.test(before))
    f.before_id = before;
  return f;
}

export function auditHash (f) {
  const q = new URLSearchParams();
  for (const k of [...FILTERS, "before_id"])
    if (f[k])
      q.set(k, f[k]);
  const s = q.toString();
  return "#/audit" + (s ? "?" + s : "");
}

export async function showAudit (query, opts = {}) {
  const seq = current.seq;
  const f = auditQuery(query);
  for (const k of FILTERS)
    $("audit-" + k).value = f[k] || "";
  if (f.action && !$("audit-action").value)
    addAction(f.action);      // an action this page does not list yet
  $("audit-action").value = f.action || "";
  $("audit-export").href = paths.auditExport(apiFilters(f));
  showView("audit", opts);
  current.redraw = () => last && draw(last.filters, last.data);
  setText($("audit-summary"), "audit.loading");
  const table = $("audit-table");
  table.setAttribute("aria-busy", "true");
  try {
    const data = await api("GET", paths.audit({ ...apiFilters(f), before_id: f.before_id,
                                                limit: PAGE }));
    if (seq !== current.seq)
      return;
    last = { filters: f, data: data || {} };
    draw(f, last.data);
    const n = Array.isArray(last.data.entries) ? last.data.entries.length : 0;
    announce("audit.count", { n });
  } catch (e) {
    if (seq !== current.seq)
      return;
    if (e.status === 403 && !/csrf/i.test(e.code)) {
      showView("forbidden", opts);
      return;
    }
    handleError(e);
    setText($("audit-summary"), "audit.failed");
  } finally {
    table.setAttribute("aria-busy", "false");
    if (seq === current.seq)
      table.dataset.loaded = auditHash(f);
  }
}

function draw (f, data) {
  const entries = Array.isArray(data.entries) ? data.entries : [];
  const body = $("audit-body");
  body.replaceChildren();
  for (const e of entries)
    body.append(row(e));
  $("audit-empty").hidden = entries.length > 0;
  $("audit-table").hidden = entries.length === 0;
  const filtered = FILTERS.some((k) => f[k]);
  setText($("audit-summary"),
          f.before_id ? "audit.summary_older" : filtered ? "audit.summary_filtered" : "audit.summary",
          { n: entries.length });

  const newest = $("audit-newest");
  newest.href = auditHash({ ...f, before_id: undefined });
  newest.hidden = !f.before_id;
  const older = $("audit-older");
  const next = data.next_before_id;
  older.hidden = next === undefined || next === null || next === "";
  if (!older.hidden)
    older.href = auditHash({ ...f, before_id: String(next) });
}

function labelled (labelKey, ...content) {
  const td = document.createElement("td");
  td.dataset.i18nAttr = `data-label:${labelKey}`;
  td.setAttribute("data-label", t(labelKey));
  td.append(...content);
  return td;
}

function row (e) {
  const tr = document.createElement("tr");
  tr.dataset.testid = "audit-row";
  tr.dataset.action = e.action || "";
  tr.dataset.id = e.id === undefined ? "" : String(e.id);
  const idCell = labelled("audit.col_id", raw("span", null, e.id));
  idCell.className = "num";

  const action = document.createElement("span");
  action.className = "action";
  const key = "audit_action." + e.action;
  if (hasText(key))
    action.append(el("span", "action__name", key), " ");
  action.append(code(e.action || "—"));

  const target = e.target ? targetLink(String(e.target)) : raw("span", null, "—");

  tr.append(idCell,
            labelled("audit.col_at", timeEl(e.at)),
            labelled("audit.col_actor", raw("span", "actor", e.actor || "—")),
            labelled("audit.col_action", action),
            labelled("audit.col_target", target),
            labelled("audit.col_details", details(e.details)));
  return tr;
}

// A review's id links to its page; anything else is shown as it is.
function targetLink (target) {
  const m = /^(?:review[:/])?(rev_[A-Za-z0-9_-]+)$/.exec(target);
  if (!m)
    return code(target);
  const a = document.createElement("a");
  a.href = "#/reviews/" + encodeURIComponent(m[1]);
  a.append(code(target));
  return a;
}

function details (d) {
  if (d === undefined || d === null || d === "")
    return raw("span", null, "—");
  if (typeof d !== "object" || Array.isArray(d))
    return raw("span", "details", formatValue(d));
  const dl = document.createElement("dl");
  dl.className = "details";
  for (const [k, v] of Object.entries(d)) {
    const row = document.createElement("div");
    row.append(raw("dt", null, k),
               raw("dd", null, typeof v === "object" && v !== null && !Array.isArray(v)
                 ? JSON.stringify(v) : formatValue(v)));
    dl.append(row);
  }
  return dl;
}

function addAction (a) {
  const o = document.createElement("option");
  o.value = a;
  const key = "audit_action." + a;
  if (hasText(key)) {
    // "Sign-in (admin.login)": words, and the code for the record.
    o.dataset.i18n = "audit.action_option";
    o.dataset.i18nArgs = JSON.stringify({ name: t(key), code: a });
    o.textContent = t("audit.action_option", { name: t(key), code: a });
    o.dataset.key = key;
  } else {
    o.textContent = a;
  }
  $("audit-action").append(o);
}

// The options' words follow the language (their args hold the words).
export function retranslateActions () {
  for (const o of $("audit-action").options)
    if (o.dataset.key) {
      o.dataset.i18nArgs = JSON.stringify({ name: t(o.dataset.key), code: o.value });
      o.textContent = t("audit.action_option", { name: t(o.dataset.key), code: o.value });
    }
}

export function initAudit (go) {
  for (const a of KNOWN_ACTIONS)
    addAction(a);
  $("audit-filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = {};
    for (const k of FILTERS)
      f[k] = $("audit-" + k).value.trim();
    clearFieldErrors($("audit-filters"));
    if (f.from && f.to && f.from > f.to) {
      setFieldError("audit-from", "audit.err.dates");
      $("audit-from").focus();
      return;
    }
    go(auditHash(f), { focus: false });
  });
  $("audit-clear").addEventListener("click", () => {
    for (const k of FILTERS)
      $("audit-" + k).value = "";
    go(auditHash({}), { focus: false });
  });
}
