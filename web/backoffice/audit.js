// SPDX-License-Identifier: AGPL-3.0-or-later
//
// audit.js -- #/audit?actor=&action=&target=&before_id= : the append-only
// audit log, newest first, 50 entries a page.  Filters and the page are
// kept in the address, so Back returns to the newer page and a link shows
// the same entries.  Actions the page knows are named in words beside
// their code; details are shown as key: value.

import { api, paths } from "./api.js";
import { $, announce, current, handleError, showView } from "./frame.js";
import { el, formatValue, hasText, raw, setText, t, timeEl } from "./text.js";
import { code } from "./widgets.js";

const PAGE = 50;
const FILTERS = ["actor", "action", "target"];
// Suggestions for the action filter (any text is accepted).
const KNOWN_ACTIONS = ["admin.login", "admin.login_failed", "admin.create", "admin.unlock",
                       "admin.password_change", "admin.password_change_failed",
                       "admin.password_reset", "review.open", "review.approve",
                       "review.reject", "blocklist.add", "credential.revoke",
                       "customer.unlock", "tokens.import", "message.retry",
                       "webhook.retry", "customer.assurance_code_change"];

let last = null;   // { filters, data }

export function auditQuery (query) {
  const f = {};
  for (const k of FILTERS) {
    const v = (query.get(k) || "").trim();
    if (v)
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
  showView("audit", opts);
  current.redraw = () => last && draw(last.filters, last.data);
  setText($("audit-summary"), "audit.loading");
  const table = $("audit-table");
  table.setAttribute("aria-busy", "true");
  try {
    const data = await api("GET", paths.audit({ ...f, limit: PAGE }));
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

export function initAudit (go) {
  const list = $("audit-actions");
  for (const a of KNOWN_ACTIONS) {
    const o = document.createElement("option");
    o.value = a;
    list.append(o);
  }
  $("audit-filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = {};
    for (const k of FILTERS)
      f[k] = $("audit-" + k).value.trim();
    go(auditHash(f), { focus: false });
  });
  $("audit-clear").addEventListener("click", () => {
    for (const k of FILTERS)
      $("audit-" + k).value = "";
    go(auditHash({}), { focus: false });
  });
}
