// SPDX-License-Identifier: AGPL-3.0-or-later
//
// queue.js -- #/reviews?state=…&kind=… : the flagged devices and identities,
// with filters (kept in the address, so a link or a reload shows the same
// list), the risk score as a badge, the reasons in plain words, and how
// long each has waited.  The queue comes oldest first, a page at a time
// ("Show more" asks for the next); the list refreshes itself every 30
// seconds while it is on screen and shows one page.
//
// Also (issue 14): search by name, e-mail or id (?q=), what a review needs
// (?needs=sanctions|four_eyes) and who took it (?assigned=me|none), all
// answered by the server; marks on each row (sanctions, four eyes, who
// took it, applicant asked); and ?sort=sanctions|four_eyes, which puts
// those first among the rows loaded (the server's order, oldest first,
// stays within each group).

import { api, paths } from "./api.js";
import { $, announce, current, handleError, showView } from "./frame.js";
import { el, formatAge, raw, setText, t } from "./text.js";
import { applicantName, kindLabel, reasonItem, scoreBadge, stateLabel } from "./widgets.js";

const STATES = ["open", "awaiting_second_approval", "approved", "rejected", "all"];
const KINDS = ["", "device", "identity"];
const NEEDS = ["", "sanctions", "four_eyes"];
const ASSIGNED = ["", "me", "none"];
const SORTS = ["", "sanctions", "four_eyes"];
let me = () => null;    // the signed-in user's name (app.js)
const REFRESH_MS = 30000;

let last = null;        // { filters, reviews, next, total } last drawn
let timer = null;

export function queueFilters (query) {
  const state = query.get("state");
  const kind = query.get("kind");
  const pick = (name, list) => (list.includes(query.get(name)) ? query.get(name) : "");
  return {
    state: STATES.includes(state) ? state : "open",
    kind: KINDS.includes(kind) ? kind : "",
    needs: pick("needs", NEEDS),
    assigned: pick("assigned", ASSIGNED),
    sort: pick("sort", SORTS),
    q: (query.get("q") || "").trim().slice(0, 254),
  };
}

export function queueHash (filters) {
  const q = new URLSearchParams();
  if (filters.state && filters.state !== "open")
    q.set("state", filters.state);
  if (filters.kind)
    q.set("kind", filters.kind);
  for (const k of ["needs", "assigned", "sort", "q"])
    if (filters[k])
      q.set(k, filters[k]);
  const s = q.toString();
  return "#/reviews" + (s ? "?" + s : "");
}

// Shows the queue for the filters in query; opts.focus after a navigation,
// opts.quiet for the periodic refresh (no "loading", no announcement).
export async function showQueue (query, opts = {}) {
  const seq = current.seq;
  const filters = queueFilters(query);
  $("filter-state").value = filters.state;
  $("filter-kind").value = filters.kind;
  $("filter-needs").value = filters.needs;
  $("filter-assigned").value = filters.assigned;
  $("filter-sort").value = filters.sort;
  $("filter-q").value = filters.q;
  showView("reviews", opts);
  current.redraw = () => last && draw(last.filters, last.reviews);
  const table = $("queue-table");
  table.setAttribute("aria-busy", "true");
  if (!opts.quiet && !(last && sameFilters(last.filters, filters)))
    setText($("queue-summary"), "queue.loading");
  schedule();
  try {
    const r = await api("GET", paths.reviews(serverFilters(filters)));
    if (seq !== current.seq)
      return;
    const reviews = Array.isArray(r && r.reviews) ? r.reviews : [];
    last = { filters, reviews, next: (r && r.next) || null,
             total: Number.isInteger(r && r.total) ? r.total : reviews.length };
    draw(filters, reviews);
    if (!opts.quiet)
      announce("queue.count", { n: reviews.length });
  } catch (e) {
    if (seq !== current.seq)
      return;
    if (!opts.quiet || e.status === 401)
      handleError(e);
    if (!last || !sameFilters(last.filters, filters))
      setText($("queue-summary"), "queue.failed");
  } finally {
    table.setAttribute("aria-busy", "false");
    // What the table shows now, for tests and tools: "state|kind", and how
    // many answers it has had.
    if (seq === current.seq) {
      table.dataset.loaded = `${filters.state}|${filters.kind}`;
      table.dataset.loads = String(Number(table.dataset.loads || 0) + 1);
    }
  }
}

function serverFilters (f) {
  return { state: f.state, kind: f.kind, needs: f.needs, assigned: f.assigned, q: f.q };
}

function sameFilters (a, b) {
  return ["state", "kind", "needs", "assigned", "sort", "q"].every((k) => a[k] === b[k]);
}

// Rows with the chosen mark first; otherwise the server's order.
function sorted (reviews, sort) {
  if (!sort)
    return reviews;
  const has = (r) => (sort === "sanctions" ? r.sanctions === true : r.four_eyes === true);
  return reviews.filter(has).concat(reviews.filter((r) => !has(r)));
}

function draw (filters, reviews) {
  const body = $("queue-body");
  body.replaceChildren();
  for (const r of sorted(reviews, filters.sort))
    body.append(row(r));
  $("queue-empty").hidden = reviews.length > 0;
  $("queue-wrap").hidden = reviews.length === 0;
  summarise(reviews.length);
}

function summarise (shown) {
  const total = last ? last.total : shown;
  if (total > shown)
    setText($("queue-summary"), "queue.count_of", { n: shown, total });
  else
    setText($("queue-summary"), shown === 1 ? "queue.count_one" : "queue.count",
            { n: shown });
  $("queue-more-wrap").hidden = !(last && last.next);
}

// The next page, after the last review shown.
async function showMore () {
  if (!last || !last.next)
    return;
  const seq = current.seq;
  const button = $("queue-more");
  button.disabled = true;
  try {
    const r = await api("GET", paths.reviews({ ...serverFilters(last.filters),
                                               after: last.next }));
    if (seq !== current.seq || !last)
      return;
    const more = Array.isArray(r && r.reviews) ? r.reviews : [];
    const body = $("queue-body");
    for (const x of more)
      body.append(row(x));
    last.reviews = last.reviews.concat(more);
    last.next = (r && r.next) || null;
    if (Number.isInteger(r && r.total))
      last.total = r.total;
    summarise(last.reviews.length);
    announce("queue.count", { n: last.reviews.length });
  } catch (e) {
    handleError(e);
  } finally {
    button.disabled = false;
  }
}

function cell (labelKey, ...content) {
  const td = document.createElement("td");
  // The column's name, shown before the value when the table becomes a
  // list of cards on a narrow screen (style.css).
  td.dataset.i18nAttr = `data-label:${labelKey}`;
  td.setAttribute("data-label", t(labelKey));
  td.append(...content);
  return td;
}

function row (r) {
  const tr = document.createElement("tr");
  tr.dataset.reviewId = r.id;
  tr.dataset.testid = "review-row";
  tr.dataset.kind = r.kind || "";
  tr.dataset.state = r.state || "";

  const who = document.createElement("th");
  who.scope = "row";
  const link = document.createElement("a");
  link.href = "#/reviews/" + encodeURIComponent(r.id);
  link.dataset.testid = "review-link";
  const name = applicantName(r.applicant);
  if (name)
    link.textContent = name;
  else
    setText(link, "queue.no_name");
  who.append(link);
  const ids = raw("span", "row__ids", r.enrolment_id || r.id);
  who.append(ids, marks(r));

  const reasons = document.createElement("ul");
  reasons.className = "reasons reasons--inline";
  for (const c of Array.isArray(r.reasons) ? r.reasons : [])
    reasons.append(reasonItem(String(c), false));
  // Approving this one attaches to an existing customer: say so in the row.
  if (r.attach_customer_id) {
    const li = el("li", "reason reason--attach", "queue.attaches", { customer: r.attach_customer_id });
    li.dataset.testid = "row-attach";
    reasons.append(li);
  }

  const age = raw("span", "age", formatAge(r.age_seconds));
  if (r.created_at)
    age.title = r.created_at;

  tr.append(who,
            cell("queue.col_kind", kindLabel(r.kind)),
            // identities have no score: an empty cell, not a dash
            cell("queue.col_score", typeof r.score === "number" ? scoreBadge(r.score) : ""),
            cell("queue.col_reasons", reasons),
            cell("queue.col_age", age),
            cell("queue.col_state", stateLabel(r.state)));
  return tr;
}

// What a review needs and who works on it, in words (not colour only).
function marks (r) {
  const ul = document.createElement("ul");
  ul.className = "marks";
  const add = (cls, key, params) => {
    const li = el("li", `mark mark--${cls}`, key, params);
    li.dataset.mark = cls;
    ul.append(li);
  };
  if (r.sanctions)
    add("sanctions", "queue.mark.sanctions");
  if (r.four_eyes)
    add("four_eyes", "queue.mark.four_eyes");
  if (r.asked_at)
    add("asked", "queue.mark.asked");
  if (r.assigned_to && r.assigned_to === me())
    add("mine", "queue.mark.mine");
  else if (r.assigned_to)
    add("assigned", "queue.mark.assigned", { name: r.assigned_to });
  ul.dataset.testid = "row-marks";
  return ul;
}

// The periodic refresh: only while the queue is on screen and the tab is
// visible, and never while focus is inside the table (redrawing it would
// pull the rows out from under the keyboard).
function schedule () {
  if (timer)
    clearTimeout(timer);
  timer = setTimeout(() => {
    timer = null;
    if (current.view !== "reviews")
      return;
    const inTable = $("queue-table").contains(document.activeElement);
    // one page at most: a refresh must not take away the pages asked for
    const paged = last && last.reviews.length > 100;
    if (document.visibilityState === "visible" && !inTable && last && !paged)
      showQueue(new URLSearchParams(queueHash(last.filters).split("?")[1] || ""),
                { quiet: true });
    else
      schedule();
  }, REFRESH_MS);
}

export function initQueue (go, getUsername) {
  me = getUsername || (() => null);
  const apply = () => go(queueHash({ state: $("filter-state").value,
                                     kind: $("filter-kind").value,
                                     needs: $("filter-needs").value,
                                     assigned: $("filter-assigned").value,
                                     sort: $("filter-sort").value,
                                     q: $("filter-q").value.trim() }), { focus: false });
  $("queue-filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    apply();
  });
  // Choosing a filter applies it at once, leaving focus where it is (the
  // button is there for those who expect one).
  $("filter-state").addEventListener("change", apply);
  $("filter-kind").addEventListener("change", apply);
  for (const id of ["filter-needs", "filter-assigned", "filter-sort"])
    $(id).addEventListener("change", apply);
  $("queue-more").addEventListener("click", showMore);
  $("queue-refresh").addEventListener("click", () => {
    const f = last ? last.filters : queueFilters(new URLSearchParams());
    showQueue(new URLSearchParams(queueHash(f).split("?")[1] || ""));
  });
}
