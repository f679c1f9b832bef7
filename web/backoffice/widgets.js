// SPDX-License-Identifier: AGPL-3.0-or-later
//
// widgets.js -- small pieces several views draw the same way: the risk
// score badge, a review's state and kind, a reason in plain words, the
// applicant's name, a list of facts.  Nothing here fetches.

import { el, formatValue, hasText, raw, setText, t } from "./text.js";

// The default rule table: allow < 40 <= review < 80 <= deny.
export const REVIEW_AT = 40;
export const DENY_AT = 80;

// "72 · medium": the level is said in words, the colour only repeats it.
export function scoreBadge (score) {
  const e = document.createElement("span");
  if (typeof score !== "number" || !Number.isFinite(score)) {
    e.className = "score score--none";
    e.textContent = "—";
    return e;
  }
  const level = score >= DENY_AT ? "high" : score >= REVIEW_AT ? "medium" : "low";
  e.className = `score score--${level}`;
  e.dataset.score = String(score);
  e.dataset.testid = "score";
  e.append(raw("span", "score__value", score),
           el("span", "score__level", "score." + level));
  return e;
}

// Known codes in words; an unknown one as it is.
function labelled (prefix, code, cls) {
  const key = `${prefix}.${code}`;
  if (code && hasText(key))
    return el("span", cls, key);
  return raw("span", cls, code || "—");
}

export function stateLabel (state) {
  const e = labelled("state", state, `state state--${String(state).replace(/[^a-z_]/g, "")}`);
  e.dataset.state = state || "";
  return e;
}

export function kindLabel (kind) {
  return labelled("kind", kind, "kind");
}

export function reasonTitle (code) {
  const key = `reason.${code}.title`;
  return hasText(key) ? t(key) : String(code);
}

// One reason: its title, and with full=true what it means.  The code
// itself is kept (data-reason, and in small type for the record).
export function reasonItem (code, full) {
  const li = document.createElement("li");
  li.className = full ? "reason" : "reason reason--short";
  li.dataset.reason = code;
  li.dataset.testid = `reason-${code}`;
  const key = `reason.${code}.title`;
  const known = hasText(key);
  const title = known ? el("span", "reason__title", key) : raw("span", "reason__title", code);
  li.append(title);
  if (full) {
    if (known)
      li.append(el("span", "reason__text", `reason.${code}.text`));
    else
      li.append(el("span", "reason__text", "reason.unknown"));
    li.append(raw("code", "reason__code", code));
  }
  return li;
}

export function fillReasons (list, codes, full) {
  list.replaceChildren();
  for (const c of Array.isArray(codes) ? codes : [])
    list.append(reasonItem(String(c), full));
  return list.children.length;
}

// "ERIKSSON, Anna Maria" (as the applicant typed it).
export function applicantName (a) {
  if (!a || typeof a !== "object")
    return "";
  const sur = a.surname ? String(a.surname) : "";
  const given = a.given_names ? String(a.given_names) : "";
  return sur && given ? `${sur}, ${given}` : sur || given;
}

// Fills a <dl> with [labelKey, value] pairs; a value may be a Node, or
// anything formatValue() can say.  Pairs whose value is undefined are left
// out; a label key without a translation is shown as it is.
export function fillFacts (dl, pairs) {
  dl.replaceChildren();
  for (const [label, value] of pairs) {
    if (value === undefined)
      continue;
    const row = document.createElement("div");
    row.className = "facts__row";
    const dt = hasText(label) ? el("dt", null, label) : raw("dt", null, label);
    const dd = document.createElement("dd");
    if (value instanceof Node)
      dd.append(value);
    else
      dd.textContent = formatValue(value);
    row.append(dt, dd);
    dl.append(row);
  }
}

// A monospace identifier (ids, hashes, addresses).
export function code (text) {
  return raw("code", "ident", text);
}

// Sets a key's text, or the raw value when there is no translation.
export function setKnown (node, key, fallback) {
  if (hasText(key))
    setText(node, key);
  else
    node.textContent = fallback;
}
