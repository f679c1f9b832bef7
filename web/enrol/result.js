// SPDX-License-Identifier: AGPL-3.0-or-later
//
// result.js -- the identity decision in plain words: the decision, each
// reason code explained (i18n.js reason.<code>.*), and every check with its
// result behind a disclosure.
//
// Reason and check codes are API.md's stable codes; one this page does not
// know yet is still shown, as "other reason" with the code as a reference,
// never dropped.

import { el, hasText } from "./text.js";

// Reasons the applicant can put right by typing again (or with another
// document): the page offers to start a new application for these.
export const FIXABLE_REASONS = new Set([
  "mrz_format", "mrz_check_digit", "name_mismatch", "birth_date_mismatch",
  "nationality_mismatch", "document_expired", "email_invalid", "phone_invalid",
]);

function reasonItem (code) {
  const known = hasText(`reason.${code}.title`);
  const li = el("li", "reason");
  li.dataset.reason = code;
  li.setAttribute("data-testid", "reason-" + code);
  li.append(el("p", "reason__title", known ? `reason.${code}.title` : "reason.unknown.title"));
  li.append(known ? el("p", "reason__text", `reason.${code}.text`)
                  : el("p", "reason__text", "reason.unknown.text", { code }));
  return li;
}

// A translated cell, or the raw code when there is no translation.
function cell (tag, cls, key, raw) {
  const c = el(tag, cls, hasText(key) ? key : null);
  if (!c.textContent)
    c.textContent = raw;
  return c;
}

function checksTable (checks) {
  const details = el("details", "checks");
  details.setAttribute("data-testid", "checks");
  details.append(el("summary", null, "identity.checks"));
  const table = el("table");
  const head = table.createTHead().insertRow();
  for (const k of ["identity.col_check", "identity.col_result"]) {
    const th = el("th", null, k);
    th.scope = "col";
    head.append(th);
  }
  const body = table.createTBody();
  for (const c of checks) {
    const row = body.insertRow();
    const check = String(c.check);
    const result = String(c.result);
    row.dataset.check = check;
    row.dataset.result = result;
    row.setAttribute("data-testid", "check-" + check);
    const th = cell("th", null, "check." + check, check);
    th.scope = "row";
    row.append(th, cell("td", "result-" + result, "result." + result, result));
  }
  details.append(table);
  return details;
}

// Fills the [data-slot=identity] of section with the identity part of an
// enrolment (API.md: decision, reasons, checks).  Safe to call again.
export function fillIdentity (section, identity) {
  const slot = section.querySelector("[data-slot=identity]");
  slot.replaceChildren();
  if (!identity)
    return;
  const decision = ["pass", "review", "reject"].includes(identity.decision)
    ? identity.decision : "review";
  const summary = el("p", `decision decision--${decision}`, "identity." + decision);
  summary.setAttribute("data-testid", "identity-decision");
  summary.dataset.decision = decision;
  slot.append(summary);
  const reasons = Array.isArray(identity.reasons) ? identity.reasons : [];
  if (reasons.length) {
    slot.append(el("h3", null, "identity.reasons"));
    const ul = el("ul", "reasons");
    ul.setAttribute("data-testid", "reasons");
    // A check digit that does not match: which part to read again.
    const mrz = (Array.isArray(identity.checks) ? identity.checks : [])
      .find((c) => c && c.check === "mrz" && c.field);
    for (const r of reasons) {
      const li = reasonItem(String(r));
      if (r === "mrz_check_digit" && mrz && hasText(`mrz_field.${mrz.field}`)) {
        const p = el("p", "reason__text", `mrz_field.${mrz.field}`);
        p.setAttribute("data-testid", "mrz-field");
        p.dataset.field = mrz.field;
        li.append(p);
      }
      ul.append(li);
    }
    slot.append(ul);
  }
  if (Array.isArray(identity.checks) && identity.checks.length)
    slot.append(checksTable(identity.checks));
}
